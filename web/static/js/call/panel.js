// The call as shown to a participant, the same in the widget and in the agent console:
// ringing (accept / decline) or calling (cancel), the videos (the other side's screen large
// with their camera as a small picture-in-picture, our own self-view and screen preview), the
// quality, notices (reconnecting, step-downs, missing devices), whether it is recorded, the
// controls (mute, camera, screen share, hang up) and, for agents, the drawing tools over a
// shared screen and Record / Pause / Resume.
//
// Test hooks are attributes only: [data-call-id], [data-call-state], [data-link],
// [data-their-audio|camera|screen|state], [data-call-action=…], [data-call-tool=…],
// [data-tile=…] with data-main and data-frames (frames decoded so far), overlay canvases with
// data-count / data-kinds / data-total.

import { h, icon, replace, setText } from "../dom.js";
import { duration as clockDuration } from "../format.js";
import { t } from "../i18n.js";
import { AnnotationLayer } from "./annotations.js";
import { canShareScreen } from "./localmedia.js";
import { CALL_ICONS } from "./icons.js";
import { RecordingView } from "./recording.js";
import { framesDecoded } from "./stats.js";
import { AnnotationTools, TOOLS } from "./tools.js";

const FRAMES_POLL_MS = 1000;

export class CallPanel {
  /**
   * @param {object} options
   *   session: CallSession    otherName(): the other participant's name
   *   onLayout(video: bool): videos are (or are no longer) shown — the widget grows
   *   onError(error): show a request's failure    announce(key, args): read something out
   *   recording: {policy(), reason(id)} for agents (see RecordingView)
   */
  constructor({ session, otherName, onLayout = () => {}, onError = () => {},
    announce = () => {}, recording = {} }) {
    this.session = session;
    this.otherName = otherName;
    this.onLayout = onLayout;
    this.onError = onError;
    this.agent = session.role === "agent";
    this.tool = this.agent ? "pointer" : null;
    this.framesTimer = null;
    this.clockTimer = null;
    this.wasVideo = null;

    this.title = h("h3", { class: "la-call__title" });
    this.status = h("p", { class: "la-call__status", role: "status" });
    this.qualityBadge = h("span", { class: "la-call__quality", hidden: true });
    this.ring = h("div", { class: "la-call__ring" });
    this.notice = h("p", { class: "la-call__notice la-call__notice--them", role: "status",
      hidden: true });
    this.info = h("p", { class: "la-call__notice la-call__notice--info", role: "status",
      hidden: true });
    this.problem = h("p", { class: "la-call__notice la-call__notice--warn", role: "alert",
      hidden: true });
    this.downgradeBox = h("div", { class: "la-call__downgrade", role: "group", hidden: true });

    this.tiles = {
      remoteScreen: this.tile("remote-screen", "call.theirScreen", true),
      remoteCamera: this.tile("remote-camera", "call.theirCamera", false),
      localScreen: this.tile("local-screen", "call.myScreen", true),
      localCamera: this.tile("local-camera", "call.myCamera", false),
    };
    this.audio = h("audio", { autoplay: true, class: "la-call__audio" });
    this.voice = h("audio", { autoplay: true, class: "la-call__audio la-call__voice" });
    this.supervisorNote = h("p", { class: "la-call__notice la-call__notice--supervisor",
      role: "status", hidden: true, dataset: { supervisor: "" } });
    this.soundButton = h("button", { type: "button", class: "la-call__sound", hidden: true,
      i18n: "call.enableSound", onclick: () => this.playAudio() });
    this.stage = h("div", { class: "la-call__stage", hidden: true },
      ...Object.values(this.tiles).map((tile) => tile.el), this.soundButton);

    this.layers = {
      remoteScreen: new AnnotationLayer(this.tiles.remoteScreen.video),
      localScreen: new AnnotationLayer(this.tiles.localScreen.video),
    };
    this.tiles.remoteScreen.el.append(this.layers.remoteScreen.canvas);
    this.tiles.localScreen.el.append(this.layers.localScreen.canvas);

    this.buttons = {
      mute: this.control("mute", "call.mute", CALL_ICONS.mic, () => this.toggle("audio")),
      camera: this.control("camera", "call.camera", CALL_ICONS.video, () => this.toggle("camera")),
      screen: this.control("screen", "call.screen", CALL_ICONS.screen, () => this.toggle("screen")),
      hangup: this.control("hangup", "call.hangUp", CALL_ICONS.phone, () => this.act(
        () => session.hangup()), { toggle: false, danger: true }),
    };
    this.recording = new RecordingView({ session, agent: this.agent, announce, onError,
      policy: recording.policy || null, reason: recording.reason || null,
      control: (...args) => this.control(...args, { toggle: false }) });
    const { hangup, ...media } = this.buttons;
    this.controls = h("div", { class: "la-call__controls", role: "group",
      i18nAttrs: { "aria-label": "call.controls" } }, ...Object.values(media),
    ...Object.values(this.recording.buttons), hangup);

    this.toolButtons = {};
    this.toolbar = h("div", { class: "la-call__tools", role: "toolbar", hidden: true,
      i18nAttrs: { "aria-label": "call.tools" } });
    if (this.agent) this.buildTools();

    this.el = h("section", { class: "la-call", dataset: { callId: session.id, tool: this.tool || "" },
      i18nAttrs: { "aria-label": "call.region" } },
    h("div", { class: "la-call__head" },
      h("div", { class: "la-call__heading" }, this.title, this.status),
      h("div", { class: "la-call__badges" }, this.recording.badge, this.qualityBadge)),
    this.recording.notice, this.recording.failure, this.ring, this.supervisorNote, this.notice,
    this.info, this.problem, this.downgradeBox, this.stage, this.audio, this.voice,
    this.toolbar, this.controls);

    this.subscriptions = [
      session.on("changed", () => this.render()),
      session.on("tracks", () => this.bindRemote()),
      session.on("quality", () => this.renderQuality()),
      session.on("downgrade", (event) => this.showDowngrade(event)),
      session.on("annotation", (annotation) => this.showAnnotation(annotation)),
      session.on("problem", (what) => this.showProblem(what)),
      session.on("supervisor", (supervisor) => this.showSupervisor(supervisor, true)),
    ];
    this.showSupervisor(session.supervisor, false);
    this.clockTimer = setInterval(() => this.renderStatus(), 1000);
    this.framesTimer = setInterval(() => this.pollFrames(), FRAMES_POLL_MS);
    this.bindRemote();
    this.render();
  }

