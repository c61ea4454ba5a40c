// One evidence timeline under the player: an overview strip (every entry as a mark, paused
// spans shaded, the playhead), the quality graph, and the list of entries. Clicking an entry,
// a mark or a point of the graph seeks the player; the entry at the player's position is
// highlighted (aria-current) and kept in view unless the reviewer is reading elsewhere.
//
// The list is one tab stop: ↑/↓ move between entries, Home/End to the first/last, Enter or
// Space seeks (the entries are buttons).

import { h, replace, setText } from "../dom.js";
import { Emitter } from "../emitter.js";
import { KINDS, mediaTime } from "./evidence.js";
import { QualityGraph } from "./qualitygraph.js";

export class EvidenceTimeline extends Emitter {
  constructor({ duration, pausedSpans }) {
    super();
    this.duration = Math.max(1, duration);
    this.pausedSpans = pausedSpans || [];
    this.entries = [];
    this.shown = [];
    this.hiddenKinds = new Set();
    this.currentIndex = -1;
    this.focusIndex = 0;
    this.reading = false; // the pointer or the focus is in the list: do not scroll it
    this.head = h("div", { class: "qa-overview__head" });
    this.marks = h("div", { class: "qa-overview__marks" });
    this.overview = h("div", { class: "qa-overview", "aria-hidden": "true" },
      this.pausedSpans.map((span) => h("div", { class: "qa-overview__paused", style: {
        left: pct(span.from_ms, this.duration), width: pct(span.to_ms - span.from_ms, this.duration),
      } })),
      this.marks, this.head);
    this.overview.addEventListener("click", (event) => {
      const box = this.overview.getBoundingClientRect();
      this.emit("seek", ((event.clientX - box.left) / box.width) * this.duration);
    });
    this.graph = new QualityGraph({ duration: this.duration });
    this.graph.on("seek", (ms) => this.emit("seek", ms));
    this.list = h("ol", { class: "qa-timeline__list", i18nAttrs: { "aria-label": "qa.entries" } });
    this.list.addEventListener("keydown", (event) => this.onKey(event));
    for (const [type, on] of [["pointerenter", true], ["pointerleave", false], ["focusin", true],
      ["focusout", false]]) {
      this.list.addEventListener(type, () => {
        this.reading = on;
      });
    }
    this.count = h("p", { class: "muted qa-timeline__count" });
    this.el = h("section", { class: "qa-timeline", "aria-labelledby": "qa-timeline-title" },
      h("div", { class: "qa-timeline__header" },
        h("h3", { id: "qa-timeline-title", i18n: "qa.timeline" }),
        this.filters(), this.count),
      this.overview, this.graph.el, this.list);
  }

  filters() {
    return h("fieldset", { class: "qa-kinds" },
      h("legend", { class: "visually-hidden", i18n: "qa.show" }),
      KINDS.map((kind) => {
        const id = `qa-kind-${kind}`;
        const box = h("input", { type: "checkbox", id, checked: true, onchange: () => {
          if (box.checked) this.hiddenKinds.delete(kind);
          else this.hiddenKinds.add(kind);
          this.render();
        } });
        return h("span", { class: ["qa-kind", `qa-kind--${kind}`] }, box,
          h("label", { for: id, i18n: `qa.kinds.${kind}` }));
      }));
  }

  /** Replace the entries (already in media-time order). */
  setEntries(entries) {
    this.entries = entries;
    this.render();
  }

  setQuality(samples) {
    this.graph.setSamples(samples);
  }

  render() {
    this.shown = this.entries.filter((entry) => !this.hiddenKinds.has(entry.kind));
    replace(this.marks, this.shown.map((entry) => h("span", {
      class: ["qa-overview__mark", `qa-overview__mark--${entry.kind}`],
      style: { left: pct(entry.at_ms, this.duration) },
    })));
    replace(this.list, this.shown.map((entry, index) => this.item(entry, index)));
    if (this.shown.length === 0) this.list.append(h("li", { class: "muted", i18n: "qa.noEntries" }));
    setText(this.count, "qa.entryCount", { n: this.shown.length });
    this.currentIndex = -1;
    this.focusIndex = Math.min(this.focusIndex, Math.max(0, this.shown.length - 1));
    this.roving();
  }

