// A call's recording as each side sees it (protocol §8, Recording). The customer gets a
// lasting notice — "This call is recorded", or "Recording paused" — from the call.updated
// that starts it, and none when the call is not (or no longer) recorded. The agent gets a REC
// indicator (recording, paused, failed with the reason) and Record / Pause / Resume, which
// send call.record. Every change is read out by the page's announcer.
//
// Test hooks: [data-recording] on the notice and the indicator (recording | paused | failed |
// none), [data-call-action=record-start|record-pause|record-resume] on the buttons.

import "../recordingstrings.js";
import { h, setText } from "../dom.js";
import { translateNode } from "../i18n.js";
import { CALL_ICONS } from "./icons.js";

export class RecordingView {
  /**
   * @param {object} options
   *   session: CallSession    agent: bool (the console's view, else the customer's)
   *   control(action, labelKey, paths, onclick): a button like the panel's other controls
   *   announce(key, args): read something out    onError(error): show a request's failure
   *   policy(): Promise<"always"|"on_request"|"never"> (agents: may they start one?)
   *   reason(recordingId): Promise<string|null> why a recording failed (agents)
   */
  constructor({ session, agent, control, announce = () => {}, onError = () => {},
    policy = null, reason = null }) {
    this.session = session;
    this.agent = agent;
    this.announce = announce;
    this.onError = onError;
    this.reasonOf = reason;
    this.policy = null;
    this.shown = "none"; // the state last drawn (and announced)
    this.busy = false;
    this.reasonFor = null; // the recording id whose failure reason is asked or shown
    this.destroyed = false;

    // The customer: one line under the call's title, never over the video or its controls.
    this.notice = h("p", { class: "la-call__rec", hidden: true, dataset: { recording: "none" } },
      h("span", { class: "la-call__rec-dot", "aria-hidden": "true" }),
      h("span", { class: "la-call__rec-text" }));
    // The agent: a REC pill in the call's head, and the reason as a line when it failed.
    this.badge = h("span", { class: "la-call__rec-badge", hidden: true,
      dataset: { recording: "none" } },
    h("span", { class: "la-call__rec-dot", "aria-hidden": "true" }),
    h("span", { class: "la-call__rec-short", "aria-hidden": "true" }),
    h("span", { class: "la-visually-hidden la-call__rec-long" }));
    this.failure = h("p", { class: "la-call__notice la-call__notice--warn la-call__rec-failure",
      hidden: true });
    this.buttons = agent ? {
      start: control("record-start", "call.rec.start", CALL_ICONS.record,
        () => this.act("start")),
      pause: control("record-pause", "call.rec.pause", CALL_ICONS.pause, () => this.act("pause")),
      resume: control("record-resume", "call.rec.resume", CALL_ICONS.record,
        () => this.act("resume")),
    } : {};
    for (const button of Object.values(this.buttons)) {
      button.classList.add("la-call__button--rec");
      button.hidden = true;
    }
    if (agent && policy) {
      policy().then((value) => {
        this.policy = value;
        if (!this.destroyed) this.render();
      }, () => {
        // unknown: Record stays hidden; a call recorded by the policy still shows its state
      });
    }
  }

  destroy() {
    this.destroyed = true;
  }

  /** The state of the recording now: "recording", "paused", "failed" or "none". */
  get state() {
    const s = this.session;
    const recording = s.call.recording;
    if (s.ended || s.state !== "active" || !recording) return "none";
    return recording.state;
  }

  async act(action) {
    if (this.busy) return;
    const buttons = Object.values(this.buttons);
    const root = this.badge.getRootNode();
    const hadFocus = buttons.includes(root.activeElement);
    this.busy = true;
    this.render();
    try {
      await this.session.record(action);
    } catch (error) {
      this.onError(error);
      if (error && error.code === "conflict") await this.session.refresh();
    } finally {
      this.busy = false;
      if (!this.destroyed) this.render();
    }
    // Pause becomes Resume (and Record becomes Pause): the focus goes along, never to <body>.
    if (hadFocus && !this.destroyed && !buttons.includes(root.activeElement)) {
      const next = buttons.find((button) => !button.hidden)
        || (buttons[0] && buttons[0].parentElement.querySelector("button:not([hidden])"));
      if (next) next.focus();
    }
  }

  render() {
    const state = this.state;
    const before = this.shown;
    this.shown = state;
    if (this.agent) this.renderAgent(state);
    else this.renderCustomer(state);
    if (state !== before) this.said(before, state);
  }

  renderCustomer(state) {
    const shown = state === "recording" || state === "paused";
    this.notice.hidden = !shown;
    this.notice.dataset.recording = shown ? state : "none";
    if (shown) {
      setText(this.notice.querySelector(".la-call__rec-text"),
        state === "paused" ? "call.rec.noticePaused" : "call.rec.notice");
    }
  }

  renderAgent(state) {
    const s = this.session;
    const live = s.state === "active" && s.owned && !s.ended;
    this.badge.hidden = state === "none";
    this.badge.dataset.recording = state;
    if (state !== "none") {
      setText(this.badge.querySelector(".la-call__rec-short"), `call.rec.badge.${state}`);
      setText(this.badge.querySelector(".la-call__rec-long"), `call.rec.full.${state}`);
      this.badge.dataset.i18nAttrs = JSON.stringify({ title: `call.rec.full.${state}` });
      translateNode(this.badge);
    }
    this.renderFailure(state);
    const { start, pause, resume } = this.buttons;
    start.hidden = !(live && state === "none" && this.policy === "on_request");
    pause.hidden = !(live && state === "recording");
    resume.hidden = !(live && state === "paused");
    // Never disabled while a request travels (that would drop the focus): act() ignores a
    // second press instead.
  }

  /** Failed: why, in a line under the head (asked once per recording). */
  renderFailure(state) {
    const recording = this.session.call.recording;
    if (state !== "failed" || !recording) {
      this.failure.hidden = true;
      this.reasonFor = null;
      return;
    }
    if (this.reasonFor === recording.id) return;
    this.reasonFor = recording.id;
    this.failure.hidden = false;
    setText(this.failure, "call.rec.full.failed");
    if (!this.reasonOf) return;
    this.reasonOf(recording.id).then((reason) => {
      if (reason && this.reasonFor === recording.id) {
        setText(this.failure, "call.rec.failedWhy", { reason });
        this.badge.title = this.failure.textContent;
      }
    }, () => {});
  }

  /** Read the change out: to the customer what it means for them, to the agent what it is. */
  said(before, after) {
    const recorded = (state) => state === "recording" || state === "paused";
    let key = null;
    if (!this.agent) {
      if (after === "recording") key = before === "paused" ? "call.rec.say.resumed" : "call.rec.say.on";
      else if (after === "paused") key = "call.rec.say.paused";
      else if (recorded(before) && !this.session.ended) key = "call.rec.say.off";
    } else if (after === "recording") {
      key = before === "paused" ? "call.rec.said.resumed" : "call.rec.said.recording";
    } else if (after === "paused") key = "call.rec.said.paused";
    else if (after === "failed") key = "call.rec.said.failed";
    else if (recorded(before) && !this.session.ended) key = "call.rec.said.off";
    if (key) this.announce(key);
  }
}
