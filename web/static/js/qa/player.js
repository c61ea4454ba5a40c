// Plays a recorded call from its separate files, kept in sync on one MediaClock: the screen
// large, the cameras small, both voices. Each file starts at its start_offset_ms on the
// recording's time line; an element is playing only while the clock is inside its file.
//
// Sync: every frame each element's time is compared with the clock. Small drift is pulled in
// by nudging its playbackRate (no audible jump), large drift (> 300 ms) by a seek. While an
// element that should play is still loading (seeking, or not enough data) the clock holds, so
// nothing runs ahead of the picture; an element that stays stuck for 3 s is left behind
// (marked on its tile) rather than freezing the whole call.
//
// Events: "time" (ms, every frame), "state" ("playing" | "paused" | "buffering"), "stage"
// (the tile on the stage). The root carries data-position (ms) and data-state for tests.

import { h, setText } from "../dom.js";
import { Emitter } from "../emitter.js";
import { MediaClock } from "./clock.js";

const SEEK_DRIFT_S = 0.3;
const NUDGE_DRIFT_S = 0.02;
const NUDGE_GAIN = 1; // playbackRate 0.95 for 50 ms ahead: the gap closes in about a second
const STUCK_MS = 3000;
const SETTLE_MS = 400; // after a seek an element's time is not judged for a moment
const LOADING_GRACE_MS = 150; // a short dip in buffered data does not stop the whole call
const LINK_RETRY_MS = 10_000;

export class SyncPlayer extends Emitter {
  /**
   * @param {object} options
   *   files: the recording's files ([{id, kind, participant, role, mime, duration_ms,
   *     start_offset_ms}]), durationMs, pausedSpans ([{from_ms, to_ms}]),
   *   link(fileId) → Promise<{url}>: a short-lived URL the element may load
   */
  constructor({ files, durationMs, pausedSpans, link }) {
    super();
    this.link = link;
    this.pausedSpans = pausedSpans || [];
    this.clock = new MediaClock(durationMs);
    this.tracks = chooseFiles(files).map((file) => this.makeTrack(file));
    this.stageTrack = null;
    this.heldSince = null;
    this.frame = null;
    this.lastTick = 0;
    this.state = "paused";
    this.paused = h("p", { class: "qa-stage__note qa-stage__note--paused", i18n: "qa.recordingPaused",
      hidden: true });
    this.empty = h("p", { class: "qa-stage__note", i18n: "qa.nothingShown", hidden: true });
    this.stage = h("div", { class: "qa-stage" },
      this.tracks.filter((t) => t.tile).map((t) => t.tile), this.paused, this.empty);
    this.voices = h("div", { class: "qa-voices" },
      this.tracks.filter((t) => !t.tile).map((t) => t.el));
    this.el = h("div", { class: "qa-player", dataset: { state: "paused", position: "0" } },
      this.stage, this.voices);
    this.clock.on("seek", () => this.afterSeek());
    this.clock.on("ended", () => this.setState("paused"));
    this.interval = setInterval(() => {
      if (performance.now() - this.lastTick > 300) this.tick();
    }, 250);
    this.schedule();
  }

  /** Load every file (signed links) and show the first frames. */
  async load() {
    await Promise.all(this.tracks.map((track) => this.attach(track)));
    this.tick();
  }

  get position() {
    return this.clock.now();
  }

  get duration() {
    return this.clock.duration;
  }

  get playing() {
    return this.clock.playing;
  }

  play() {
    this.clock.play();
    this.tick();
  }

  pause() {
    this.clock.pause();
    this.tick();
  }

  toggle() {
    if (this.clock.playing) this.pause();
    else this.play();
  }

  seek(ms) {
    this.clock.seek(ms);
    this.tick();
  }

  setRate(rate) {
    this.clock.setRate(rate);
  }

  /** Mute or unmute one participant's voice. */
  setVoice(participant, on) {
    for (const track of this.tracks) {
      if (track.role === "audio" && track.participant === participant) track.el.muted = !on;
    }
  }

