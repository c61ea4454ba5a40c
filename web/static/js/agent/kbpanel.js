// Articles and saved replies while replying to a chat: a dialog with the organisation's saved
// replies (filled from this chat by the server: customer's name, the agent's, the ticket,
// the topic) and a search of its published articles, each with "Insert link" (a page
// customers can open: /help) and "Insert excerpt". What is chosen goes into the chat's
// message box at the cursor, to be edited and sent by the agent.
//
// Test hooks: dialog.kb-dialog, #kb-q, .kb-hit[data-id] with .kb-hit__link and
// .kb-hit__excerpt, .kb-macro[data-id].

import "../kbstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";

let orgSlug = null;

async function slug(api) {
  if (!orgSlug) orgSlug = (await api.get("/api/me")).org.slug;
  return orgSlug;
}

/** The address of an article customers can open (signaling/http/routes_pages.py: /help). */
export function articleLink(org, id) {
  return `${location.origin}/help?org=${encodeURIComponent(org)}&article=${id}`;
}

export function openKnowledge({ api, chat, composer }) {
  const opener = document.activeElement;
  const status = h("p", { class: "muted kb-dialog__status", role: "status" });
  const macros = h("ul", { class: "kb-macros", "aria-labelledby": "kb-macros-title" });
  const hits = h("ul", { class: "kb-hits", "aria-label": "" });
  const input = h("input", { id: "kb-q", type: "search", maxLength: 500, autocomplete: "off",
    i18nAttrs: { placeholder: "kb.searchPlaceholder" } });
  const language = String(chat.view.language || "en").startsWith("zh") ? "zh" : "en";
  const insert = (text) => {
    dialog.close();
    composer.insert(text);
  };
  const search = async () => {
    const q = input.value.trim();
    if (!q) return;
    setText(status, "kb.loading");
    try {
      const [found, org] = await Promise.all([
        api.get("/api/kb/search", { q, language, limit: 8 }), slug(api)]);
      const n = found.items.length;
      setText(status, n === 0 ? "kb.none" : n === 1 ? "kb.foundOne" : "kb.found", { n });
      replace(hits, found.items.map((hit) => h("li", { class: "kb-hit", dataset: { id: hit.id } },
        h("strong", { class: "kb-hit__title", id: `kb-hit-${hit.id}`, text: hit.title }),
        h("span", { class: "muted kb-hit__text", text: hit.excerpt }),
        h("span", { class: "kb-hit__actions" },
          h("button", { type: "button", class: "button button--small kb-hit__link",
            i18n: "kb.insertLink", "aria-describedby": `kb-hit-${hit.id}`,
            onclick: () => insert(`${hit.title}: ${articleLink(org, hit.id)}`) }),
          h("button", { type: "button", class: "button button--small kb-hit__excerpt",
            i18n: "kb.insertExcerpt", "aria-describedby": `kb-hit-${hit.id}`,
            onclick: () => insert(hit.excerpt) })))));
    } catch (error) {
      delete status.dataset.i18n;
      status.textContent = errorMessage(error);
    }
  };
  const dialog = h("dialog", { class: "dialog kb-dialog", "aria-labelledby": "kb-title" },
    h("div", { class: "dialog__form" },
      h("h2", { class: "dialog__title", id: "kb-title", i18n: "kb.help" }),
      h("h3", { class: "kb-dialog__sub", id: "kb-macros-title", i18n: "kb.macros" }),
      macros,
      h("form", { class: "kb-search", role: "search", novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          search();
        } },
      h("label", { for: "kb-q", i18n: "kb.searchLabel" }),
      h("div", { class: "kb-search__row" }, input,
        h("button", { type: "submit", class: "button button--primary", i18n: "kb.search" }))),
      status,
      hits,
      h("div", { class: "dialog__actions" },
        h("button", { type: "button", class: "button button--quiet", i18n: "common.close",
          onclick: () => dialog.close() }))));
  hits.setAttribute("aria-labelledby", "kb-title");
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (!composer.input.isConnected && opener && opener.isConnected) opener.focus();
  });
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  api.get("/api/kb/macros").then(({ items }) => {
    const usable = items.filter((m) => !m.language || m.language === language);
    replace(macros, usable.length ? usable.map((macro) => h("li", {},
      h("button", { type: "button", class: "button button--small kb-macro",
        dataset: { id: macro.id }, text: macro.title,
        onclick: async () => {
          try {
            const filled = await api.post(`/api/kb/macros/${macro.id}/fill`, { chat_id: chat.id });
            insert(filled.text);
          } catch (error) {
            delete status.dataset.i18n;
            status.textContent = errorMessage(error);
          }
        } })))
      : h("li", { class: "muted", i18n: "kb.macroNone" }));
  }).catch((error) => {
    replace(macros, h("li", { class: "form-error", text: errorMessage(error) }));
  });
  return dialog;
}
