// The pre-chat form: name, optional email, topic and language, then "Start chat".

import { h } from "../dom.js";
import { errorMessage } from "../errors.js";
import { chatLanguageFor, onLangChange, t } from "../i18n.js";

/**
 * @param {object} options
 *   config: GET /api/widget/config answer    defaults: {name, email, topic, language}
 *   lockedIdentity: the host page vouched for name/email (read-only fields)
 *   notice: optional i18n key shown above the form    onSubmit(profile): Promise
 */
export function prechatForm({ config, defaults, lockedIdentity, notice, onSubmit }) {
  const error = h("p", { class: "la-form__error", role: "alert", hidden: true });
  const name = field("la-name", "prechat.name",
    h("input", { id: "la-name", name: "name", required: true, maxLength: 200,
      autocomplete: "name", value: defaults.name || "", dataset: { focusHome: "" },
      readOnly: Boolean(lockedIdentity && defaults.name) }));
  const email = field("la-email", "prechat.email",
    h("input", { id: "la-email", name: "email", type: "email", maxLength: 254,
      autocomplete: "email", value: defaults.email || "",
      readOnly: Boolean(lockedIdentity && defaults.email) }), "prechat.optional");
  const topic = field("la-topic", "prechat.topic",
    h("select", { id: "la-topic", name: "topic" }, config.topics.map((value) =>
      h("option", { value, selected: value === defaults.topic, i18n: `topic.${value}`,
        i18nArgs: { _: value } }))));
  const languages = [...new Set([...config.languages, defaults.language].filter(Boolean))];
  const languageSelect = h("select", { id: "la-language", name: "language",
    onchange: () => {
      languageSelect.dataset.chosen = "true";
    } }, languages.map((value) => h("option", { value, selected: value === defaults.language,
    format: ["language", value] })));
  const language = field("la-language", "prechat.language", languageSelect);
  // Until the customer picks one, the chat language follows the interface language.
  const stopFollowing = onLangChange((code) => {
    if (!languageSelect.isConnected) {
      stopFollowing();
      return;
    }
    const wanted = chatLanguageFor(code);
    if (languageSelect.dataset.chosen) return;
    if (!languages.includes(wanted)) {
      // As a customer who came with this language would have had it offered.
      languages.push(wanted);
      languageSelect.append(h("option", { value: wanted, format: ["language", wanted] }));
    }
    languageSelect.value = wanted;
  });
  const submit = h("button", { type: "submit", class: "la-button la-button--primary",
    i18n: "prechat.start" });
  const available = config.agents_online > 0;
  const form = h("form", { class: "la-form la-prechat", novalidate: true },
    notice ? h("p", { class: "la-notice", i18n: notice }) : null,
    h("p", { class: "la-prechat__intro", i18n: "prechat.intro" }),
    h("p", {
      class: ["la-availability", available ? "la-availability--on" : "la-availability--off"],
      i18n: available ? "prechat.online" : "prechat.offline",
      i18nArgs: { n: config.agents_online },
    }),
    name, email, topic, language, error, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const profile = {
      name: String(data.get("name") || "").trim(),
      email: String(data.get("email") || "").trim(),
      topic: String(data.get("topic")),
      language: String(data.get("language")),
    };
    const badEmail = profile.email && !/^[^@\s]+@[^@\s]+$/.test(profile.email);
    const problem = !profile.name ? ["prechat.nameMissing", "la-name"]
      : badEmail ? ["prechat.emailInvalid", "la-email"]
        : null;
    if (problem) {
      showError(t(problem[0]));
      form.querySelector(`#${problem[1]}`).focus();
      return;
    }
    submit.disabled = true;
    error.hidden = true;
    try {
      await onSubmit(profile);
    } catch (failure) {
      showError(errorMessage(failure));
      submit.disabled = false;
    }
  });

  function showError(text) {
    error.textContent = text;
    error.hidden = false;
  }

  return form;
}

function field(id, labelKey, control, hintKey = null) {
  return h("div", { class: "la-field" },
    h("label", { for: id },
      h("span", { i18n: labelKey }),
      hintKey ? h("span", { class: "la-field__hint", i18n: hintKey }) : null),
    control);
}
