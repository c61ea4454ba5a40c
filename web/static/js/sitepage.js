// What the plain public pages (the landing page, /help) share: their text translated and
// re-translated, <html lang> kept to the language shown, and the #site-lang picker.

import { h } from "./dom.js";
import { LANGUAGES, lang, onLangChange, setLang, watchRoot } from "./i18n.js";

export function startSitePage() {
  watchRoot(document);
  document.documentElement.lang = lang();
  onLangChange((code) => {
    document.documentElement.lang = code;
  });
  const picker = document.getElementById("site-lang");
  for (const { code, label } of LANGUAGES) picker.append(h("option", { value: code, text: label }));
  picker.value = lang();
  picker.addEventListener("change", () => setLang(picker.value));
}
