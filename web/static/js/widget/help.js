// The widget's help panel: search the organisation's published articles (before a chat with
// the organisation's slug, during one with the chat's token), read one, go back. Opened from
// the header's "Help articles" button or from an article the bot offered in the chat.
//
// Test hooks: .la-help, #la-help-q, .la-help__result[data-id], .la-article (an open article),
// .la-help__back.

import "../kbstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { lang, translate } from "../i18n.js";

export class HelpView {
  /**
   * @param {object} options
   *   source(): {api, token} — api: an Api; token: true when it carries the chat's token
   *   org: the organisation's slug    language(): "en" | "zh"    onClose(): back to the chat
   */
  constructor({ source, org, language, onClose }) {
    this.source = source;
    this.org = org;
    this.language = language;
    this.results = [];
    this.input = h("input", { id: "la-help-q", type: "search", name: "q", maxLength: 500,
      autocomplete: "off", i18nAttrs: { placeholder: "kb.searchPlaceholder" },
      dataset: { focusHome: "" } });
    this.status = h("p", { class: "la-help__status", role: "status" });
    this.list = h("ul", { class: "la-help__results" });
    this.form = h("form", { class: "la-help__search", role: "search", novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        this.search();
      } },
    h("label", { for: "la-help-q", class: "la-help__label", i18n: "kb.searchLabel" }),
    h("div", { class: "la-help__row" }, this.input,
      h("button", { type: "submit", class: "la-button la-button--primary", i18n: "kb.search" })));
    this.closeButton = h("button", { type: "button", class: "la-link la-help__close",
      i18n: "kb.backToChat", onclick: () => onClose() });
    this.searchView = h("div", { class: "la-help__page" },
      h("p", { class: "la-help__intro", i18n: "kb.intro" }), this.form, this.status, this.list);
    this.body = h("div", { class: "la-help__body" }, this.searchView);
    this.el = h("div", { class: "la-help", dataset: { focusScope: "help" },
      onkeydown: (event) => {
        if (event.key === "Escape" && this.articleOpen) {
          event.stopPropagation();
          this.back();
        }
      } },
    h("div", { class: "la-help__top" },
      h("h3", { class: "la-help__title", id: "la-help-title", i18n: "kb.help" }),
      this.closeButton),
    this.body);
    this.articleOpen = false;
  }

  focus() {
    if (this.articleOpen) this.body.querySelector(".la-help__back").focus();
    else this.input.focus();
  }

  async search() {
    const q = this.input.value.trim();
    if (!q) {
      this.input.focus();
      return;
    }
    setText(this.status, "kb.loading");
    const { api, token } = this.source();
    const query = { q, limit: 5 };
    const language = this.language();
    if (language) query.language = language;
    try {
      const found = token ? await api.get("/api/kb/search", query)
        : await api.get("/api/widget/kb/search", { ...query, org: this.org });
      this.results = found.items;
    } catch (error) {
      delete this.status.dataset.i18n;
      this.status.textContent = errorMessage(error);
      return;
    }
    const n = this.results.length;
    setText(this.status, n === 0 ? "kb.none" : n === 1 ? "kb.foundOne" : "kb.found", { n });
    replace(this.list, this.results.map((hit) => h("li", {},
      h("button", { type: "button", class: "la-help__result", dataset: { id: hit.id },
        onclick: () => this.open(hit.id) },
      h("span", { class: "la-help__result-title", text: hit.title }),
      h("span", { class: "la-help__result-excerpt", text: hit.excerpt })))));
  }

  /** Show one article (its HTML was sanitised by the server: signaling/kb/markdown.py). */
  async open(id) {
    const { api, token } = this.source();
    let article;
    try {
      article = token ? await api.get(`/api/kb/articles/${id}`)
        : await api.get(`/api/widget/kb/articles/${id}`, { org: this.org });
    } catch (error) {
      delete this.status.dataset.i18n;
      this.status.textContent = errorMessage(error);
      return;
    }
    const content = h("div", { class: "la-article__body" });
    content.innerHTML = article.html; // sanitised server-side (allow-listed tags, no scripts)
    const back = h("button", { type: "button", class: "la-link la-help__back",
      i18n: "kb.backToResults", onclick: () => this.back() });
    const view = h("article", { class: "la-article", lang: article.language === "zh" ? "zh-CN" : "en",
      "aria-labelledby": "la-article-title", dataset: { id: article.id } },
    back,
    h("h4", { class: "la-article__title", id: "la-article-title", text: article.title }),
    content);
    this.articleOpen = true;
    replace(this.body, view);
    back.focus();
  }

  back() {
    this.articleOpen = false;
    translate(this.searchView); // the language may have changed while it was put away
    replace(this.body, this.searchView);
    const again = this.list.querySelector("button");
    (again || this.input).focus();
  }
}

/** The knowledge-base language of an interface or chat language ("zh-CN" → "zh"). */
export function kbLanguage(code = lang()) {
  return String(code).toLowerCase().startsWith("zh") ? "zh" : "en";
}
