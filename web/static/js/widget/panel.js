// The chat panel's frame: a header (organisation, what is happening now, language switch,
// minimise) and a body that shows one view at a time (pre-chat form, chat, error).

import { h, icon, ICONS, replace, setText } from "../dom.js";
import { lang, setLang } from "../i18n.js";

export class Panel {
  constructor({ id, onMinimise, onHelp }) {
    this.title = h("h2", { class: "la-panel__title", id: `${id}-title`, i18n: "widget.support" });
    this.subtitle = h("p", { class: "la-panel__subtitle", role: "status" });
    this.languageButton = h("button", {
      type: "button", class: "la-panel__lang", onclick: () => this.toggleLanguage(),
      i18n: "widget.otherLanguage", i18nAttrs: { "aria-label": "widget.switchLanguage" },
    });
    this.body = h("div", { class: "la-panel__body" });
    this.help = h("div", { class: "la-panel__body la-panel__help", hidden: true });
    this.helpButton = h("button", { type: "button", class: "la-icon-button la-panel__help-button",
      "aria-expanded": "false", onclick: () => onHelp(),
      i18nAttrs: { "aria-label": "kb.help", title: "kb.help" } },
    icon(ICONS.help));
    this.el = h("section", { class: "la-panel", id, hidden: true, "aria-labelledby": `${id}-title`,
      dataset: { focusScope: "panel" },
      onkeydown: (e) => {
        if (e.key === "Escape") onMinimise();
      } },
    h("header", { class: "la-panel__header" },
      h("div", { class: "la-panel__heading" }, this.title, this.subtitle),
      this.helpButton,
      this.languageButton,
      h("button", { type: "button", class: "la-icon-button la-panel__minimise", onclick: onMinimise,
        i18nAttrs: { "aria-label": "widget.minimise", title: "widget.minimise" } },
      icon(ICONS.minus))),
    this.body, this.help);
  }

  get helpShown() {
    return !this.help.hidden;
  }

  /** Show the help panel (`view`) in place of the chat or form, or hide it (null); the
   * view underneath keeps its state. */
  setHelp(view) {
    if (view) replace(this.help, view);
    this.help.hidden = !view;
    this.body.hidden = Boolean(view);
    this.helpButton.setAttribute("aria-expanded", String(Boolean(view)));
  }

  get isOpen() {
    return !this.el.hidden;
  }

  setOpen(open) {
    this.el.hidden = !open;
  }

  /** Room for videos during a call. */
  setWide(wide) {
    this.el.classList.toggle("la-panel--call", wide);
  }

  setOrgName(name) {
    setText(this.title, "widget.title", { org: name });
  }

  show(view) {
    replace(this.body, view);
  }

  status(key, args) {
    setText(this.subtitle, key, args);
  }

  toggleLanguage() {
    setLang(lang() === "zh-CN" ? "en" : "zh-CN");
  }
}