  destroy() {
    for (const off of this.subscriptions) off();
    this.recording.destroy();
    clearInterval(this.clockTimer);
    clearInterval(this.framesTimer);
    for (const layer of Object.values(this.layers)) layer.destroy();
    for (const tools of this.tools || []) tools.destroy();
    for (const tile of Object.values(this.tiles)) tile.video.srcObject = null;
    this.audio.srcObject = null;
    this.voice.srcObject = null;
    this.el.remove();
    if (this.wasVideo) this.onLayout(false);
  }

  /** Focus what this call is about now: Accept while it rings here, Cancel while we call,
   * the first control once it runs (a person who started or answered it chose to). */
  focusMain() {
    const target = this.ring.querySelector("button") || this.controls.querySelector("button");
    if (target) target.focus();
  }

  // ---- building -----------------------------------------------------------------------------

  tile(name, labelKey, screen) {
    const video = h("video", { autoplay: true, muted: true, playsInline: true,
      class: "la-call__video", i18nAttrs: { "aria-label": labelKey } });
    video.muted = true;
    const el = h("div", { class: ["la-call__tile", screen ? "la-call__tile--screen" : null],
      hidden: true, dataset: { tile: name, main: "false", frames: "0" } },
    video, h("span", { class: "la-call__tile-label", i18n: labelKey }));
    return { el, video, track: null };
  }

  control(action, labelKey, paths, onclick, { toggle = true, danger = false } = {}) {
    const button = h("button", { type: "button",
      class: ["la-call__button", danger ? "la-call__button--danger" : null],
      dataset: { callAction: action }, i18nAttrs: { "aria-label": labelKey, title: labelKey },
      onclick }, icon(paths, { size: 18 }));
    if (toggle) button.setAttribute("aria-pressed", "false");
    return button;
  }

