// The knowledge base, a section of the admin's Settings: the first-response bot's switch,
// the articles (write in Markdown, publish, edit, delete — in a dialog) and the saved replies
// agents insert. REST: /api/kb/* (docs/protocol.md §11).
//
// Test hooks: #settings-kb, #kb-bot, #kb-add-article, .kb-article[data-id] with
// .kb-article__edit and .kb-article__delete, #kb-article-title, #kb-article-language,
// #kb-article-topic, #kb-article-tags, #kb-article-body, #kb-article-published, #kb-add-macro,
// .kb-macro-row[data-id], #kb-macro-title, #kb-macro-body, #kb-status.

import "../kbstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { openDialog } from "./dialog.js";

const LANGUAGES = ["en", "zh"];

export class KnowledgeSection {
  constructor({ api }) {
    this.api = api;
    this.articles = [];
    this.macros = [];
    this.bot = h("input", { type: "checkbox", id: "kb-bot", "aria-describedby": "kb-bot-help",
      onchange: () => this.setBot(this.bot.checked) });
    this.botHelp = h("p", { id: "kb-bot-help", class: "muted" });
    this.status = h("p", { id: "kb-status", class: "form-note", role: "status" });
    this.list = h("ul", { class: "webhook-list kb-list", "aria-labelledby": "kb-articles-title" });
    this.macroList = h("ul", { class: "webhook-list kb-list",
      "aria-labelledby": "kb-macros-list-title" });
    this.el = h("section", { class: "settings-section", id: "settings-kb",
      "aria-labelledby": "settings-kb-title" },
    h("h3", { id: "settings-kb-title", i18n: "kb.settings.title" }),
    h("p", { class: "muted", i18n: "kb.settings.intro" }),
    h("div", { class: "field--inline" }, this.bot,
      h("label", { for: "kb-bot", i18n: "kb.settings.bot" })),
    this.botHelp,
    this.status,
    h("div", { class: "settings-section__head" },
      h("h4", { id: "kb-articles-title", i18n: "kb.articles" }),
      h("button", { type: "button", class: "button button--small button--primary",
        id: "kb-add-article", i18n: "kb.addArticle", onclick: () => this.editArticle(null) })),
    this.list,
    h("div", { class: "settings-section__head" },
      h("h4", { id: "kb-macros-list-title", i18n: "kb.macroList" }),
      h("button", { type: "button", class: "button button--small", id: "kb-add-macro",
        i18n: "kb.addMacro", onclick: () => this.editMacro(null) })),
    this.macroList);
  }

  async load() {
    try {
      const [bot, articles, macros] = await Promise.all([
        this.api.get("/api/kb/bot"),
        this.api.get("/api/kb/articles", { per_page: 200 }),
        this.api.get("/api/kb/macros"),
      ]);
      this.showBot(bot);
      this.articles = articles.items;
      this.macros = macros.items;
    } catch (error) {
      this.say(null, errorMessage(error));
      return;
    }
    this.showArticles();
    this.showMacros();
  }

  showBot(bot) {
    this.bot.checked = bot.enabled;
    setText(this.botHelp, "kb.settings.botHelp", { n: bot.published_articles });
  }

  async setBot(enabled) {
    try {
      this.showBot(await this.api.patch("/api/kb/bot", { enabled }));
      this.say(enabled ? "kb.settings.botOn" : "kb.settings.botOff");
    } catch (error) {
      this.bot.checked = !enabled;
      this.say(null, errorMessage(error));
    }
  }

  showArticles() {
    replace(this.list, this.articles.length ? this.articles.map((article) => h("li", {
      class: "webhook kb-article", dataset: { id: article.id } },
    h("div", { class: "webhook__main" },
      h("span", { class: "webhook__url", id: `kb-article-${article.id}`, text: article.title }),
      h("span", { class: "webhook__facts" },
        h("span", { class: ["badge", article.published ? "badge--ok" : ""],
          i18n: article.published ? "kb.published" : "kb.draft" }),
        h("span", { class: "badge", i18n: `kb.lang.${article.language}` }),
        article.tags.length ? h("span", { class: "muted", text: article.tags.join(", ") }) : null)),
    h("div", { class: "webhook__actions" },
      h("button", { type: "button", class: "button button--small kb-article__edit",
        i18n: "kb.edit", "aria-describedby": `kb-article-${article.id}`,
        onclick: () => this.editArticle(article) }),
      h("button", { type: "button", class: "button button--small button--danger-quiet kb-article__delete",
        i18n: "kb.delete", "aria-describedby": `kb-article-${article.id}`,
        onclick: () => this.remove("articles", article) }))))
      : h("li", { class: "muted", i18n: "kb.noArticles" }));
  }

