// One ticket in full: its editable fields, the transcript of each chat it came from, and its
// history (every field change, by whom and when).

import { h } from "../dom.js";
import { dateTime } from "../format.js";
import { t } from "../i18n.js";
import { Transcript } from "../transcript.js";
import { priorityBadge, statusBadge } from "./badges.js";
import { qaReviewsPanel, qaScoreBadge } from "./qareviews.js";
import { ticketForm } from "./ticketform.js";

/**
 * @param {object} options  api, ticket (GET /api/tickets/{id}), directory ({agents, groups}),
 *   onSaved(ticket), saved (just saved: say so), linkToQa (link its QA reviews to /qa)
 */
export function ticketDetail({ api, ticket, directory, onSaved, saved = false, linkToQa = false }) {
  const names = lookup(directory);
  return h("article", { class: "ticket-detail", "aria-labelledby": "ticket-detail-title" },
    h("header", { class: "ticket-detail__header" },
      h("h2", { id: "ticket-detail-title", tabindex: -1 },
        h("span", { class: "muted", text: `#${ticket.id} ` }), ticket.subject),
      h("p", { class: "ticket-detail__meta" },
        statusBadge(ticket.status),
        priorityBadge(ticket.priority),
        h("span", { class: "muted", i18n: "tickets.opened",
          i18nArgs: { when: dateTime(ticket.created_at) } }),
        ticket.csat_score
          ? h("span", { class: "csat-score", i18n: "tickets.csat",
            i18nArgs: { score: ticket.csat_score } })
          : null,
        qaScoreBadge(ticket)),
      ticket.csat_comment
        ? h("blockquote", { class: "csat-comment", text: ticket.csat_comment })
        : null),
    h("section", { class: "panel", "aria-labelledby": "ticket-fields-title" },
      h("h3", { id: "ticket-fields-title", i18n: "tickets.fields" }),
      ticketForm({ api, ticket, idPrefix: `ticket-${ticket.id}`, onSaved, saved })),
    qaReviewsPanel(ticket, { linkToQa }),
    h("section", { class: "panel", "aria-labelledby": "ticket-chats-title" },
      h("h3", { id: "ticket-chats-title", i18n: "tickets.transcripts" }),
      ticket.chats.length === 0 ? h("p", { class: "muted", i18n: "tickets.noChats" }) : null,
      ticket.chats.map((chat) => chatTranscript(api, chat))),
    h("section", { class: "panel", "aria-labelledby": "ticket-history-title" },
      h("h3", { id: "ticket-history-title", i18n: "tickets.history" }),
      h("ol", { class: "timeline" }, ticket.history.map((event) => h("li", {},
        h("time", { datetime: event.created_at, text: dateTime(event.created_at) }),
        h("span", { class: "timeline__who", text: actorName(event, names) }),
        h("span", { class: "timeline__what" }, describe(event, names)))))));
}

function chatTranscript(api, chat) {
  const transcript = new Transcript({
    api,
    isMine: (m) => m.sender.type === "agent",
    showName: (m) => m.sender.type === "agent",
    label: t("chat.transcript"),
  });
  for (const message of chat.messages) transcript.add(message);
  transcript.setRead(chat.customer_read_seq || 0);
  transcript.el.classList.add("transcript--static");
  return h("div", { class: "ticket-chat" },
    h("h4", { i18n: "tickets.chatHeading", i18nArgs: {
      when: dateTime(chat.created_at), agent: chat.assignee_name || "—",
    } }),
    transcript.el);
}

function lookup(directory) {
  const agents = new Map((directory.agents || []).map((agent) => [agent.id, agent.name]));
  const groups = new Map((directory.groups || []).map((group) => [group.id, group.name]));
  return { agents, groups };
}

function actorName(event, names) {
  if (event.actor_type === "customer") return t("tickets.actorCustomer");
  if (event.actor_type === "system") return t("tickets.actorSystem");
  return names.agents.get(event.actor_id) || `#${event.actor_id}`;
}

function describe(event, names) {
  if (event.field === "created") return t("tickets.eventCreated");
  const label = t(`ticket.${fieldKey(event.field)}`, { _: event.field });
  const before = value(event.field, event.old_value, names);
  const after = value(event.field, event.new_value, names);
  return `${label}: ${before} → ${after}`;
}

function fieldKey(field) {
  return { assignee_id: "assignee", group_id: "group", csat_score: "csat",
    csat_comment: "csatComment" }[field] || field;
}

function value(field, raw, names) {
  if (raw === null || raw === undefined || raw === "") return "—";
  if (field === "status") return t(`status.${raw}`, { _: raw });
  if (field === "priority") return t(`priority.${raw}`, { _: raw });
  if (field === "assignee_id") return names.agents.get(raw) || `#${raw}`;
  if (field === "group_id") return names.groups.get(raw) || `#${raw}`;
  if (Array.isArray(raw)) return raw.join(", ") || "—";
  return String(raw);
}
