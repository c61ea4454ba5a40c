// One ticket in full: its editable fields, the transcript of each chat it came from, and its
// history (every field change, by whom and when).

import { h, replace } from "../dom.js";
import "../format.js"; // the date formats of data-format
import { Transcript } from "../transcript.js";
import { priorityBadge, statusBadge } from "./badges.js";
import { qaReviewsPanel, qaScoreBadge } from "./qareviews.js";
import { TicketForm } from "./ticketform.js";

/**
 * @param {object} options  api, ticket (GET /api/tickets/{id}), directory ({agents, groups}),
 *   onSaved(ticket), saved (just saved: say so), linkToQa (link its QA reviews to /qa)
 * @returns {{el: Element, form: TicketForm, update(ticket): void}}
 */
export function ticketDetail({ api, ticket, directory, onSaved, saved = false, linkToQa = false }) {
  const names = lookup(directory);
  const meta = h("p", { class: "ticket-detail__meta" });
  const showMeta = (current) => replace(meta,
    statusBadge(current.status),
    priorityBadge(current.priority),
    h("span", { class: "muted", i18n: "tickets.opened",
      i18nArgs: { when: { format: "dateTime", value: current.created_at } } }),
    current.csat_score
      ? h("span", { class: "csat-score", i18n: "tickets.csat",
        i18nArgs: { score: current.csat_score } })
      : null,
    qaScoreBadge(current));
  showMeta(ticket);
  const form = new TicketForm({ api, ticket, idPrefix: `ticket-${ticket.id}`, saved,
    onSaved: (updated) => {
      showMeta(updated);
      onSaved(updated);
    } });
  const el = h("article", { class: "ticket-detail", "aria-labelledby": "ticket-detail-title",
    dataset: { focusScope: "ticket" } },
  h("header", { class: "ticket-detail__header" },
    h("h2", { id: "ticket-detail-title", tabindex: -1, dataset: { focusHome: "" } },
      h("span", { class: "muted", text: `#${ticket.id} ` }), ticket.subject),
    meta,
    ticket.csat_comment
      ? h("blockquote", { class: "csat-comment", text: ticket.csat_comment })
      : null),
  h("section", { class: "panel", "aria-labelledby": "ticket-fields-title" },
    h("h3", { id: "ticket-fields-title", i18n: "tickets.fields" }),
    form.el),
  qaReviewsPanel(ticket, { linkToQa }),
  h("section", { class: "panel", "aria-labelledby": "ticket-chats-title" },
    h("h3", { id: "ticket-chats-title", i18n: "tickets.transcripts" }),
    ticket.chats.length === 0 ? h("p", { class: "muted", i18n: "tickets.noChats" }) : null,
    ticket.chats.map((chat) => chatTranscript(api, chat))),
  h("section", { class: "panel", "aria-labelledby": "ticket-history-title" },
    h("h3", { id: "ticket-history-title", i18n: "tickets.history" }),
    h("ol", { class: "timeline" }, ticket.history.map((event) => h("li", {},
      h("time", { datetime: event.created_at, format: ["dateTime", event.created_at] }),
      h("span", { class: "timeline__who" }, actorName(event, names)),
      h("span", { class: "timeline__what" }, describe(event, names)))))));
  return {
    el,
    form,
    update(current) {
      form.update(current);
      if (!form.edited) showMeta(current);
    },
  };
}

function chatTranscript(api, chat) {
  const transcript = new Transcript({
    api,
    isMine: (m) => m.sender.type === "agent",
    showName: (m) => m.sender.type === "agent",
  });
  for (const message of chat.messages) transcript.add(message);
  transcript.setRead(chat.customer_read_seq || 0);
  transcript.el.classList.add("transcript--static");
  return h("div", { class: "ticket-chat" },
    h("h4", { i18n: "tickets.chatHeading", i18nArgs: {
      when: { format: "dateTime", value: chat.created_at }, agent: chat.assignee_name || "—",
    } }),
    transcript.el);
}

function lookup(directory) {
  const agents = new Map((directory.agents || []).map((agent) => [agent.id, agent.name]));
  const groups = new Map((directory.groups || []).map((group) => [group.id, group.name]));
  return { agents, groups };
}

function actorName(event, names) {
  if (event.actor_type === "customer") return h("span", { i18n: "tickets.actorCustomer" });
  if (event.actor_type === "system") return h("span", { i18n: "tickets.actorSystem" });
  return names.agents.get(event.actor_id) || `#${event.actor_id}`;
}

/** "Status: Open → Solved", as nodes that follow a switch of language. */
function describe(event, names) {
  if (event.field === "created") return h("span", { i18n: "tickets.eventCreated" });
  return [
    h("span", { i18n: `ticket.${fieldKey(event.field)}`, i18nArgs: { _: event.field } }),
    ": ", value(event.field, event.old_value, names), " → ",
    value(event.field, event.new_value, names),
  ];
}

function fieldKey(field) {
  return { assignee_id: "assignee", group_id: "group", csat_score: "csat",
    csat_comment: "csatComment" }[field] || field;
}

function value(field, raw, names) {
  if (raw === null || raw === undefined || raw === "") return "—";
  if (field === "status" || field === "priority") {
    return h("span", { i18n: `${field}.${raw}`, i18nArgs: { _: raw } });
  }
  if (field === "assignee_id") return names.agents.get(raw) || `#${raw}`;
  if (field === "group_id") return names.groups.get(raw) || `#${raw}`;
  if (Array.isArray(raw)) return raw.join(", ") || "—";
  return String(raw);
}
