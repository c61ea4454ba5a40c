// The KPI dashboard, for admins in the console: live tiles and tables (queue per topic and
// language, agents by presence and load, calls in progress) from GET /api/kpis/live, refreshed
// every 15 s while shown; and for a chosen period (From/To dates, UTC, To inclusive) the
// totals, two bar charts (inline SVG, each with its table) and tables per agent, group and
// topic from GET /api/kpis/period, with the same figures as CSV (GET /api/kpis/period.csv).
//
// Test hooks: #dash-from, #dash-to, #dash-show, #dash-csv, [data-tile=waiting|online|…],
// table[data-table=agents|groups|topics] > tbody > tr[data-key] > td[data-figure=<field>],
// #dash-totals [data-figure=<field>].

import "../dashboardstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { duration } from "../format.js";
import { barChart } from "./barchart.js";

const LIVE_EVERY_MS = 15_000;
const DAY_MS = 86_400_000;
const MAX_DAYS = 366;

const DASH = "—";
const seconds = (v) => (v === null || v === undefined ? DASH : duration(Math.round(v)));
const percent = (v) => (v === null || v === undefined ? DASH : `${Math.round(v * 100)}%`);
const fixed = (digits) => (v) => (v === null || v === undefined ? DASH : v.toFixed(digits));
const count = (v) => String(v ?? 0);

