// A ticket's editable fields — subject, status, priority, tags — saved with PATCH.

import { h, setText } from "../dom.js";
import { errorMessage } from "../errors.js";

export const STATUSES = ["open", "pending", "solved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];

/**
 * @param {object} options  api, ticket, idPrefix (unique per page), onSaved(ticket),
 *   saved: start with the "Saved" note (the form was redrawn right after saving)
 */
export function ticketForm({ api, ticket, idPrefix, onSaved = () => {}, saved = false }) {
  const id = (name) => `${idPrefix}-${name}`;
  const subject = h("input", { id: id("subject"), name: "subject", required: true, maxLength: 300,
    value: ticket.subject });
  const status = select(id("status"), "status", STATUSES, ticket.status, "status");
  const priority = select(id("priority"), "priority", PRIORITIES, ticket.priority, "priority");
  const tags = h("input", { id: id("tags"), name: "tags", value: (ticket.tags || []).join(", "),
    i18nAttrs: { placeholder: "ticket.tagsPlaceholder" } });
  const note = h("span", { class: "form-note", role: "status",
    i18n: saved ? "common.saved" : null });
  const save = h("button", { type: "submit", class: "button button--primary",
    i18n: "common.save" });
  const form = h("form", { class: "ticket-form" },
    field(id("subject"), "ticket.subject", subject),
    h("div", { class: "field-row" },
      field(id("status"), "ticket.status", status),
      field(id("priority"), "ticket.priority", priority)),
    field(id("tags"), "ticket.tags", tags),
    h("div", { class: "form-actions" }, note, save));

  form.addEventListener("input", () => {
    note.textContent = "";
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const changes = {
      subject: subject.value.trim(),
      status: status.value,
      priority: priority.value,
      tags: tags.value.split(",").map((tag) => tag.trim()).filter(Boolean),
    };
    save.disabled = true;
    note.classList.remove("form-note--error");
    try {
      const updated = await api.patch(`/api/tickets/${ticket.id}`, changes);
      Object.assign(ticket, updated);
      setText(note, "common.saved");
      onSaved(updated);
    } catch (error) {
      note.classList.add("form-note--error");
      note.textContent = errorMessage(error);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

function select(id, name, values, current, prefix) {
  return h("select", { id, name }, values.map((value) =>
    h("option", { value, selected: value === current, i18n: `${prefix}.${value}` })));
}

function field(id, labelKey, control) {
  return h("div", { class: "field" }, h("label", { for: id, i18n: labelKey }), control);
}
