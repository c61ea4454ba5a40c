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

/**
 * What both staff pages do at start: the page's language follows the pickers, the sign-in form
 * and Sign out work, and each sign-in (or restored session) opens the page for `roles`; anyone
 * else is signed out and told `wrongRole`. Call it last: restoring a session opens the page.
 * @param {object} options  session, roles (Set), open(user), showSignIn(reason), wrongRole
 */
export function startStaffPage({ session, roles, open, showSignIn, wrongRole }) {
  document.documentElement.lang = lang();
  onLangChange((code) => {
    document.documentElement.lang = code;
  });
  for (const select of document.querySelectorAll(".lang-select")) languagePicker(select);
  document.getElementById("signin-form").addEventListener("submit", signInWith(session));
  document.getElementById("sign-out")
    .addEventListener("click", () => session.signOut().catch(() => {}));
  session.on("changed", (user, reason) => {
    if (!user) showSignIn(reason);
    else if (roles.has(user.role)) open(user);
    else session.signOut().finally(() => showSignIn(wrongRole));
  });
  if (!session.restore()) showSignIn();
}
