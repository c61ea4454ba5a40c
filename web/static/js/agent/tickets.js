// The Tickets view: a filtered, paged list of tickets and, beside it, the one being read.

import { h, replace } from "../dom.js";
import { errorMessage } from "../errors.js";
import "../format.js"; // the date formats of data-format
import { priorityBadge, statusBadge } from "./badges.js";
import { ticketDetail } from "./ticketdetail.js";
import { STATUSES } from "./ticketform.js";

const PER_PAGE = 25;

export class TicketsView {
  constructor({ api, linkToQa = false }) {
    this.api = api;
    this.linkToQa = linkToQa;
    this.page = 1;
    this.openId = null;
    this.current = null;
    this.directory = null;

    this.status = h("select", { id: "tickets-status", name: "status" },
      h("option", { value: "", i18n: "tickets.all" }),
      STATUSES.map((value) => h("option", { value, i18n: `status.${value}` })));
    this.query = h("input", { id: "tickets-q", name: "q", type: "search", maxLength: 200,
      i18nAttrs: { placeholder: "tickets.searchPlaceholder" } });
    this.rows = h("tbody");
    this.pager = h("div", { class: "pager" });
    this.detail = h("div", { class: "tickets-detail", "aria-live": "polite" },
      h("p", { class: "empty", i18n: "tickets.pick" }));
    const filters = h("form", { class: "filters", role: "search" },
      h("div", { class: "field" }, h("label", { for: "tickets-status", i18n: "ticket.status" }),
        this.status),
      h("div", { class: "field field--grow" },
        h("label", { for: "tickets-q", i18n: "tickets.search" }), this.query),
      h("button", { type: "submit", class: "button", i18n: "tickets.apply" }));
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      this.page = 1;
      this.load();
    });
    this.status.addEventListener("change", () => {
      this.page = 1;
      this.load();
    });
    this.el = h("div", { class: "tickets-view" },
      h("section", { class: "tickets-list", "aria-labelledby": "tickets-title" },
        h("h2", { id: "tickets-title", i18n: "tickets.title" }),
        filters,
        h("table", { class: "table" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col", text: "#" }),
            h("th", { scope: "col", i18n: "ticket.subject" }),
            h("th", { scope: "col", i18n: "ticket.status" }),
            h("th", { scope: "col", i18n: "ticket.priority" }),
            h("th", { scope: "col", i18n: "tickets.updated" }))),
          this.rows),
        this.pager),
      this.detail);

  }

  async load() {
    let result;
    try {
      result = await this.api.get("/api/tickets", {
        status: this.status.value, q: this.query.value.trim(), page: this.page, per_page: PER_PAGE,
      });
    } catch (error) {
      replace(this.rows, h("tr", {}, h("td", { colspan: 5, class: "form-error",
        text: errorMessage(error) })));
      return;
    }
    replace(this.rows, result.items.map((ticket) => this.row(ticket)));
    if (result.items.length === 0) {
      this.rows.append(h("tr", {}, h("td", { colspan: 5, class: "muted", i18n: "tickets.none" })));
    }
    this.renderPager(result);
  }

  row(ticket) {
    const open = ticket.id === this.openId ? "is-open" : "";
    return h("tr", { class: open, dataset: { id: ticket.id } },
      h("td", { class: "muted", text: ticket.id }),
      h("td", {}, h("button", { type: "button", class: "link", text: ticket.subject,
        onclick: () => this.open(ticket.id) })),
      h("td", {}, statusBadge(ticket.status)),
      h("td", {}, priorityBadge(ticket.priority)),
      h("td", { class: "muted", format: ["clock", ticket.updated_at] }));
  }

  renderPager({ page, per_page: perPage, total }) {
    const first = total === 0 ? 0 : (page - 1) * perPage + 1;
    const last = Math.min(total, page * perPage);
    replace(this.pager,
      h("button", { type: "button", class: "button button--small", i18n: "tickets.previous",
        disabled: page <= 1, onclick: () => this.go(page - 1) }),
      h("span", { class: "muted", i18n: "tickets.range", i18nArgs: { first, last, total } }),
      h("button", { type: "button", class: "button button--small", i18n: "tickets.next",
        disabled: last >= total, onclick: () => this.go(page + 1) }));
  }

  go(page) {
    this.page = page;
    this.load();
  }

  async open(id) {
    this.openId = id;
    for (const row of this.rows.querySelectorAll("tr")) {
      row.classList.toggle("is-open", Number(row.dataset.id) === id);
    }
    replace(this.detail, h("p", { class: "muted", i18n: "common.loading" }));
    try {
      if (!this.directory) this.directory = await this.api.get("/api/directory");
      this.current = await this.api.get(`/api/tickets/${id}`);
    } catch (error) {
      this.current = null;
      replace(this.detail, h("p", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    this.renderDetail();
    const heading = this.detail.querySelector("h2");
    if (heading) heading.focus();
  }

  renderDetail(saved = false) {
    if (!this.current) return;
    this.shown = ticketDetail({
      api: this.api, ticket: this.current, directory: this.directory, saved,
      linkToQa: this.linkToQa,
      onSaved: (ticket) => {
        Object.assign(this.current, ticket);
        this.load();
      },
    });
    replace(this.detail, this.shown.el);
  }

  /** ticket.updated: the open ticket's fields and the list show the server's. */
  ticketChanged(ticket) {
    if (this.current && this.current.id === ticket.id && this.shown) {
      this.shown.update(ticket);
      if (!this.shown.form.edited) Object.assign(this.current, ticket);
    }
    if (this.rows.querySelector(`tr[data-id="${ticket.id}"]`)) this.load();
  }
}