  destroy() {
    clearInterval(this.interval);
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    for (const track of this.tracks) {
      track.el.pause();
      track.el.removeAttribute("src");
      track.el.load();
    }
  }

  // ---- files and elements -------------------------------------------------------------------

  makeTrack(file) {
    const visual = file.role !== "audio";
    const el = document.createElement(visual ? "video" : "audio");
    el.preload = "auto";
    el.dataset.fileId = String(file.id);
    el.dataset.participant = file.participant || "";
    el.dataset.role = file.role || file.kind;
    el.dataset.offset = String(file.start_offset_ms || 0);
    if (visual) {
      el.muted = file.kind !== "composite"; // voices come from their own files
      el.playsInline = true;
    }
    const track = {
      file,
      el,
      participant: file.participant,
      role: file.role || "composite",
      offset: file.start_offset_ms || 0,
      length: file.duration_ms || 0,
      active: false,
      stuck: false,
      failed: false,
      settledAt: 0,
      loadingSince: null,
      linkedAt: 0,
      tile: null,
      canvas: null,
    };
    if (visual) {
      const caption = h("figcaption", { class: "qa-tile__label" });
      if (file.kind === "composite") setText(caption, "qa.composite");
      else setText(caption, "qa.tileLabel", {
        who: { key: `qa.participant.${file.participant}` }, what: { key: `qa.role.${file.role}` },
      });
      track.problem = h("p", { class: "qa-tile__problem", hidden: true });
      track.tile = h("figure", { class: "qa-tile", dataset: { participant: file.participant || "",
        role: track.role } }, el, track.problem, caption);
      if (track.role === "screen") {
        track.canvas = h("canvas", { class: "qa-tile__overlay", "aria-hidden": "true" });
        track.tile.insertBefore(track.canvas, track.problem);
      }
    }
    el.addEventListener("error", () => this.failed(track));
    return track;
  }

  async attach(track) {
    track.linkedAt = performance.now();
    try {
      const { url } = await this.link(track.file.id);
      track.el.src = url;
    } catch {
      this.markFailed(track);
    }
  }

  /** An element that fails (an expired link, a network drop) gets a fresh link, once per
   * LINK_RETRY_MS, and carries on where the clock is; after that it is marked unplayable. */
  async failed(track) {
    if (!track.el.getAttribute("src")) return;
    if (performance.now() - track.linkedAt < LINK_RETRY_MS) {
      this.markFailed(track);
      return;
    }
    await this.attach(track);
    this.afterSeek();
  }

  markFailed(track) {
    track.failed = true;
    if (track.problem) {
      setText(track.problem, "qa.cannotPlay");
      track.problem.hidden = false;
    }
  }

  // ---- the loop -----------------------------------------------------------------------------