// The figures in the tables and totals, in order: field, heading, how it is written.
const FIGURES = [
  ["chats", "dash.chats", count],
  ["first_response_avg_s", "dash.frt", seconds],
  ["first_response_median_s", "dash.frtMedian", seconds],
  ["first_response_p90_s", "dash.frtP90", seconds],
  ["wait_avg_s", "dash.wait", seconds],
  ["handle_avg_s", "dash.handle", seconds],
  ["resolution_rate", "dash.resolution", percent],
  ["escalations", "dash.escalations", count],
  ["csat_avg", "dash.csat", fixed(1)],
  ["csat_response_rate", "dash.csatRate", percent],
  ["self_served", "dash.selfServed", count],
  ["calls", "dash.calls", count],
  ["call_avg_length_s", "dash.callLength", seconds],
  ["missed_share", "dash.missed", percent],
  ["mos_avg", "dash.mos", fixed(2)],
  ["qa_score_avg", "dash.qa", fixed(1)],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export class DashboardView {
  constructor({ api }) {
    this.api = api;
    this.timer = null;
    this.period = null; // {start, days} last shown
    const today = new Date();
    this.from = h("input", { type: "date", id: "dash-from", required: true,
      value: isoDay(new Date(today.getTime() - 6 * DAY_MS)) });
    this.to = h("input", { type: "date", id: "dash-to", required: true, value: isoDay(today) });
    this.note = h("p", { id: "dash-period-note", class: "dash-note", role: "status" });
    this.csv = h("button", { type: "button", id: "dash-csv", class: "button",
      i18n: "dash.csv", onclick: () => this.downloadCsv() });
    this.tiles = h("div", { class: "dash-tiles", "aria-live": "polite" });
    this.liveTables = h("div", { class: "dash-live-tables" });
    this.liveNote = h("p", { class: "muted dash-updated" });
    this.results = h("div", { class: "dash-results" });
    this.el = h("div", { class: "dashboard-view" },
      h("h2", { id: "dashboard-title", tabindex: -1, i18n: "dash.title" }),
      h("p", { class: "muted", i18n: "dash.intro" }),
      h("section", { class: "dash-section", "aria-labelledby": "dash-live-title" },
        h("div", { class: "settings-section__head" },
          h("h3", { id: "dash-live-title", i18n: "dash.live" }),
          h("button", { type: "button", id: "dash-refresh", class: "button button--small",
            i18n: "dash.refresh", onclick: () => this.loadLive() })),
        this.tiles, this.liveNote, this.liveTables),
      h("section", { class: "dash-section", "aria-labelledby": "dash-period-title" },
        h("h3", { id: "dash-period-title", i18n: "dash.period" }),
        h("form", { class: "dash-period", novalidate: true, onsubmit: (event) => {
          event.preventDefault();
          this.loadPeriod();
        } },
        h("div", { class: "field" }, h("label", { for: "dash-from", i18n: "dash.from" }), this.from),
        h("div", { class: "field" }, h("label", { for: "dash-to", i18n: "dash.to" }), this.to),
        h("div", { class: "dash-period__actions" },
          h("button", { type: "submit", id: "dash-show", class: "button button--primary",
            i18n: "dash.show" }),
          this.csv)),
        this.note, this.results));
  }

  /** The view is shown: load both parts and keep the live one fresh. */
  load() {
    this.loadLive();
    this.loadPeriod();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.el.isConnected && !this.el.closest("[hidden]")) this.loadLive();
      else this.stop();
    }, LIVE_EVERY_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }

  // ---- live ------------------------------------------------------------------------------

  async loadLive() {
    let live;
    try {
      live = await this.api.get("/api/kpis/live");
    } catch (error) {
      replace(this.tiles, h("p", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    const waiting = live.queue.reduce((sum, row) => sum + row.waiting, 0);
    const tile = (name, labelKey, value) => h("div", { class: "dash-tile", dataset: { tile: name } },
      h("span", { class: "dash-tile__label", i18n: labelKey }),
      h("span", { class: "dash-tile__value" }, value));
    replace(this.tiles,
      tile("waiting", "dash.waiting", String(waiting)),
      tile("online", "dash.online", String(live.presence.online)),
      tile("busy-away", "dash.busyAway", `${live.presence.busy} / ${live.presence.away}`),
      tile("calls", "dash.callsNow", h("span", { i18n: "dash.callsNowValue",
        i18nArgs: { active: live.calls.active, ringing: live.calls.ringing } })));
    setText(this.liveNote, "dash.updatedAt", { time: { format: "clock", value: live.at } });
    const queue = live.queue.length
      ? table("queue", "dash.queue", ["dash.topic", "dash.language", "dash.waitingN", "dash.longest"],
        live.queue.map((row) => h("tr", { dataset: { key: `${row.topic}/${row.language}` } },
          h("td", { i18n: `topic.${row.topic}`, i18nArgs: { _: row.topic } }),
          h("td", { format: ["language", row.language] }),
          h("td", { dataset: { figure: "waiting" } }, String(row.waiting)),
          h("td", { dataset: { figure: "longest_wait_s" } }, seconds(row.longest_wait_s)))))
      : h("p", { class: "muted", i18n: "dash.queueEmpty" });
    const agents = table("live-agents", "dash.agents", ["dash.agent", "dash.status", "dash.load"],
      live.agents.map((agent) => h("tr", { dataset: { key: String(agent.id) } },
        h("td", { text: agent.name }),
        h("td", { dataset: { figure: "status" } },
          h("span", { class: `presence-dot presence-dot--${agent.status}`, "aria-hidden": "true" }),
          h("span", { i18n: `presence.${agent.status}` })),
        h("td", { dataset: { figure: "load" }, i18n: "dash.loadValue",
          i18nArgs: { load: agent.load, max: agent.max_chats } }))));
    replace(this.liveTables, queue, agents);
  }

  // ---- period ----------------------------------------------------------------------------

  /** {start, days} from the two dates, or null (and a message) when they make no period. */
  chosenPeriod() {
    const from = Date.parse(`${this.from.value}T00:00:00Z`);
    const to = Date.parse(`${this.to.value}T00:00:00Z`);
    const days = Math.round((to - from) / DAY_MS) + 1;
    if (Number.isNaN(from) || Number.isNaN(to) || days < 1 || days > MAX_DAYS) {
      this.note.classList.add("dash-note--error");
      setText(this.note, "dash.badPeriod");
      this.from.setAttribute("aria-invalid", "true");
      return null;
    }
    this.from.removeAttribute("aria-invalid");
    this.note.classList.remove("dash-note--error");
    return { start: `${this.from.value}T00:00:00Z`, days };
  }

  async loadPeriod() {
    const period = this.chosenPeriod();
    if (!period) return;
    let body;
    try {
      body = await this.api.get("/api/kpis/period", period);
    } catch (error) {
      this.note.classList.add("dash-note--error");
      delete this.note.dataset.i18n;
      this.note.textContent = errorMessage(error);
      return;
    }
    this.period = period;
    setText(this.note, "dash.periodShown", { from: this.from.value, to: this.to.value });
    this.showPeriod(body);
  }

  showPeriod(body) {
    const empty = body.totals.chats === 0 && body.totals.calls === 0;
    const totals = h("dl", { id: "dash-totals", class: "dash-totals" },
      FIGURES.map(([field, key, write]) => h("div", { class: "dash-total" },
        h("dt", { i18n: key }),
        h("dd", { dataset: { figure: field } }, write(body.totals[field])))));
    const agentName = (row) => (row.agent_id === null
      ? h("span", { i18n: "dash.unassigned" }) : h("span", { text: row.name }));
    const groupName = (row) => (row.group_id === null
      ? h("span", { i18n: "dash.noGroup" }) : h("span", { text: row.name }));
    const topicName = (row) => h("span", { i18n: `topic.${row.topic}`, i18nArgs: { _: row.topic } });
    const assigned = body.agents.filter((row) => row.agent_id !== null);
    const frtChart = chart("frt", "dash.chartFrt", assigned.map((row) => ({
      label: row.name, value: row.first_response_avg_s, text: seconds(row.first_response_avg_s),
    })));
    const chatsChart = chart("chats", "dash.chartChats", body.topics.map((row) => ({
      label: row.topic, i18n: { key: `topic.${row.topic}`, args: { _: row.topic } },
      value: row.chats, text: String(row.chats),
    })));
    replace(this.results,
      h("h4", { i18n: "dash.totals" }), totals,
      empty ? h("p", { class: "muted", i18n: "dash.none" }) : null,
      h("div", { class: "dash-charts" }, frtChart, chatsChart),
      figuresTable("agents", "dash.byAgent", "dash.agent", body.agents,
        (row) => String(row.agent_id ?? "none"), agentName),
      figuresTable("groups", "dash.byGroup", "dash.group", body.groups,
        (row) => String(row.group_id ?? "none"), groupName),
      figuresTable("topics", "dash.byTopic", "dash.topic", body.topics,
        (row) => String(row.topic), topicName));
  }

  async downloadCsv() {
    const period = this.chosenPeriod();
    if (!period) return;
    const query = new URLSearchParams({ start: period.start, days: String(period.days) });
    try {
      const blob = await this.api.blob(`/api/kpis/period.csv?${query}`);
      const link = h("a", { href: URL.createObjectURL(blob),
        download: `kpis-${this.from.value}-${this.to.value}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (error) {
      this.note.classList.add("dash-note--error");
      delete this.note.dataset.i18n;
      this.note.textContent = errorMessage(error);
    }
  }
}

/** A table in a region that scrolls sideways on narrow screens (reachable by keyboard). */
function table(name, titleKey, headKeys, rows) {
  const id = `dash-${name}-title`;
  return h("div", { class: "dash-table" },
    h("h4", { id, i18n: titleKey }),
    h("div", { class: "dash-scroll", tabindex: 0, role: "region", "aria-labelledby": id },
      h("table", { class: "table", dataset: { table: name } },
        h("thead", {}, h("tr", {}, headKeys.map((key) => h("th", { scope: "col", i18n: key })))),
        h("tbody", {}, rows))));
}

function figuresTable(name, titleKey, firstKey, rows, keyOf, nameOf) {
  return table(name, titleKey, [firstKey, ...FIGURES.map(([, key]) => key)],
    rows.map((row) => h("tr", { dataset: { key: keyOf(row) } },
      h("th", { scope: "row" }, nameOf(row)),
      FIGURES.map(([field, , write]) => h("td", { dataset: { figure: field } }, write(row[field]))))));
}

/** A bar chart (an image with a name) and, under it, the same figures as a table. */
function chart(name, titleKey, rows) {
  const id = `dash-chart-${name}`;
  const figure = h("figure", { class: "dash-chart", dataset: { chart: name } },
    h("figcaption", { id, i18n: titleKey }));
  figure.append(barChart(rows, titleKey));
  figure.append(h("details", {},
    h("summary", { i18n: "dash.asTable" }),
    h("table", { class: "table", "aria-labelledby": id },
      h("tbody", {}, rows.map((row) => h("tr", {},
        row.i18n ? h("th", { scope: "row", i18n: row.i18n.key, i18nArgs: row.i18n.args })
          : h("th", { scope: "row", text: row.label }),
        h("td", { text: row.text })))))));
  return figure;
}
