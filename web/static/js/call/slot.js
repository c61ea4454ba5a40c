// Where a chat shows its calls, in the widget and in each console chat card: the "Audio call"
// and "Video call" buttons, the panel of the call going on, and for a few seconds a line
// saying how the last call ended (missed, declined, ended after 2:31 …) — the lasting record
// is the system line the server adds to the transcript.

import { h, icon } from "../dom.js";
import { CALL_ICONS } from "./icons.js";
import { CallPanel, callLogLine } from "./panel.js";

const ENDED_SHOWN_MS = 10000;

export class CallSlot {
  /**
   * @param {object} options
   *   calls: CallManager    chatId    otherName(): the other participant's name
   *   canCall(): the chat is in a state to call (active)
   *   onRing(session): an incoming call wants attention (open the widget, a toast…)
   *   onLayout(video: bool)    onError(error)    onEnded(call)
   *   announce(key, args): read something out (the recording's changes)
   *   recording: {policy(), reason(id)} for agents (see call/recording.js)
   */
  constructor({ calls, chatId, otherName, canCall, onRing = () => {}, onLayout = () => {},
    onError = () => {}, onEnded = () => {}, announce = () => {}, recording = {} }) {
    this.calls = calls;
    this.chatId = chatId;
    this.otherName = otherName;
    this.canCall = canCall;
    this.onRing = onRing;
    this.onLayout = onLayout;
    this.onError = onError;
    this.onEnded = onEnded;
    this.announce = announce;
    this.recording = recording;
    this.panel = null;
    this.session = null;
    this.starting = false;

    const start = (media, key, paths) => h("button", { type: "button",
      class: "la-call-start__button", dataset: { callStart: media },
      i18nAttrs: { title: key }, onclick: () => this.start(media) },
    icon(paths, { size: 15 }), h("span", { i18n: key }));
    this.audioButton = start("audio", "call.startAudio", CALL_ICONS.phone);
    this.videoButton = start("video", "call.startVideo", CALL_ICONS.video);
    this.buttons = h("div", { class: "la-call-start" }, this.audioButton, this.videoButton);
    this.area = h("div", { class: "la-call-area" });
    this.log = h("div", { class: "la-call-log", role: "status",
      i18nAttrs: { "aria-label": "call.log" } });

    this.subscriptions = [
      calls.on("session", (session) => {
        if (session.chatId === this.chatId) this.show(session);
        this.refresh();
      }),
      calls.on("ended", (session) => {
        if (session.chatId === this.chatId) this.ended(session);
        this.refresh();
      }),
    ];
    const current = calls.forChat(chatId);
    if (current) this.show(current);
    this.refresh();
  }

  destroy() {
    for (const off of this.subscriptions) off();
    if (this.panel) this.panel.destroy();
    this.panel = null;
  }

  /** Enable the start buttons only when a call can start here now. */
  refresh() {
    const free = !this.calls.busy && !this.session && !this.starting;
    const allowed = Boolean(this.canCall());
    // During a call here they could not be used: gone, leaving its room to the chat.
    this.buttons.hidden = !allowed || Boolean(this.session);
    this.audioButton.disabled = !(allowed && free);
    this.videoButton.disabled = !(allowed && free);
  }

  async start(media) {
    if (this.starting) return;
    const root = this.buttons.getRootNode();
    const clicked = this.buttons.contains(root.activeElement);
    this.starting = true;
    this.refresh();
    try {
      await this.calls.start(this.chatId, media);
      // Started from the keyboard: on to "Cancel call" (the button pressed is disabled now).
      if (clicked && this.panel) this.panel.focusMain();
    } catch (error) {
      this.onError(error);
    } finally {
      this.starting = false;
      this.refresh();
    }
  }

  show(session) {
    if (this.session === session) return;
    if (this.panel) this.panel.destroy();
    this.session = session;
    this.panel = new CallPanel({ session, otherName: this.otherName, onLayout: this.onLayout,
      onError: this.onError, announce: this.announce, recording: this.recording });
    this.area.replaceChildren(this.panel.el);
    if (session.state === "ringing" && session.incoming) this.onRing(session);
  }

  ended(session) {
    if (this.session === session) {
      this.panel.destroy();
      this.panel = null;
      this.session = null;
      this.area.replaceChildren();
    }
    const line = callLogLine(session.call, session.role);
    this.log.replaceChildren(line);
    setTimeout(() => line.remove(), ENDED_SHOWN_MS);
    this.onEnded(session.call);
  }
}
