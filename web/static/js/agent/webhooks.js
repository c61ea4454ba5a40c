// Webhooks, a section of the admin's Settings: the endpoints LiveAssist posts signed events to
// (add, edit, enable/disable, delete — in a dialog), the secret shown once after it is made,
// and the dead letters (deliveries that failed until their maximum age) with a Redeliver
// button each. REST: /api/webhooks (docs/protocol.md §10).
//
// Test hooks: #settings-webhooks, #webhook-add, .webhook[data-id] with .webhook__edit and
// .webhook__delete, #webhook-url, #webhook-description, input[name=webhook-type][value=…],
// #webhook-enabled, #webhook-secret-input, #webhook-secret (the one-time secret),
// #webhooks-status, .dead-letter[data-id] with .dead-letter__redeliver, #webhooks-refresh.

import "../webhookstrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { openDialog } from "./dialog.js";

export class WebhooksSection {
  constructor({ api }) {
    this.api = api;
    this.types = [];
    this.endpoints = [];
    this.status = h("p", { id: "webhooks-status", class: "form-note", role: "status" });
    this.notice = h("div", { class: "webhook-notice" });
    this.list = h("ul", { class: "webhook-list", "aria-labelledby": "settings-hooks-title" });
    this.dead = h("ul", { class: "dead-list", "aria-labelledby": "settings-dead-title" });
    this.secretBox = h("div", { class: "webhook-secret", hidden: true });
    this.el = h("section", { class: "settings-section", id: "settings-webhooks",
      "aria-labelledby": "settings-hooks-title" },
    h("div", { class: "settings-section__head" },
      h("h3", { id: "settings-hooks-title", i18n: "hooks.title" }),
      h("button", { type: "button", class: "button button--small button--primary",
        id: "webhook-add", i18n: "hooks.add", onclick: () => this.edit(null) })),
    h("p", { class: "muted", i18n: "hooks.intro" }),
    this.notice,
    this.secretBox,
    this.list,
    this.status,
    h("div", { class: "settings-section__head dead-head" },
      h("h4", { id: "settings-dead-title", i18n: "hooks.dead.title" }),
      h("button", { type: "button", class: "button button--small", id: "webhooks-refresh",
        i18n: "hooks.refresh", onclick: () => this.load() })),
    h("p", { class: "muted", i18n: "hooks.dead.intro" }),
    this.dead);
  }