  buildTools() {
    const labels = { pointer: "call.toolPointer", arrow: "call.toolArrow",
      circle: "call.toolCircle", freehand: "call.toolFreehand" };
    for (const name of TOOLS) {
      this.toolButtons[name] = h("button", { type: "button", class: "la-call__tool",
        dataset: { callTool: name }, "aria-pressed": String(this.tool === name),
        i18nAttrs: { "aria-label": labels[name], title: labels[name] },
        onclick: () => this.chooseTool(name) }, icon(CALL_ICONS[name], { size: 16 }));
      this.toolbar.append(this.toolButtons[name]);
    }
    this.toolbar.append(h("button", { type: "button", class: "la-call__tool",
      dataset: { callTool: "clear" }, i18nAttrs: { "aria-label": "call.toolClear",
        title: "call.toolClear" },
      onclick: () => {
        for (const tools of this.tools) tools.clearAll();
      } }, icon(CALL_ICONS.clear, { size: 16 })));
    const me = this.session.role;
    const other = this.session.other;
    const send = (annotation) => this.session.annotate(annotation).catch((error) => {
      if (annotation.kind !== "pointer") this.onError(error);
    });
    this.tools = [
      new AnnotationTools({ layer: this.layers.remoteScreen, surface: `${other}_screen`,
        tool: () => this.tool, onAnnotate: send }),
      new AnnotationTools({ layer: this.layers.localScreen, surface: `${me}_screen`,
        tool: () => this.tool, onAnnotate: send }),
    ];
  }

  chooseTool(name) {
    this.tool = this.tool === name ? null : name;
    for (const [tool, button] of Object.entries(this.toolButtons)) {
      button.setAttribute("aria-pressed", String(this.tool === tool));
    }
    this.el.dataset.tool = this.tool || "";
  }

  // ---- what happens ---------------------------------------------------------------------------

  async toggle(what) {
    const session = this.session;
    const on = !session.flags[what];
    const setter = { audio: "setAudio", camera: "setCamera", screen: "setScreen" }[what];
    await this.act(() => session[setter](on));
  }

  async act(fn) {
    try {
      await fn();
    } catch (error) {
      this.onError(error);
    }
  }

  showAnnotation(annotation) {
    const mine = annotation.surface === `${this.session.role}_screen`;
    (mine ? this.layers.localScreen : this.layers.remoteScreen).add(annotation);
  }

  showProblem(what) {
    setText(this.problem, `call.problem.${what}`);
    this.problem.hidden = false;
  }

  showDowngrade(event) {
    const box = this.downgradeBox;
    if (event.applied) {
      box.hidden = true;
      setText(this.info, `call.downgraded.${event.to}`);
      this.info.hidden = false;
      return;
    }
    if (!this.agent) return;
    const choice = (to, key) => h("button", { type: "button", class: "la-call__choice",
      dataset: { downgrade: to }, i18n: key,
      onclick: () => this.act(async () => {
        box.hidden = true;
        await this.session.downgrade(to);
      }) });
    replace(box,
      h("p", { class: "la-call__downgrade-text", id: `la-call-${this.session.id}-poor`,
        i18n: "call.poorQuality" }),
      h("div", { class: "la-call__choices" },
        choice("screen_only", "call.toScreenOnly"),
        choice("audio", "call.toAudio"),
        choice("chat", "call.toChat"),
        h("button", { type: "button", class: "la-call__choice la-call__choice--quiet",
          i18n: "call.keep", onclick: () => {
            box.hidden = true;
          } })));
    box.setAttribute("aria-labelledby", `la-call-${this.session.id}-poor`);
    box.hidden = false;
  }

  // ---- drawing the state ----------------------------------------------------------------------