  schedule() {
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.tick();
      this.schedule();
    });
  }

  afterSeek() {
    this.heldSince = null;
    for (const track of this.tracks) {
      track.stuck = false;
      track.settledAt = performance.now() + SETTLE_MS;
      const local = (this.clock.now() - track.offset) / 1000;
      if (track.el.readyState > 0) track.el.currentTime = clampTime(local, track);
    }
  }

  tick() {
    this.lastTick = performance.now();
    this.clock.checkEnd();
    const position = this.clock.now();
    const waiting = [];
    for (const track of this.tracks) this.align(track, position, waiting);
    this.holdFor(waiting);
    this.chooseStage(position);
    const inPause = this.pausedSpans.some((span) => position >= span.from_ms && position < span.to_ms);
    this.paused.hidden = !inPause;
    this.el.dataset.position = String(Math.round(position));
    this.setState(!this.clock.playing ? "paused" : this.clock.held ? "buffering" : "playing");
    this.emit("time", position);
  }

  align(track, position, waiting) {
    const el = track.el;
    const local = (position - track.offset) / 1000;
    const inside = local >= 0 && local < track.length / 1000;
    track.active = inside && !track.failed;
    if (!el.getAttribute("src") || el.readyState === 0 || track.failed) return;
    if (!track.active) {
      if (!el.paused) el.pause();
      return;
    }
    const now = performance.now();
    const nearEnd = track.length / 1000 - local < 0.3;
    const loading = (el.seeking || el.readyState < 3) && !nearEnd && !track.stuck;
    if (!loading) track.loadingSince = null;
    else if (track.loadingSince === null) track.loadingSince = now;
    if (this.clock.playing && loading && now - track.loadingSince >= LOADING_GRACE_MS) {
      waiting.push(track);
    }
    if (!this.clock.playing || this.clock.held) {
      // paused, or waiting for an element to load: everything stands still at the clock
      if (!el.paused) el.pause();
      if (!el.seeking && Math.abs(el.currentTime - local) > NUDGE_DRIFT_S) el.currentTime = local;
      return;
    }
    if (el.paused) {
      // it was kept at the clock while paused: seek only if it is not there (a new file)
      if (Math.abs(el.currentTime - local) > SEEK_DRIFT_S / 3) {
        el.currentTime = local;
        track.settledAt = now + SETTLE_MS;
      }
      el.play().catch(() => {});
      return;
    }
    if (now < track.settledAt || el.seeking) return;
    const drift = el.currentTime - local;
    if (Math.abs(drift) > SEEK_DRIFT_S) {
      el.currentTime = local;
      track.settledAt = now + SETTLE_MS;
      el.playbackRate = this.clock.rate;
    } else if (Math.abs(drift) > NUDGE_DRIFT_S) {
      el.playbackRate = this.clock.rate * (1 - Math.max(-0.1, Math.min(0.1, drift)) * NUDGE_GAIN);
    } else if (el.playbackRate !== this.clock.rate) {
      el.playbackRate = this.clock.rate;
    }
  }

  holdFor(waiting) {
    if (!this.clock.playing || waiting.length === 0) {
      this.heldSince = null;
      this.clock.release();
      return;
    }
    const now = performance.now();
    if (this.heldSince === null) this.heldSince = now;
    if (now - this.heldSince > STUCK_MS) {
      for (const track of waiting) track.stuck = true;
      this.heldSince = null;
      this.clock.release();
      return;
    }
    this.clock.hold();
  }

  /** The stage shows the newest shared screen playing now, else the customer's camera,
   * else the agent's (else the composite); the other pictures are small beside it. */
  chooseStage(position) {
    const visible = this.tracks.filter((t) => t.tile);
    const playingNow = (t) => t.active || (position >= t.offset && position < t.offset + t.length);
    const screens = visible.filter((t) => t.role === "screen" && playingNow(t))
      .sort((a, b) => b.offset - a.offset);
    const cameras = visible.filter((t) => t.role === "camera" && playingNow(t))
      .sort((a, b) => (a.participant === "customer" ? -1 : 1) - (b.participant === "customer" ? -1 : 1));
    const composite = visible.find((t) => t.role === "composite");
    const stage = screens[0] || cameras[0] || composite || null;
    for (const track of visible) {
      const shown = track === stage || (playingNow(track) && track.role !== "composite");
      track.tile.hidden = !shown;
      track.tile.classList.toggle("qa-tile--stage", track === stage);
    }
    this.empty.hidden = stage !== null;
    if (stage !== this.stageTrack) {
      this.stageTrack = stage;
      this.emit("stage", stage);
    }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.el.dataset.state = state;
    this.emit("state", state);
  }
}

/** Play the per-participant files; the composite only when there are none. */
function chooseFiles(files) {
  const tracks = files.filter((f) => f.kind === "track");
  return tracks.length > 0 ? tracks : files.filter((f) => f.kind === "composite").slice(0, 1);
}

function clampTime(local, track) {
  return Math.max(0, Math.min(track.length / 1000, local));
}
