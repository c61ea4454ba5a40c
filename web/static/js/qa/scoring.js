// The scoring panel beside the player: start the call's review, score each criterion of its
// rubric version (saved as soon as it is chosen), write the summary, mark it done or reopen
// it. Every save carries the review's version: a review changed meanwhile by someone else is
// reloaded and the reviewer told, never overwritten.
//
// Events: "review" (the Review, or null) after every load or save.

import { h, replace, setText } from "../dom.js";
import { Emitter } from "../emitter.js";
import { errorMessage } from "../errors.js";
import { dateTime } from "../format.js";
import { formatScore } from "./badges.js";

export class ScoringPanel extends Emitter {
  constructor({ api, callId }) {
    super();
    this.api = api;
    this.callId = callId;
    this.review = null;
    this.rubric = null;
    this.busy = false;
    this.note = h("p", { class: "qa-scoring__note", role: "status" });
    this.body = h("div", { class: "qa-scoring__body" }, h("p", { class: "muted", i18n: "common.loading" }));
    this.el = h("section", { class: "qa-scoring panel", "aria-labelledby": "qa-scoring-title" },
      h("h3", { id: "qa-scoring-title", i18n: "qa.scoring" }), this.body, this.note);
  }

  async load() {
    try {
      const answer = await this.api.get(`/api/calls/${this.callId}/review`);
      this.review = answer.review;
      this.rubric = answer.rubric;
    } catch (error) {
      replace(this.body, h("p", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    this.render();
  }

  render() {
    if (!this.review) {
      replace(this.body, this.startView());
    } else {
      replace(this.body, this.reviewView());
    }
    this.emit("review", this.review);
  }

  startView() {
    if (!this.rubric) return h("p", { class: "muted", i18n: "qa.noRubric" });
    return h("div", { class: "qa-start" },
      h("p", { i18n: "qa.rubricIs", i18nArgs: { name: this.rubric.name, version: this.rubric.version } }),
      h("button", { type: "button", class: "button button--primary", i18n: "qa.startReview",
        onclick: () => this.start() }));
  }

  async start() {
    await this.save(() => this.api.post(`/api/calls/${this.callId}/review`, {}));
    const first = this.body.querySelector("input");
    if (first) first.focus();
  }

  reviewView() {
    const review = this.review;
    const done = review.state === "done";
    const score = review.score === null ? "—" : formatScore(review.score);
    return h("div", { class: "qa-review" },
      h("div", { class: "qa-review__head" },
        h("span", { class: ["qa-state", `qa-state--${review.state}`], i18n: `qa.state.${review.state}` }),
        h("p", { class: "qa-review__score", dataset: { score: review.score ?? "" } },
          h("span", { i18n: "qa.score" }), " ", h("strong", { text: score }),
          h("span", { class: "muted", text: " / 100" })),
        h("p", { class: "muted qa-review__rubric", i18n: "qa.rubricIs",
          i18nArgs: { name: review.rubric.name, version: review.rubric.version } })),
      h("div", { class: "qa-criteria" }, review.rubric.criteria.map((c) => this.criterion(c, done))),
      this.summary(done),
      h("div", { class: "form-actions qa-review__actions" },
        done
          ? h("button", { type: "button", class: "button", i18n: "qa.reopen",
            onclick: () => this.patch({ state: "draft" }) })
          : h("button", { type: "button", class: "button button--primary", i18n: "qa.markDone",
            onclick: () => this.patch({ state: "done" }) })),
      done ? h("p", { class: "muted", i18n: "qa.doneBy", i18nArgs: {
        who: review.done_by_name || "—", when: dateTime(review.done_at) } }) : null);
  }

  criterion(criterion, done) {
    const name = `qa-c-${criterion.id}`;
    const value = this.review.scores[criterion.id];
    const options = scaleOptions(criterion.scale);
    if (criterion.optional) options.push({ value: null, key: "qa.notApplicable" });
    return h("fieldset", { class: "qa-criterion", disabled: done || this.busy,
      dataset: { criterion: criterion.id } },
    h("legend", {},
      h("span", { class: "qa-criterion__title", text: criterion.title }),
      h("span", { class: "muted qa-criterion__weight", i18n: "qa.weight",
        i18nArgs: { weight: criterion.weight } }),
      criterion.optional ? h("span", { class: "muted", i18n: "qa.optional" }) : null),
    criterion.description
      ? h("p", { class: "muted qa-criterion__description", text: criterion.description }) : null,
    h("div", { class: "qa-criterion__options" }, options.map((option) => {
      const id = `${name}-${option.value ?? "na"}`;
      // an optional criterion left unscored is "not applicable"
      const checked = option.value === null ? value === undefined : value === option.value;
      return h("span", { class: "qa-option" },
        h("input", { type: "radio", id, name, value: option.value ?? "", checked,
          onchange: () => this.patch({ scores: { [criterion.id]: option.value } }) }),
        h("label", { for: id, ...(option.key ? { i18n: option.key } : { text: String(option.value) }) }));
    })));
  }

  summary(done) {
    const id = "qa-summary";
    const box = h("textarea", { id, rows: 3, maxLength: 4000, disabled: done,
      value: this.review.summary });
    return h("div", { class: "field qa-summary" },
      h("label", { for: id, i18n: "qa.summary" }), box,
      done ? null : h("button", { type: "button", class: "button button--small", i18n: "qa.saveSummary",
        onclick: () => this.patch({ summary: box.value }) }));
  }

  /** One change of the review, with the version it was made on. */
  async patch(changes) {
    const focused = document.activeElement && document.activeElement.id;
    await this.save(() => this.api.patch(`/api/reviews/${this.review.id}`,
      { ...changes, version: this.review.version }));
    const again = focused && document.getElementById(focused);
    if (again) again.focus();
  }

  async save(request) {
    this.busy = true;
    setText(this.note, "qa.saving");
    try {
      this.review = await request();
      setText(this.note, "common.saved");
    } catch (error) {
      if (error.code === "conflict" && error.details && "version" in error.details) {
        await this.load();
        setText(this.note, "qa.reloaded");
        return;
      }
      this.note.textContent = errorMessage(error);
      delete this.note.dataset.i18n;
    } finally {
      this.busy = false;
    }
    this.render();
  }
}

/** The choices of a scale: yes/no, or whole numbers from its low to its high end. */
function scaleOptions(scale) {
  if (scale === "yes_no") return [{ value: 1, key: "qa.yes" }, { value: 0, key: "qa.no" }];
  const [low, high] = scale.split("-").map(Number);
  const options = [];
  for (let value = low; value <= high; value += 1) options.push({ value });
  return options;
}