  render() {
    const s = this.session;
    const call = s.call;
    this.el.dataset.callState = s.ended ? "ended" : call.state;
    this.el.dataset.media = call.media;
    const them = s.them;
    this.el.dataset.theirState = them.state;
    this.el.dataset.theirAudio = String(Boolean(them.audio));
    this.el.dataset.theirCamera = String(Boolean(them.camera));
    this.el.dataset.theirScreen = String(Boolean(them.screen));
    setText(this.title, call.media === "video" ? "call.videoWith" : "call.audioWith",
      { name: this.otherName() || t(s.role === "agent" ? "console.customer" : "chat.agent") });
    this.renderRing();
    this.renderStatus();
    this.renderNotice();
    this.renderControls();
    this.recording.render();
    this.renderStage();
    this.renderQuality();
  }

  renderRing() {
    const s = this.session;
    const mode = s.state !== "ringing" ? "none" : s.incoming ? "incoming" : "outgoing";
    if (this.ring.dataset.mode === mode) return;
    this.ring.dataset.mode = mode;
    if (mode === "none") {
      replace(this.ring);
      this.ring.hidden = true;
      return;
    }
    this.ring.hidden = false;
    if (mode === "incoming") {
      const accept = h("button", { type: "button", class: "la-call__answer",
        dataset: { callAction: "accept" }, onclick: () => this.act(async () => {
          await s.accept();
          this.focusMain(); // answered: on to the call's controls
        }) },
      icon(CALL_ICONS.phone, { size: 16 }), h("span", { i18n: "call.accept" }));
      const decline = h("button", { type: "button", class: "la-call__decline",
        dataset: { callAction: "decline" }, onclick: () => this.act(() => s.decline()) },
      icon(CALL_ICONS.phone, { size: 16 }), h("span", { i18n: "call.decline" }));
      // Never focused by itself: someone typing would answer with their next Space or
      // Enter. The call is announced instead (onRing), and answering is a click or a Tab.
      replace(this.ring, accept, decline);
    } else {
      replace(this.ring, h("button", { type: "button", class: "la-call__decline",
        dataset: { callAction: "cancel" }, onclick: () => this.act(() => s.hangup()) },
      icon(CALL_ICONS.phone, { size: 16 }), h("span", { i18n: "call.cancel" })));
    }
  }

  renderStatus() {
    const s = this.session;
    let key;
    let args = null;
    if (s.ended) key = "call.ended";
    else if (s.state === "ringing") key = s.incoming ? `call.incoming.${s.call.media}` : "call.calling";
    else if (!s.owned) key = "call.elsewhere";
    else if (s.link === "connected") {
      key = "call.duration";
      args = { time: duration(s.answeredAt) };
    } else if (s.link === "reconnecting") key = "call.reconnecting";
    else key = "call.connecting";
    if (this.status.dataset.i18n !== key || args) setText(this.status, key, args);
    this.el.dataset.link = s.link;
  }

  renderNotice() {
    const s = this.session;
    const them = s.them;
    if (s.state !== "active" || !s.owned) {
      this.notice.hidden = true;
      return;
    }
    const name = this.otherName() || t(s.role === "agent" ? "console.customer" : "chat.agent");
    let key = null;
    if (them.state === "reconnecting") key = "call.theyReconnect";
    else if (them.state === "invited" || them.state === "connecting") key = "call.theyConnect";
    this.notice.hidden = !key;
    this.notice.dataset.them = them.state;
    if (key) setText(this.notice, key, { name });
  }

  renderControls() {
    const s = this.session;
    const live = s.state === "active" && s.owned;
    this.controls.hidden = !live;
    const press = (button, on) => button.setAttribute("aria-pressed", String(on));
    press(this.buttons.mute, !s.flags.audio);
    press(this.buttons.camera, s.flags.camera);
    press(this.buttons.screen, s.flags.screen);
    this.buttons.mute.classList.toggle("la-call__button--off", !s.flags.audio);
    this.buttons.camera.classList.toggle("la-call__button--off", !s.flags.camera);
    this.buttons.screen.hidden = !canShareScreen();
  }

