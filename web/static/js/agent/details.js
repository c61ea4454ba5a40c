// The side panel for the selected chat: who the customer is (CRM data when a context hook is
// configured, and their history with us), and the chat's ticket fields.

import { h, replace } from "../dom.js";
import { errorMessage } from "../errors.js";
import "../format.js"; // the date formats of data-format
import { t } from "../i18n.js";
import { statusBadge } from "./badges.js";
import { TicketForm } from "./ticketform.js";

export class DetailsPanel {
  /** onOpenTicket(id): show a ticket in the Tickets view */
  constructor({ api, onOpenTicket }) {
    this.api = api;
    this.onOpenTicket = onOpenTicket;
    this.chat = null;
    this.ticketSection = null;
    this.form = null;
    this.contexts = new Map(); // customer id → Promise<context>
    this.body = h("div", { class: "details__body" });
    this.el = h("aside", { class: "details", "aria-labelledby": "details-title" },
      h("h2", { class: "visually-hidden", id: "details-title", i18n: "details.title" }),
      this.body);
    this.show(null);
  }

  show(chat) {
    this.chat = chat;
    this.form = null;
    if (!chat) {
      replace(this.body, h("p", { class: "empty", i18n: "details.none" }));
      return;
    }
    const customer = h("section", { class: "panel", "aria-labelledby": "details-customer" },
      h("h3", { id: "details-customer", i18n: "details.customer" }),
      h("p", { class: "muted", i18n: "common.loading" }));
    const ticket = h("section", { class: "panel", "aria-labelledby": "details-ticket" },
      h("h3", { id: "details-ticket", i18n: "details.ticket",
        i18nArgs: { id: chat.view.ticket_id } }),
      h("p", { class: "muted", i18n: "common.loading" }));
    replace(this.body, customer, ticket);
    this.ticketSection = ticket;
    this.fillCustomer(customer, chat);
    this.fillTicket(ticket, chat);
  }

  /** The chat changed; its ticket may have too (escalated): the form shows it, keeping
   * fields being edited. */
  refresh(chat) {
    if (this.chat && this.chat.id === chat.id && chat.ticket && this.form) {
      this.form.update(chat.ticket);
    }
  }

  /** ticket.updated: the server's new fields for a ticket, maybe the one shown here. */
  ticketChanged(ticket) {
    if (this.form) this.form.update(ticket);
  }

  async fillCustomer(section, chat) {
    const id = chat.view.customer_id;
    if (!this.contexts.has(id)) {
      const loading = this.api.get(`/api/customers/${id}/context`);
      loading.catch(() => this.contexts.delete(id));
      this.contexts.set(id, loading);
    }
    let context;
    try {
      context = await this.contexts.get(id);
    } catch (error) {
      replace(section, section.firstChild, failure(error));
      return;
    }
    replace(section, section.firstChild, ...customerFacts(context.customer),
      crmBlock(context.external),
      this.history(context.history, chat));
  }

  async fillTicket(section, chat) {
    try {
      if (!chat.ticket) chat.ticket = await this.api.get(`/api/tickets/${chat.view.ticket_id}`);
    } catch (error) {
      replace(section, section.firstChild, failure(error));
      return;
    }
    this.form = new TicketForm({ api: this.api, ticket: chat.ticket, idPrefix: `details-${chat.id}`,
      onSaved: (ticket) => {
        chat.ticket = ticket;
      } });
    replace(section, section.firstChild, this.form.el,
      h("button", { type: "button", class: "link", i18n: "details.openTicket",
        onclick: () => this.onOpenTicket(chat.view.ticket_id) }));
  }

  history(history, chat) {
    const chats = history.chats.filter((c) => c.id !== chat.id);
    const tickets = history.tickets.filter((ticket) => ticket.id !== chat.view.ticket_id);
    return h("div", { class: "history" },
      h("h4", { i18n: "details.history" }),
      chats.length === 0 && tickets.length === 0
        ? h("p", { class: "muted", i18n: "details.firstContact" })
        : null,
      tickets.length ? h("ul", { class: "history__list" }, tickets.map((ticket) => h("li", {},
        h("button", { type: "button", class: "link",
          onclick: () => this.onOpenTicket(ticket.id) }, `#${ticket.id} ${ticket.subject}`),
        statusBadge(ticket.status),
        h("span", { class: "muted", format: ["clock", ticket.updated_at || ticket.created_at] }))))
        : null,
      chats.length ? h("p", { class: "muted", i18n: "details.chatCount",
        i18nArgs: { n: chats.length } }) : null);
  }
}

function customerFacts(customer) {
  const facts = [
    ["details.name", customer.name || t("console.customer")],
    ["details.email", customer.email],
    ["details.externalId", customer.external_id],
    ["details.since", customer.created_at, "dateTime"],
  ].filter(([, value]) => value);
  const attributes = Object.entries(customer.attributes || {});
  return [
    customer.vip ? h("span", { class: "badge", i18n: "console.vip" }) : null,
    h("dl", { class: "facts" }, facts.map(([key, value, format]) => [
      h("dt", { i18n: key }),
      h("dd", format ? { format: [format, value] } : { text: value })]),
    attributes.map(([key, value]) => [h("dt", { text: key }), h("dd", { text: show(value) })])),
  ];
}

function failure(error) {
  return h("p", { class: "form-error", text: errorMessage(error) });
}

function crmBlock(external) {
  if (!external || !external.configured) return null;
  const body = external.error
    ? h("p", { class: "form-error", text: external.error })
    : h("dl", { class: "facts" }, Object.entries(external.data || {}).map(([key, value]) => [
      h("dt", { text: key }), h("dd", { text: show(value) })]));
  return h("div", { class: "crm" }, h("h4", { i18n: "details.crm" }), body);
}

function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