  showMacros() {
    replace(this.macroList, this.macros.length ? this.macros.map((macro) => h("li", {
      class: "webhook kb-macro-row", dataset: { id: macro.id } },
    h("div", { class: "webhook__main" },
      h("span", { class: "webhook__url", id: `kb-macro-${macro.id}`, text: macro.title }),
      h("span", { class: "muted kb-macro-row__body", text: macro.body })),
    h("div", { class: "webhook__actions" },
      h("button", { type: "button", class: "button button--small", i18n: "kb.edit",
        "aria-describedby": `kb-macro-${macro.id}`, onclick: () => this.editMacro(macro) }),
      h("button", { type: "button", class: "button button--small button--danger-quiet",
        i18n: "kb.delete", "aria-describedby": `kb-macro-${macro.id}`,
        onclick: () => this.remove("macros", macro) }))))
      : h("li", { class: "muted", i18n: "kb.macroNone" }));
  }

  editArticle(article) {
    const isNew = article === null;
    const title = h("input", { id: "kb-article-title", required: true, maxlength: 200,
      value: isNew ? "" : article.title });
    const language = h("select", { id: "kb-article-language" }, LANGUAGES.map((code) =>
      h("option", { value: code, selected: !isNew && article.language === code,
        i18n: `kb.lang.${code}` })));
    const topic = h("input", { id: "kb-article-topic", maxlength: 64, pattern: "[A-Za-z0-9_.\\-]*",
      value: isNew ? "" : article.topic || "" });
    const tags = h("input", { id: "kb-article-tags", maxlength: 400,
      value: isNew ? "" : article.tags.join(", ") });
    const body = h("textarea", { id: "kb-article-body", required: true, rows: 8,
      maxlength: 16000, value: isNew ? "" : article.body });
    const published = h("input", { id: "kb-article-published", type: "checkbox",
      checked: !isNew && article.published });
    const field = (id, key, control) => h("div", { class: "field" },
      h("label", { for: id, i18n: key }), control);
    openDialog({
      titleKey: isNew ? "kb.addArticle" : "kb.editArticle",
      confirmKey: "common.save",
      body: [
        field("kb-article-title", "kb.title", title),
        field("kb-article-language", "common.language", language),
        field("kb-article-topic", "kb.topic", topic),
        field("kb-article-tags", "kb.tags", tags),
        field("kb-article-body", "kb.body", body),
        h("div", { class: "field--inline" }, published,
          h("label", { for: "kb-article-published", i18n: "kb.publish" })),
      ],
      onConfirm: async () => {
        const json = { title: title.value, body: body.value, language: language.value,
          topic: topic.value.trim(), published: published.checked,
          tags: tags.value.split(/[,，]/).map((tag) => tag.trim()).filter(Boolean) };
        const saved = isNew ? await this.api.post("/api/kb/articles", json)
          : await this.api.patch(`/api/kb/articles/${article.id}`, json);
        this.say("kb.saved", null, { title: saved.title });
        await this.load();
      },
    });
    title.focus();
  }

  editMacro(macro) {
    const isNew = macro === null;
    const title = h("input", { id: "kb-macro-title", required: true, maxlength: 100,
      value: isNew ? "" : macro.title });
    const body = h("textarea", { id: "kb-macro-body", required: true, rows: 4, maxlength: 4000,
      value: isNew ? "" : macro.body });
    openDialog({
      titleKey: isNew ? "kb.addMacro" : "kb.editMacro",
      confirmKey: "common.save",
      body: [
        h("div", { class: "field" }, h("label", { for: "kb-macro-title", i18n: "kb.title" }),
          title),
        h("div", { class: "field" }, h("label", { for: "kb-macro-body", i18n: "kb.macroBody" }),
          body),
      ],
      onConfirm: async () => {
        const json = { title: title.value, body: body.value };
        const saved = isNew ? await this.api.post("/api/kb/macros", json)
          : await this.api.patch(`/api/kb/macros/${macro.id}`, json);
        this.say("kb.saved", null, { title: saved.title });
        await this.load();
      },
    });
    title.focus();
  }

  remove(kind, item) {
    openDialog({
      titleKey: "kb.deleteTitle",
      titleArgs: { title: item.title },
      confirmKey: "kb.delete",
      tone: "danger",
      body: [h("p", { i18n: "kb.deleteText" })],
      onConfirm: async () => {
        await this.api.request("DELETE", `/api/kb/${kind}/${item.id}`);
        this.say("kb.deleted", null, { title: item.title });
        await this.load();
      },
    });
  }

  say(key, text = null, args = null) {
    this.status.classList.toggle("form-note--error", !key);
    if (key) setText(this.status, key, args);
    else {
      delete this.status.dataset.i18n;
      this.status.textContent = text;
    }
  }
}
