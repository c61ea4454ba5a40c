// Recorded calls: every filter of GET /api/recordings, a table, and paging. The filters live
// in the URL (#calls?agent_id=2&page=3), so Back returns to the same list.

import { h, replace } from "../dom.js";
import { errorMessage } from "../errors.js";
import { dateTime, duration } from "../format.js";
import { onLangChange } from "../i18n.js";
import { qualityBadge, scoreText } from "./badges.js";

const PER_PAGE = 25;
// query parameter → how the form shows it (durations are asked in minutes, sent in seconds)
const FIELDS = [
  "date_from", "date_to", "agent_id", "group_id", "customer_id", "ticket_id",
  "min_duration_s", "max_duration_s", "quality", "min_score", "max_score", "reviewed",
];

export class RecordingsView {
  constructor({ api, onOpen }) {
    this.api = api;
    this.onOpen = onOpen;
    this.params = new URLSearchParams();
    this.directory = null;
    this.inputs = {};
    this.rows = h("tbody");
    this.pager = h("div", { class: "pager" });
    this.status = h("p", { class: "visually-hidden", role: "status" });
    this.form = this.buildForm();
    this.el = h("div", { class: "qa-list" },
      h("h2", { id: "qa-list-title", i18n: "qa.calls" }),
      this.form,
      this.status,
      h("div", { class: "qa-table-wrap" },
        h("table", { class: "table qa-table", "aria-labelledby": "qa-list-title" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col", i18n: "qa.colWhen" }),
            h("th", { scope: "col", i18n: "qa.colAgent" }),
            h("th", { scope: "col", i18n: "qa.colCustomer" }),
            h("th", { scope: "col", i18n: "qa.colTicket" }),
            h("th", { scope: "col", i18n: "qa.colDuration" }),
            h("th", { scope: "col", i18n: "qa.colQuality" }),
            h("th", { scope: "col", i18n: "qa.colScore" }),
            h("th", { scope: "col" }, h("span", { class: "visually-hidden", i18n: "qa.colOpen" })))),
          this.rows)),
      this.pager);
    onLangChange(() => this.render());
    this.result = null;
  }

  buildForm() {
    const field = (name, label, control) => {
      control.id = `qa-f-${name}`;
      control.name = name;
      this.inputs[name] = control;
      return h("div", { class: "field" }, h("label", { for: control.id, i18n: label }), control);
    };
    const number = (props = {}) => h("input", { type: "number", inputMode: "numeric", ...props });
    this.agentSelect = h("select", {}, h("option", { value: "", i18n: "qa.anyone" }));
    this.groupSelect = h("select", {}, h("option", { value: "", i18n: "qa.anyGroup" }));
    const form = h("form", { class: "filters qa-filters", role: "search",
      i18nAttrs: { "aria-label": "qa.filters" } },
    field("date_from", "qa.dateFrom", h("input", { type: "date" })),
    field("date_to", "qa.dateTo", h("input", { type: "date" })),
    field("agent_id", "qa.agent", this.agentSelect),
    field("group_id", "qa.group", this.groupSelect),
    field("customer_id", "qa.customerId", number({ min: 1 })),
    field("ticket_id", "qa.ticketId", number({ min: 1 })),
    field("min_duration_s", "qa.minMinutes", number({ min: 0, step: "0.5" })),
    field("max_duration_s", "qa.maxMinutes", number({ min: 0, step: "0.5" })),
    field("quality", "qa.quality", h("select", {},
      h("option", { value: "", i18n: "qa.anyQuality" }),
      ["good", "fair", "poor"].map((level) => h("option", { value: level, i18n: `qa.level.${level}` })))),
    field("min_score", "qa.minScore", number({ min: 0, max: 100 })),
    field("max_score", "qa.maxScore", number({ min: 0, max: 100 })),
    field("reviewed", "qa.reviewed", h("select", {},
      h("option", { value: "", i18n: "qa.anyReviewed" }),
      h("option", { value: "true", i18n: "qa.reviewedYes" }),
      h("option", { value: "false", i18n: "qa.reviewedNo" }))),
    h("div", { class: "qa-filters__actions" },
      h("button", { type: "submit", class: "button button--primary", i18n: "qa.apply" }),
      h("button", { type: "button", class: "button", i18n: "qa.reset", onclick: () => {
        location.hash = "#calls";
      } })));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const params = this.formParams();
      location.hash = `#calls?${params}`;
    });
    return form;
  }

  /** The form as query parameters (durations from minutes to seconds), page 1. */
  formParams() {
    const params = new URLSearchParams();
    for (const name of FIELDS) {
      let value = this.inputs[name].value.trim();
      if (!value) continue;
      if (name.endsWith("_duration_s")) value = String(Math.round(Number(value) * 60));
      params.set(name, value);
    }
    return params;
  }

  /** Show the list for these parameters (from the URL). */
  async show(params) {
    this.params = params;
    for (const name of FIELDS) {
      let value = params.get(name) || "";
      if (value && name.endsWith("_duration_s")) value = String(Number(value) / 60);
      this.inputs[name].value = value;
    }
    await this.loadDirectory();
    for (const name of ["agent_id", "group_id"]) this.inputs[name].value = params.get(name) || "";
    await this.load();
  }

  async loadDirectory() {
    if (this.directory) return;
    try {
      this.directory = await this.api.get("/api/directory");
    } catch {
      this.directory = { agents: [], groups: [] };
    }
    this.agentSelect.append(...this.directory.agents.map((a) => h("option", { value: a.id, text: a.name })));
    this.groupSelect.append(...this.directory.groups.map((g) => h("option", { value: g.id, text: g.name })));
  }

  async load() {
    const query = Object.fromEntries(this.params);
    query.per_page = PER_PAGE;
    query.page = query.page || 1;
    replace(this.rows, h("tr", {}, h("td", { colspan: 8, class: "muted", i18n: "common.loading" })));
    try {
      this.result = await this.api.get("/api/recordings", query);
    } catch (error) {
      this.result = null;
      replace(this.rows, h("tr", {}, h("td", { colspan: 8, class: "form-error",
        text: errorMessage(error) })));
      replace(this.pager);
      return;
    }
    this.render();
  }

  render() {
    if (!this.result) return;
    const { items } = this.result;
    replace(this.rows, items.map((item) => this.row(item)));
    if (items.length === 0) {
      this.rows.append(h("tr", {}, h("td", { colspan: 8, class: "muted", i18n: "qa.noCalls" })));
    }
    this.renderPager(this.result);
  }

  row(item) {
    const when = item.started_at;
    return h("tr", { dataset: { id: item.id, callId: item.call_id } },
      h("td", {}, h("time", { datetime: when, text: dateTime(when) })),
      h("td", { text: item.agent_name || "—" }),
      h("td", { text: item.customer_name || "—" }),
      h("td", { text: item.ticket_id ? `#${item.ticket_id}` : "—" }),
      h("td", {}, duration((item.duration_ms || 0) / 1000),
        item.state === "ready" ? null
          : h("span", { class: "qa-rec-state", i18n: `qa.recState.${item.state}` })),
      h("td", {}, qualityBadge(item.worst_quality)),
      h("td", {}, scoreText(item.score, item.reviewed)),
      h("td", {}, h("button", { type: "button", class: "button button--small",
        i18n: "qa.open", i18nArgs: { agent: item.agent_name || "—", when: dateTime(when) },
        i18nAttrs: { "aria-label": "qa.openLabel" },
        onclick: () => this.onOpen(item.id) })));
  }

  renderPager({ page, per_page: perPage, total }) {
    const first = total === 0 ? 0 : (page - 1) * perPage + 1;
    const last = Math.min(total, page * perPage);
    this.status.textContent = "";
    replace(this.pager,
      h("button", { type: "button", class: "button button--small", i18n: "tickets.previous",
        disabled: page <= 1, onclick: () => this.go(page - 1) }),
      h("span", { class: "muted", i18n: "tickets.range", i18nArgs: { first, last, total } }),
      h("button", { type: "button", class: "button button--small", i18n: "tickets.next",
        disabled: last >= total, onclick: () => this.go(page + 1) }));
    this.status.append(this.pager.querySelector("span").textContent);
  }

  go(page) {
    const params = new URLSearchParams(this.params);
    params.set("page", String(page));
    location.hash = `#calls?${params}`;
  }
}
