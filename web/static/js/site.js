// The landing page: translated text, a language picker, and the embed snippet for this server.

import { h } from "./dom.js";
import { LANGUAGES, lang, onLangChange, setLang, watchRoot } from "./i18n.js";

watchRoot(document);
document.documentElement.lang = lang();
onLangChange((code) => {
  document.documentElement.lang = code;
});

const picker = document.getElementById("site-lang");
for (const { code, label } of LANGUAGES) picker.append(h("option", { value: code, text: label }));
picker.value = lang();
picker.addEventListener("change", () => setLang(picker.value));

document.getElementById("embed-code").textContent =
  `<script src="${location.origin}/widget.js" data-org="demo" async></script>`;
