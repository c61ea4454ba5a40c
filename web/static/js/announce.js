// Live regions that exist from the start (one added together with its text is often not
// read out): say() for news, urgent for what needs attention now (an incoming call). Neither
// moves the focus. Used by the widget (inside its shadow root) and the console.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const SETTLE_MS = 120;

export class Announcer {
  /** @param {Element} parent  where the (visually hidden) regions live */
  constructor(parent) {
    const region = (live) => h("div", { class: "la-visually-hidden", "aria-live": live,
      "aria-atomic": "true", dataset: { announcer: live } });
    this.polite = region("polite");
    this.urgent = region("assertive");
    parent.append(this.polite, this.urgent);
  }

  /** Read out `key` (with `args`) in the interface language. */
  say(key, args = null, { urgent = false } = {}) {
    const el = urgent ? this.urgent : this.polite;
    el.textContent = "";
    // Emptied first and filled a moment later, so the same words twice are read twice.
    setTimeout(() => {
      el.textContent = t(key, args);
    }, SETTLE_MS);
  }
}