  async load() {
    let listed;
    let dead;
    try {
      [listed, dead] = await Promise.all([
        this.api.get("/api/webhooks"),
        this.api.get("/api/webhooks/deliveries", { state: "dead", per_page: 50 }),
      ]);
    } catch (error) {
      replace(this.list, h("li", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    this.types = listed.event_types;
    this.endpoints = listed.items;
    replace(this.notice, listed.hosts_allowed ? null
      : h("p", { class: "webhook-notice__text", i18n: "hooks.noHosts" }));
    this.showEndpoints();
    this.showDead(dead.items);
  }

  showEndpoints() {
    replace(this.list, this.endpoints.map((hook) => h("li", { class: "webhook",
      dataset: { id: hook.id } },
    h("div", { class: "webhook__main" },
      h("span", { class: "webhook__url", id: `webhook-url-${hook.id}`, text: hook.url }),
      hook.description ? h("span", { class: "muted", text: hook.description }) : null,
      h("span", { class: "webhook__facts" },
        h("span", { class: ["badge", hook.enabled ? "badge--ok" : ""],
          i18n: hook.enabled ? "hooks.enabled" : "hooks.disabled" }),
        hook.pending ? h("span", { class: "badge", i18n: "hooks.pendingN",
          i18nArgs: { n: hook.pending } }) : null,
        hook.dead ? h("span", { class: "badge badge--bad", i18n: "hooks.deadN",
          i18nArgs: { n: hook.dead } }) : null,
        h("span", { class: "muted", i18n: "hooks.secretHint",
          i18nArgs: { hint: hook.secret_hint } })),
      h("span", { class: "webhook__types muted", text: hook.event_types.join(", ") })),
    h("div", { class: "webhook__actions" },
      // each button names the endpoint it acts on, for screen readers
      h("button", { type: "button", class: "button button--small webhook__edit",
        i18n: "hooks.edit", "aria-describedby": `webhook-url-${hook.id}`,
        onclick: () => this.edit(hook) }),
      h("button", { type: "button",
        class: "button button--small button--danger-quiet webhook__delete",
        i18n: "hooks.delete", "aria-describedby": `webhook-url-${hook.id}`,
        onclick: () => this.remove(hook) })))));
    if (this.endpoints.length === 0) {
      this.list.append(h("li", { class: "muted", i18n: "hooks.none" }));
    }
  }

  showDead(items) {
    const urls = new Map(this.endpoints.map((e) => [e.id, e.url]));
    replace(this.dead, items.map((letter) => h("li", { class: "dead-letter",
      dataset: { id: letter.id } },
    h("div", { class: "dead-letter__main" },
      h("span", {},
        h("strong", { id: `dead-letter-type-${letter.id}`, text: letter.event_type }), " ",
        h("span", { class: "muted", text: urls.get(letter.endpoint_id) || "" })),
      h("span", { class: "muted", i18n: "hooks.dead.facts", i18nArgs: {
        attempts: letter.attempts,
        time: { format: "clock", value: letter.last_attempt_at || letter.created_at } } }),
      letter.last_error ? h("span", { class: "dead-letter__error", text: letter.last_error }) : null,
      h("code", { class: "dead-letter__id", id: `dead-letter-${letter.id}`,
        text: letter.event_id })),
    h("button", { type: "button", class: "button button--small dead-letter__redeliver",
      i18n: "hooks.redeliver",
      "aria-describedby": `dead-letter-type-${letter.id} dead-letter-${letter.id}`,
      onclick: (event) => this.redeliver(letter, event.currentTarget) }))));
    if (items.length === 0) this.dead.append(h("li", { class: "muted", i18n: "hooks.dead.none" }));
  }

  say(key, args = null, error = null) {
    this.status.classList.toggle("form-note--error", Boolean(error));
    if (key) setText(this.status, key, args);
    else {
      delete this.status.dataset.i18n;
      this.status.textContent = error;
    }
  }

  edit(hook) {
    const isNew = hook === null;
    const chosen = new Set(isNew ? this.types : hook.event_types);
    const url = h("input", { id: "webhook-url", name: "url", type: "url", required: true,
      maxlength: 2000, autocomplete: "off", value: isNew ? "" : hook.url,
      placeholder: "https://crm.example.com/liveassist" });
    const description = h("input", { id: "webhook-description", name: "description",
      maxlength: 200, value: isNew ? "" : hook.description });
    const enabled = h("input", { id: "webhook-enabled", type: "checkbox",
      checked: isNew ? true : hook.enabled });
    const secret = h("input", { id: "webhook-secret-input", name: "secret", type: "password",
      minlength: 16, maxlength: 200, autocomplete: "new-password",
      "aria-describedby": "webhook-secret-help" });
    const boxes = this.types.map((type) => h("input", { type: "checkbox", name: "webhook-type",
      id: `webhook-type-${type.replace(".", "-")}`, value: type, checked: chosen.has(type) }));
    const body = [
      h("div", { class: "field" },
        h("label", { for: "webhook-url", i18n: "hooks.url" }), url),
      h("div", { class: "field" },
        h("label", { for: "webhook-description", i18n: "hooks.description" }), description),
      h("fieldset", { class: "webhook-types" },
        h("legend", { i18n: "hooks.types" }),
        this.types.map((type, index) => h("span", { class: "field--inline" }, boxes[index],
          h("label", { for: boxes[index].id, text: type })))),
      h("div", { class: "field--inline" }, enabled,
        h("label", { for: "webhook-enabled", i18n: "hooks.enabledLabel" })),
      h("div", { class: "field" },
        h("label", { for: "webhook-secret-input", i18n: isNew ? "hooks.secret" : "hooks.newSecret" }),
        secret,
        h("p", { id: "webhook-secret-help", class: "muted webhook-help",
          i18n: isNew ? "hooks.secretHelp" : "hooks.newSecretHelp",
          i18nArgs: isNew ? null : { hint: hook.secret_hint } })),
    ];
    let saved = null; // the endpoint's id once saved
    const dialog = openDialog({
      titleKey: isNew ? "hooks.addTitle" : "hooks.editTitle",
      confirmKey: isNew ? "hooks.create" : "common.save",
      body,
      onConfirm: async () => {
        const types = boxes.filter((box) => box.checked).map((box) => box.value);
        const json = { url: url.value.trim(), event_types: types, enabled: enabled.checked,
          description: description.value };
        if (secret.value) json.secret = secret.value;
        if (isNew) {
          const made = await this.api.post("/api/webhooks", json);
          saved = made.id;
          this.showSecret(made);
          this.say("hooks.created", { url: made.url });
        } else {
          await this.api.patch(`/api/webhooks/${hook.id}`, json);
          saved = hook.id;
          this.say("hooks.saved", { url: json.url });
        }
        await this.load();
      },
    });
    // The list was drawn again: the focus goes to the new secret (to copy it) or back to
    // the endpoint's own Edit button, never to the page.
    dialog.addEventListener("close", () => {
      if (saved === null) return;
      const target = isNew ? document.getElementById("webhook-secret")
        : this.list.querySelector(`.webhook[data-id="${saved}"] .webhook__edit`);
      target?.focus();
    });
    url.focus();
  }

  showSecret(made) {
    const value = h("input", { id: "webhook-secret", readonly: true, value: made.secret,
      "aria-describedby": "webhook-secret-once" });
    replace(this.secretBox,
      h("label", { for: "webhook-secret", i18n: "hooks.secretFor", i18nArgs: { url: made.url } }),
      h("div", { class: "webhook-secret__row" }, value,
        h("button", { type: "button", class: "button button--small", i18n: "hooks.copy",
          onclick: async () => {
            value.select();
            try {
              await navigator.clipboard.writeText(made.secret);
              this.say("hooks.copied");
            } catch {
              this.say("hooks.copyByHand");
            }
          } }),
        h("button", { type: "button", class: "button button--small button--quiet",
          i18n: "hooks.secretDone", onclick: () => {
            replace(this.secretBox);
            this.secretBox.hidden = true;
            document.getElementById("webhook-add")?.focus();
          } })),
      h("p", { id: "webhook-secret-once", class: "muted", i18n: "hooks.secretOnce" }));
    this.secretBox.hidden = false;
  }

  remove(hook) {
    let deleted = false;
    const dialog = openDialog({
      titleKey: "hooks.deleteTitle",
      confirmKey: "hooks.delete",
      tone: "danger",
      body: [h("p", { i18n: "hooks.deleteSure", i18nArgs: { url: hook.url } }),
        hook.pending || hook.dead
          ? h("p", { class: "muted", i18n: "hooks.deleteDrops",
            i18nArgs: { n: hook.pending + hook.dead } }) : null],
      onConfirm: async () => {
        await this.api.request("DELETE", `/api/webhooks/${hook.id}`);
        deleted = true;
        this.say("hooks.deleted", { url: hook.url });
        await this.load();
      },
    });
    // Its Delete button is gone with it: the focus goes to Add endpoint, not the page.
    dialog.addEventListener("close", () => {
      if (deleted) document.getElementById("webhook-add")?.focus();
    });
  }

  async redeliver(letter, button) {
    button.disabled = true;
    try {
      await this.api.post(`/api/webhooks/deliveries/${letter.id}/redeliver`, {});
      this.say("hooks.redelivered", { type: letter.event_type });
      await this.load();
      document.getElementById("webhooks-refresh")?.focus();
    } catch (error) {
      button.disabled = false;
      this.say(null, null, errorMessage(error));
    }
  }
}
