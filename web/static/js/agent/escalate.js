// Escalate: keep the chat's ticket open for follow-up after the chat ends, optionally raising
// its priority, with an internal note.

import { h } from "../dom.js";
import { openDialog } from "./dialog.js";
import { PRIORITIES } from "./ticketform.js";

export function openEscalate({ live, chat, onEscalated }) {
  const current = (chat.ticket && chat.ticket.priority) || chat.view.priority || "normal";
  const suggested = current === "urgent" ? "urgent" : "high";
  const priority = h("select", { id: "escalate-priority", name: "priority" },
    PRIORITIES.map((value) => h("option", { value, selected: value === suggested,
      i18n: `priority.${value}` })));
  const note = h("textarea", { id: "escalate-note", name: "note", rows: 3, maxLength: 2000,
    i18nAttrs: { placeholder: "escalate.notePlaceholder" } });
  openDialog({
    titleKey: "escalate.title",
    titleArgs: { id: chat.view.ticket_id },
    confirmKey: "escalate.confirm",
    tone: "warn",
    body: [
      h("p", { class: "muted", i18n: "escalate.explain" }),
      h("div", { class: "field" },
        h("label", { for: "escalate-priority", i18n: "ticket.priority" }), priority),
      h("div", { class: "field" },
        h("label", { for: "escalate-note", i18n: "escalate.note" }), note),
    ],
    onConfirm: async () => {
      onEscalated(await live.escalate(chat, {
        priority: priority.value, note: note.value.trim(),
      }));
    },
  });
}
