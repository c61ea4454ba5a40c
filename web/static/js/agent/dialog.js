// A modal <dialog> with a title, a form body and Cancel / confirm buttons. The browser keeps
// focus inside and Escape closes it; the opener gets focus back.

import { h } from "../dom.js";
import { errorMessage } from "../errors.js";

/**
 * @param {object} options
 *   titleKey, titleArgs, confirmKey: i18n keys    body: nodes inside the form
 *   onConfirm(form): Promise — resolve to close, throw to show the error and stay open
 */
export function openDialog({ titleKey, titleArgs = null, confirmKey, body, onConfirm,
  tone = "primary" }) {
  const opener = document.activeElement;
  const error = h("p", { class: "form-error", role: "alert", hidden: true });
  const confirm = h("button", { type: "submit", class: ["button", `button--${tone}`],
    i18n: confirmKey });
  const form = h("form", { method: "dialog", class: "dialog__form" },
    h("h2", { class: "dialog__title", id: "dialog-title", i18n: titleKey, i18nArgs: titleArgs }),
    h("div", { class: "dialog__body" }, body),
    error,
    h("div", { class: "dialog__actions" },
      h("button", { type: "button", class: "button button--quiet", i18n: "common.cancel",
        onclick: () => dialog.close() }),
      confirm));
  const dialog = h("dialog", { class: "dialog", "aria-labelledby": "dialog-title" }, form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    confirm.disabled = true;
    error.hidden = true;
    try {
      await onConfirm(form);
      dialog.close();
    } catch (failure) {
      error.textContent = errorMessage(failure);
      error.hidden = false;
    } finally {
      confirm.disabled = false;
    }
  });
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
