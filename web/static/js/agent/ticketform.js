// A ticket's editable fields — subject, status, priority, tags — saved with PATCH.
//
// The form shows what the server has: a ticket.updated push refills fields nobody is editing
// here, and says so when someone is; a save carries the `version` it was made on, and one the
// server refuses as stale (409: the chat ended and solved it, a colleague saved) is not lost
// silently — the form says what changed and offers the current fields (protocol §7).

import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";

export const STATUSES = ["open", "pending", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];

export class TicketForm {
  /**
   * @param {object} options  api, ticket, idPrefix (unique per page), onSaved(ticket),
   *   saved: start with the "Saved" note (the form was redrawn right after saving)
   */
  constructor({ api, ticket, idPrefix, onSaved = () => {}, saved = false }) {
    this.api = api;
    this.ticket = { ...ticket };
    this.onSaved = onSaved;
    this.edited = false;
    const id = (name) => `${idPrefix}-${name}`;
    this.fields = {
      subject: h("input", { id: id("subject"), name: "subject", required: true, maxLength: 300 }),
      status: select(id("status"), "status", STATUSES, "status"),
      priority: select(id("priority"), "priority", PRIORITIES, "priority"),
      tags: h("input", { id: id("tags"), name: "tags",
        i18nAttrs: { placeholder: "ticket.tagsPlaceholder" } }),
    };
    this.note = h("p", { class: "form-note", role: "status",
      i18n: saved ? "common.saved" : null });
    this.save = h("button", { type: "submit", class: "button button--primary",
      i18n: "common.save", dataset: { focusHome: "" } });
    this.el = h("form", { class: "ticket-form", dataset: { ticketId: ticket.id } },
      field(id("subject"), "ticket.subject", this.fields.subject),
      h("div", { class: "field-row" },
        field(id("status"), "ticket.status", this.fields.status),
        field(id("priority"), "ticket.priority", this.fields.priority)),
      field(id("tags"), "ticket.tags", this.fields.tags),
      this.note,
      h("div", { class: "form-actions" }, this.save));
    this.fill(this.ticket);
    this.el.addEventListener("input", () => {
      this.edited = true;
      this.setNote(null);
    });
    this.el.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  /** The server's ticket changed (ticket.updated): show it, unless someone is editing here. */
  update(ticket, { force = false } = {}) {
    if (ticket.id !== this.ticket.id || (ticket.version || 0) < (this.ticket.version || 0)) return;
    if (ticket.version === this.ticket.version && !force) return;
    if (this.edited && !force) {
      this.pending = ticket;
      this.setNote("ticket.changedMeanwhile", { status: { key: `status.${ticket.status}` } },
        { error: true, offer: true });
      return;
    }
    this.ticket = { ...ticket };
    this.edited = false;
    this.pending = null;
    this.fill(ticket);
  }

  fill(ticket) {
    this.fields.subject.value = ticket.subject;
    this.fields.status.value = ticket.status;
    this.fields.priority.value = ticket.priority;
    this.fields.tags.value = (ticket.tags || []).join(", ");
    this.el.dataset.version = String(ticket.version || "");
    this.el.dataset.status = ticket.status;
  }

  async submit() {
    const { subject, status, priority, tags } = this.fields;
    const changes = {
      subject: subject.value.trim(),
      status: status.value,
      priority: priority.value,
      tags: tags.value.split(",").map((tag) => tag.trim()).filter(Boolean),
    };
    if (this.ticket.version) changes.version = this.ticket.version;
    this.save.disabled = true;
    try {
      const updated = await this.api.patch(`/api/tickets/${this.ticket.id}`, changes);
      this.ticket = { ...updated };
      this.edited = false;
      this.fill(updated);
      this.setNote("common.saved");
      this.onSaved(updated);
    } catch (error) {
      const current = error.code === "conflict" && error.details && error.details.ticket;
      if (current) {
        this.pending = current;
        this.setNote("ticket.stale", { status: { key: `status.${current.status}` } },
          { error: true, offer: true });
      } else {
        this.setNote(null);
        this.note.classList.add("form-note--error");
        this.note.textContent = errorMessage(error);
      }
    } finally {
      this.save.disabled = false;
    }
  }

  /** A note under the fields; `offer` adds "Show the current ticket" (drops the edits). */
  setNote(key, args = null, { error = false, offer = false } = {}) {
    this.note.classList.toggle("form-note--error", error);
    if (!key) {
      replace(this.note);
      return;
    }
    const text = h("span");
    setText(text, key, args);
    replace(this.note, text, offer ? h("button", { type: "button", class: "link",
      i18n: "ticket.showCurrent", onclick: () => {
        this.update(this.pending, { force: true });
        this.setNote(null);
        this.fields.status.focus();
      } }) : null);
  }
}

/** The form as an element (the ticket detail page keeps no reference to it). */
export function ticketForm(options) {
  return new TicketForm(options).el;
}

function select(id, name, values, prefix) {
  return h("select", { id, name }, values.map((value) =>
    h("option", { value, i18n: `${prefix}.${value}` })));
}

function field(id, labelKey, control) {
  return h("div", { class: "field" }, h("label", { for: id, i18n: labelKey }), control);
}
