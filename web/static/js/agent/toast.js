// Short notices in the corner ("Chat with Carla was transferred"), read out by screen readers.

import { h } from "../dom.js";

const SHOWN_MS = 6000;
let region = null;

export function toast(key, args = null, { tone = "info", text = null } = {}) {
  if (!region) {
    region = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = text
    ? h("div", { class: ["toast", `toast--${tone}`], text })
    : h("div", { class: ["toast", `toast--${tone}`], i18n: key, i18nArgs: args });
  region.append(item);
  setTimeout(() => item.remove(), SHOWN_MS);
}
