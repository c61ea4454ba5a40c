// Settings, for admins in the console: the organisation's call recording policy (always, on
// request, never — each said in a sentence) saved with PATCH /api/recording-policy, and the
// state of the recordings storage from /healthz (folder writable, free space, processing,
// failures), so an admin sees why recordings would fail before a call does; and the
// organisation's knowledge base and bot (./kbsettings.js) and webhooks (./webhooks.js).
//
// Test hooks: input[name=recording-policy][value=…], #settings-save, #settings-status,
// .recordings-health[data-ok=true|false] with dd[data-health=writable|free|…].

import "../recordingstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { fileSize } from "../format.js";
import { KnowledgeSection } from "./kbsettings.js";
import { WebhooksSection } from "./webhooks.js";

const POLICIES = ["always", "on_request", "never"];

export class SettingsView {
  constructor({ api }) {
    this.api = api;
    this.saved = null; // the policy the server has
    this.radios = POLICIES.map((policy) => h("input", { type: "radio", name: "recording-policy",
      id: `policy-${policy}`, value: policy, "aria-describedby": `policy-${policy}-help` }));
    this.status = h("p", { id: "settings-status", class: "form-note", role: "status" });
    this.form = h("form", { class: "settings-form", novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        this.save();
      } },
    h("fieldset", { class: "policy-choices" },
      h("legend", { i18n: "settings.rec.policy" }),
      POLICIES.map((policy, index) => h("div", { class: "policy-choice" },
        this.radios[index],
        h("div", {},
          h("label", { for: `policy-${policy}`, i18n: `settings.rec.${policy}` }),
          h("p", { id: `policy-${policy}-help`, class: "muted policy-choice__help",
            i18n: `settings.rec.${policy}.help` }))))),
    h("p", { class: "muted", i18n: "settings.rec.next" }),
    h("div", { class: "form-actions" }, this.status,
      h("button", { type: "submit", id: "settings-save", class: "button button--primary",
        i18n: "common.save" })));
    this.health = h("div", { class: "recordings-health", "aria-live": "polite" });
    this.webhooks = new WebhooksSection({ api });
    this.knowledge = new KnowledgeSection({ api });
    this.el = h("div", { class: "settings-view" },
      h("h2", { id: "settings-title", tabindex: -1, i18n: "settings.title" }),
      h("p", { class: "muted", i18n: "settings.intro" }),
      h("section", { class: "settings-section", "aria-labelledby": "settings-rec-title" },
        h("h3", { id: "settings-rec-title", i18n: "settings.rec.title" }), this.form),
      h("section", { class: "settings-section", "aria-labelledby": "settings-health-title" },
        h("div", { class: "settings-section__head" },
          h("h3", { id: "settings-health-title", i18n: "settings.health.title" }),
          h("button", { type: "button", class: "button button--small", id: "settings-health-check",
            i18n: "settings.health.check", onclick: () => this.loadHealth() })),
        this.health),
      this.knowledge.el,
      this.webhooks.el);
  }

  async load() {
    this.loadHealth();
    this.webhooks.load();
    this.knowledge.load();
    try {
      const { recording_policy: policy } = await this.api.get("/api/recording-policy");
      this.saved = policy;
      for (const radio of this.radios) radio.checked = radio.value === policy;
    } catch (error) {
      this.say(null, errorMessage(error));
    }
  }

  async save() {
    const chosen = this.radios.find((radio) => radio.checked);
    if (!chosen) return;
    try {
      const { recording_policy: policy } = await this.api.patch("/api/recording-policy",
        { recording_policy: chosen.value });
      this.saved = policy;
      this.say("settings.rec.saved", null, { policy: { key: `settings.rec.${policy}` } });
    } catch (error) {
      this.say(null, errorMessage(error));
    }
  }

  say(key, text, args = null) {
    this.status.classList.toggle("form-note--error", !key);
    if (key) setText(this.status, key, args);
    else {
      delete this.status.dataset.i18n;
      this.status.textContent = text;
    }
  }

  /** /healthz answers 503 with the same body when a component is not ok: read it either way. */
  async loadHealth() {
    let recordings;
    try {
      const response = await this.api.fetch("GET", "/healthz", {});
      const body = await response.json();
      recordings = body.components.recordings;
    } catch (error) {
      replace(this.health, h("p", { class: "form-error", i18n: "settings.health.error",
        i18nArgs: { error: errorMessage(error) } }));
      return;
    }
    this.showHealth(recordings);
  }

  showHealth(rec) {
    const ok = Boolean(rec.ok);
    this.health.dataset.ok = String(ok);
    const row = (name, labelKey, value) => [
      h("dt", { i18n: labelKey }), h("dd", { dataset: { health: name } }, value)];
    const word = (key) => h("span", { i18n: key });
    const jobs = rec.jobs || {};
    replace(this.health,
      h("p", { class: ["health-state", ok ? "health-state--ok" : "health-state--bad"] },
        h("span", { class: "health-state__dot", "aria-hidden": "true" }),
        h("span", { i18n: ok ? "settings.health.ok" : "settings.health.bad" })),
      rec.error ? h("p", { class: "form-error", text: rec.error }) : null,
      "writable" in rec ? h("dl", { class: "health-list" },
        row("writable", "settings.health.writable",
          word(rec.writable ? "settings.health.writableYes" : "settings.health.writableNo")),
        row("free", "settings.health.free", h("span", { i18n: "settings.health.freeValue",
          i18nArgs: { free: fileSize(rec.free_bytes), min: fileSize(rec.min_free_bytes) } })),
        row("encrypted", "settings.health.encrypted",
          word(rec.encrypted ? "settings.health.yes" : "settings.health.no")),
        row("jobs", "settings.health.jobs", h("span", { i18n: "settings.health.jobsValue",
          i18nArgs: { queued: jobs.queued ?? 0, running: jobs.running ?? 0,
            failed: jobs.failed ?? 0 } })),
        row("failures", "settings.health.failures", String(rec.failed_last_24h ?? 0))) : null,
      h("p", { class: "muted", i18n: "settings.health.checkedAt",
        i18nArgs: { time: { format: "clock", value: new Date().toISOString() } } }));
  }
}