  renderStage() {
    const s = this.session;
    const live = s.state === "active" && s.owned;
    const them = s.them;
    const show = {
      remoteScreen: live && Boolean(them.screen) && them.state !== "left",
      remoteCamera: live && Boolean(them.camera) && them.state !== "left",
      localScreen: live && s.flags.screen,
      localCamera: live && s.flags.camera,
    };
    this.bindLocal("localScreen", s.localTrack("screen"));
    this.bindLocal("localCamera", s.localTrack("camera"));
    const main = ["remoteScreen", "localScreen", "remoteCamera"].find((name) => show[name]) || null;
    let pip = 0;
    for (const [name, tile] of Object.entries(this.tiles)) {
      tile.el.hidden = !show[name];
      const isMain = name === main;
      tile.el.dataset.main = String(isMain);
      tile.el.classList.toggle("la-call__tile--main", isMain);
      tile.el.classList.toggle("la-call__tile--pip", show[name] && !isMain);
      if (show[name] && !isMain) tile.el.style.setProperty("--pip-index", String(pip++));
    }
    const anyVideo = Object.values(show).some(Boolean);
    this.stage.hidden = !anyVideo;
    this.stage.dataset.layout = main || "none";
    this.toolbar.hidden = !(this.agent && (show.remoteScreen || show.localScreen));
    if (anyVideo !== this.wasVideo) {
      this.wasVideo = anyVideo;
      this.onLayout(anyVideo);
    }
  }

  renderQuality() {
    const s = this.session;
    // Media the other side says it sends but the relay no longer gets (protocol §8, stalled):
    // the link may still read "connected", so say it plainly, first.
    const stalled = s.ended ? [] : (s.them.stalled || []);
    this.el.dataset.theirStalled = stalled.join(" ");
    if (stalled.length) {
      this.qualityBadge.hidden = false;
      this.qualityBadge.dataset.level = "poor";
      setText(this.qualityBadge, `call.stalled.${stalled[0]}`);
      const all = stalled.map((role) => t(`call.stalled.${role}`)).join(" · ");
      this.qualityBadge.title = all;
      this.qualityBadge.setAttribute("aria-label", all);
      return;
    }
    const mine = s.quality[s.role];
    const theirs = s.quality[s.other];
    const myLink = s.links[s.role];
    const theirLink = s.links[s.other];
    const graded = [mine, theirs, myLink, theirLink].filter(Boolean);
    this.qualityBadge.hidden = !graded.length || s.ended;
    if (!graded.length) return;
    // The worst grade decides the colour: either side's trouble is the call's, whether its
    // browser says so or the relay measures it.
    const worst = graded.sort((a, b) => (a.mos ?? 5) - (b.mos ?? 5))[0];
    this.qualityBadge.dataset.level = worst.level;
    const args = { level: t(`call.level.${worst.level}`), mos: (worst.mos ?? 0).toFixed(1) };
    setText(this.qualityBadge, "call.quality", args);
    const detail = [mine && t("call.qualityMine", qualityArgs(mine)),
      theirs && t("call.qualityTheirs", qualityArgs(theirs)),
      myLink && t("call.linkMine", linkArgs(myLink)),
      theirLink && t("call.linkTheirs", linkArgs(theirLink))].filter(Boolean).join(" · ");
    this.qualityBadge.title = detail;
    this.qualityBadge.setAttribute("aria-label", `${t("call.quality", args)} — ${detail}`);
  }

  // ---- media elements ---------------------------------------------------------------------------

  bindRemote() {
    const s = this.session;
    const bind = (tile, role) => {
      const track = s.remoteTrack(role);
      if (tile.track === track) return;
      tile.track = track;
      tile.video.srcObject = track ? new MediaStream([track]) : null;
      tile.el.dataset.frames = "0";
      if (track) tile.video.play().catch(() => {});
    };
    bind(this.tiles.remoteCamera, "camera");
    bind(this.tiles.remoteScreen, "screen");
    const audio = s.remoteTrack("audio");
    if (audio && (!this.audio.srcObject || this.audio.srcObject.getTracks()[0] !== audio)) {
      this.audio.srcObject = new MediaStream([audio]);
      this.playAudio();
    }
    const voice = s.remoteTrack("voice");
    if (voice && (!this.voice.srcObject || this.voice.srcObject.getTracks()[0] !== voice)) {
      this.voice.srcObject = new MediaStream([voice]);
      this.voice.play().catch(() => {});
    }
  }