  item(entry, index) {
    const text = entry.text !== undefined && entry.text !== null
      ? h("span", { class: "qa-item__text", text: entry.text }) : null;
    const label = entry.label
      ? h("span", { class: "qa-item__label", i18n: entry.label.key, i18nArgs: entry.label.args || {} })
      : null;
    const who = entry.who
      ? h("span", { class: "qa-item__who", text: entry.who })
      : entry.whoLabel ? h("span", { class: "qa-item__who", i18n: entry.whoLabel.key }) : null;
    const detail = (entry.detail || []).map((part) =>
      h("span", { class: "qa-item__detail", i18n: part.key, i18nArgs: part.args }));
    const button = h("button", { type: "button", class: "qa-item__button", tabindex: -1,
      dataset: { index }, onclick: () => {
        this.focusIndex = index;
        this.roving();
        this.emit("seek", entry.at_ms);
      } },
    h("time", { class: "qa-item__time", text: mediaTime(entry.at_ms) }),
    h("span", { class: "qa-item__kind", i18n: `qa.kind.${entry.kind}` }),
    h("span", { class: "qa-item__body" }, who, entry.note ? h("span", { class: "qa-item__note",
      i18n: "msg.internalNote" }) : null, label, text, detail));
    return h("li", { class: ["qa-item", `qa-item--${entry.kind}`],
      dataset: { at: entry.at_ms, kind: entry.kind, key: entry.key } }, button);
  }

  /** Follow the player: playhead, graph, current entry. */
  update(position) {
    this.head.style.left = pct(position, this.duration);
    this.graph.update(position);
    const index = lastAtOrBefore(this.shown, position);
    if (index === this.currentIndex) return;
    const buttons = this.list.querySelectorAll(".qa-item__button");
    const old = buttons[this.currentIndex];
    if (old) {
      old.removeAttribute("aria-current");
      old.parentElement.classList.remove("is-current");
    }
    this.currentIndex = index;
    const now = buttons[index];
    if (!now) return;
    now.setAttribute("aria-current", "true");
    now.parentElement.classList.add("is-current");
    if (!this.reading) {
      this.focusIndex = index;
      this.roving();
      keepInView(this.list, now.parentElement);
    }
  }

  roving() {
    const buttons = this.list.querySelectorAll(".qa-item__button");
    buttons.forEach((button, i) => {
      button.tabIndex = i === this.focusIndex ? 0 : -1;
    });
  }

  onKey(event) {
    const buttons = [...this.list.querySelectorAll(".qa-item__button")];
    if (buttons.length === 0) return;
    const moves = { ArrowDown: 1, ArrowUp: -1, Home: -Infinity, End: Infinity };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const step = moves[event.key];
    const next = Number.isFinite(step)
      ? Math.max(0, Math.min(buttons.length - 1, this.focusIndex + step))
      : step < 0 ? 0 : buttons.length - 1;
    this.focusIndex = next;
    this.roving();
    buttons[next].focus();
    keepInView(this.list, buttons[next].parentElement);
  }
}

function pct(ms, total) {
  return `${Math.max(0, Math.min(100, (ms / total) * 100))}%`;
}

/** Index of the last entry at or before `position`, -1 if none. */
function lastAtOrBefore(entries, position) {
  let low = 0;
  let high = entries.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (entries[mid].at_ms <= position) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/** Scroll the list (only the list, never the page) so `item` is visible; the list is
 * positioned, so its items' offsetTop is measured from it. */
function keepInView(list, item) {
  const top = item.offsetTop;
  if (top < list.scrollTop) list.scrollTop = top;
  else if (top + item.offsetHeight > list.scrollTop + list.clientHeight) {
    list.scrollTop = top + item.offsetHeight - list.clientHeight;
  }
}
