// What the staff pages (agent console, QA review) share before anyone is signed in: the
// language pickers and the sign-in form's submit.

import { h } from "./dom.js";
import { errorMessage } from "./errors.js";
import { LANGUAGES, lang, onLangChange, setLang, t } from "./i18n.js";

/** A <select> of the interface languages, following every switch made elsewhere. */
export function languagePicker(select) {
  for (const { code, label } of LANGUAGES) select.append(h("option", { value: code, text: label }));
  select.value = lang();
  select.addEventListener("change", () => setLang(select.value));
  onLangChange((code) => {
    select.value = code;
  });
}

/** The submit handler of a sign-in form (fields email and password, #signin-error). An empty
 * field gets the focus; a wrong password is said plainly and selected to type again. */
export function signInWith(session) {
  return async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const error = document.getElementById("signin-error");
    const button = form.querySelector("button[type=submit]");
    const email = form.email.value.trim();
    const password = form.password.value;
    if (!email || !password) {
      (email ? form.password : form.email).focus();
      return;
    }
    button.disabled = true;
    error.hidden = true;
    try {
      await session.signIn(email, password);
      form.password.value = "";
    } catch (failure) {
      error.textContent = failure.code === "unauthenticated"
        ? t("signin.wrong")
        : errorMessage(failure);
      error.hidden = false;
      form.password.select();
    } finally {
      button.disabled = false;
    }
  };
}
