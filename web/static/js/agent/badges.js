// Small labelled pills used across the console: ticket status, priority, presence.

import { h } from "../dom.js";

export function statusBadge(status) {
  return h("span", { class: ["status", `status--${status}`], i18n: `status.${status}` });
}

export function priorityBadge(priority) {
  return h("span", { class: ["priority", `priority--${priority}`], i18n: `priority.${priority}` });
}

export function presenceDot(status) {
  return h("span", { class: ["presence-dot", `presence-dot--${status}`], "aria-hidden": "true" });
}
