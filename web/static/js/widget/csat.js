// After the chat: rate it 1–5 with an optional comment, then offer to start a new chat.

import { h, icon, ICONS } from "../dom.js";
import { errorMessage } from "../errors.js";

/** onSubmit(score, comment): Promise; onSkip(): void */
export function csatForm({ onSubmit, onSkip }) {
  const error = h("p", { class: "la-form__error", role: "alert", hidden: true });
  const stars = [1, 2, 3, 4, 5].map((score) => h("label", { class: "la-star" },
    h("input", { type: "radio", name: "score", value: score, class: "la-visually-hidden",
      required: true, dataset: score === 1 ? { focusHome: "" } : {} }),
    icon(ICONS.star, { size: 28 }),
    h("span", { class: "la-visually-hidden", i18n: `csat.score${score}` })));
  const comment = h("textarea", { id: "la-csat-comment", name: "comment", rows: 2,
    maxLength: 2000, i18nAttrs: { placeholder: "csat.commentPlaceholder" } });
  const submit = h("button", { type: "submit", class: "la-button la-button--primary",
    i18n: "csat.submit" });
  const form = h("form", { class: "la-form la-csat" },
    h("fieldset", { class: "la-stars" },
      h("legend", { i18n: "csat.question" }),
      h("div", { class: "la-stars__row" }, stars)),
    h("div", { class: "la-field" },
      h("label", { for: "la-csat-comment", i18n: "csat.comment" }), comment),
    error,
    h("div", { class: "la-form__actions" },
      h("button", { type: "button", class: "la-button la-button--quiet", i18n: "csat.skip",
        onclick: onSkip }),
      submit));

  form.addEventListener("change", () => {
    const chosen = Number(new FormData(form).get("score") || 0);
    stars.forEach((star, i) => star.classList.toggle("la-star--on", i < chosen));
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const score = Number(new FormData(form).get("score") || 0);
    if (!score) return;
    submit.disabled = true;
    try {
      await onSubmit(score, comment.value.trim());
    } catch (failure) {
      error.textContent = errorMessage(failure);
      error.hidden = false;
      submit.disabled = false;
    }
  });
  return form;
}

export function afterChat({ rated, onNewChat }) {
  return h("div", { class: "la-after" },
    h("p", { class: "la-after__thanks", i18n: rated ? "csat.thanks" : "chat.endedShort" }),
    h("button", { type: "button", class: "la-button la-button--primary", i18n: "chat.newChat",
      dataset: { focusHome: "" }, onclick: onNewChat }));
}
