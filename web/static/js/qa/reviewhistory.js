// The history of a review, read when opened: who changed what and when, each change as
// "Solved the problem: — → 4" in the words of the review's own rubric.

import { h, replace } from "../dom.js";
import { errorMessage } from "../errors.js";
import { dateTime } from "../format.js";
import { onLangChange, t } from "../i18n.js";
import { mediaTime } from "./evidence.js";

export class HistoryPanel {
  constructor({ api }) {
    this.api = api;
    this.review = null;
    this.list = h("ol", { class: "timeline qa-history" });
    this.el = h("details", { class: "qa-history-panel panel", hidden: true },
      h("summary", { i18n: "qa.history" }), this.list);
    this.el.addEventListener("toggle", () => {
      if (this.el.open) this.load();
    });
    onLangChange(() => {
      if (this.el.open) this.load();
    });
  }

  setReview(review) {
    this.review = review;
    this.el.hidden = !review;
    if (review && this.el.open) this.load();
  }

  async load() {
    if (!this.review) return;
    replace(this.list, h("li", { class: "muted", i18n: "common.loading" }));
    let answer;
    try {
      answer = await this.api.get(`/api/reviews/${this.review.id}/history`);
    } catch (error) {
      replace(this.list, h("li", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    const criteria = new Map(this.review.rubric.criteria.map((c) => [c.id, c]));
    replace(this.list, answer.items.slice().reverse().map((event) => h("li", {},
      h("time", { datetime: event.at, text: dateTime(event.at) }),
      h("span", { class: "timeline__who", text: event.actor_name || "—" }),
      h("span", { class: "timeline__what" },
        h("span", { i18n: `qa.action.${event.action}` }),
        event.changes.length ? h("ul", { class: "qa-history__changes" },
          event.changes.map((change) => h("li", { text: describe(change, criteria) }))) : null))));
  }
}

function describe({ field, old, new: value }, criteria) {
  const [head, id, part] = field.split(".");
  let label;
  const blank = (v) => v === null || v === undefined || v === "";
  let show = (v) => (blank(v) ? "—" : String(v));
  if (head === "scores") {
    const criterion = criteria.get(id);
    label = criterion ? criterion.title : id;
    if (criterion && criterion.scale === "yes_no") {
      show = (v) => (blank(v) ? "—" : t(v ? "qa.yes" : "qa.no"));
    }
  } else if (head === "comments") {
    label = t(part === "at_ms" ? "qa.field.commentAt" : "qa.field.commentText");
    if (part === "at_ms") show = (v) => (v === null || v === undefined ? "—" : mediaTime(v));
  } else {
    label = t(`qa.field.${head}`, { _: head });
    if (head === "state") show = (v) => (v ? t(`qa.state.${v}`) : "—");
  }
  return `${label}: ${show(old)} → ${show(value)}`;
}