  /** Who supervises out loud: the agent is told of a whisper (the customer hears nothing of
   *  it) and both of a barge; a silent monitor is shown to nobody. */
  showSupervisor(supervisor, announce) {
    const mode = supervisor ? supervisor.mode : null;
    this.supervisorNote.hidden = !mode || mode === "monitor";
    this.supervisorNote.dataset.supervisor = mode || "";
    if (this.supervisorNote.hidden) {
      this.supervisorNote.textContent = "";
      return;
    }
    const key = mode === "whisper" ? "call.supervisorWhispers" : "call.supervisorJoined";
    setText(this.supervisorNote, key, { name: supervisor.name });
    if (announce) this.voice.play().catch(() => {});
  }

  playAudio() {
    this.audio.play().then(() => {
      this.soundButton.hidden = true;
    }, () => {
      this.soundButton.hidden = false;
    });
  }

  bindLocal(name, track) {
    const tile = this.tiles[name];
    if (tile.track === track) return;
    tile.track = track;
    tile.video.srcObject = track ? new MediaStream([track]) : null;
    if (track) tile.video.play().catch(() => {});
  }

  /** Frames decoded by each remote video (shown as "waiting for video" until the first). */
  async pollFrames() {
    const s = this.session;
    if (!s.peer || s.ended) return;
    for (const [name, role] of [["remoteCamera", "camera"], ["remoteScreen", "screen"]]) {
      const tile = this.tiles[name];
      if (tile.el.hidden) continue;
      try {
        const frames = framesDecoded(await s.peer.receiverStats(role));
        tile.el.dataset.frames = String(frames);
        tile.el.classList.toggle("la-call__tile--waiting", frames === 0);
      } catch {
        // the peer connection was replaced meanwhile
      }
    }
  }
}

/** A finished call as one line for the chat ("Missed video call", "Call ended · 2:31"). */
export function callLogLine(call, role) {
  const reason = call.end_reason || "hung_up";
  const media = call.media === "video" ? "video" : "audio";
  let key;
  const args = { _: call.end_reason_text || reason };
  if (reason === "missed") key = call.started_by === role ? "call.log.noAnswer" : `call.log.missed.${media}`;
  else if (reason === "declined") key = "call.log.declined";
  else if (reason === "cancelled") key = call.started_by === role ? "call.log.cancelled" : `call.log.missed.${media}`;
  else if (call.answered_at) {
    key = `call.log.ended.${media}`;
    args.time = duration(Date.parse(call.answered_at), call.ended_at ? Date.parse(call.ended_at) : Date.now());
    if (reason !== "hung_up") {
      key = `call.log.endedWhy.${media}`;
      args.why = t(`call.reason.${reason}`, { _: call.end_reason_text || reason });
    }
  } else {
    key = "call.log.failed";
    args.why = t(`call.reason.${reason}`, { _: call.end_reason_text || reason });
  }
  return h("p", { class: "la-call-log__item", dataset: { callId: call.id, endReason: reason } },
    h("span", { i18n: key, i18nArgs: args }),
    h("time", { datetime: call.ended_at || "",
      format: ["clock", call.ended_at || new Date().toISOString()] }));
}

function qualityArgs(q) {
  return { level: t(`call.level.${q.level}`), mos: (q.mos ?? 0).toFixed(1),
    rtt: Math.round(q.rtt_ms ?? 0), loss: (q.loss_pct ?? 0).toFixed(1) };
}

function linkArgs(link) {
  const share = (value) => (value == null ? "–" : value.toFixed(1));
  return { level: t(`call.level.${link.level}`),
    rtt: link.rtt_ms == null ? "–" : Math.round(link.rtt_ms),
    up: share(link.uplink_loss_pct), down: share(link.downlink_loss_pct) };
}

/** "2:31" from `since` (ms since the epoch) to `until`. */
function duration(since, until = Date.now()) {
  return since ? clockDuration((until - since) / 1000) : clockDuration(0);
}

