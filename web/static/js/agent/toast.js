// Short notices in the corner ("Chat with Carla was transferred"), read out by screen readers.

import { h } from "../dom.js";

const SHOWN_MS = 6000;
let region = null;

/** The toasts' live region, in the page from the start (one added with its first toast is
 * often not read out). */
export function ensureToasts() {
  if (!region) {
    region = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  return region;
}

export function toast(key, args = null, { tone = "info", text = null } = {}) {
  ensureToasts();
  const item = text
    ? h("div", { class: ["toast", `toast--${tone}`], text })
    : h("div", { class: ["toast", `toast--${tone}`], i18n: key, i18nArgs: args });
  region.append(item);
  setTimeout(() => item.remove(), SHOWN_MS);
}
