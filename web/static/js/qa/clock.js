// One media clock for a recorded call: the position (ms from the recording's start) that every
// media element, the annotations and the timeline follow. It runs on performance.now(), so no
// single file (which may start late, stop early or have gaps) decides the time.
//
// Events: "play", "pause", "seek" (ms), "ended". While `held` (an element is still loading
// what it needs) the position stands still but the clock stays "playing".

import { Emitter } from "../emitter.js";

export class MediaClock extends Emitter {
  constructor(durationMs) {
    super();
    this.duration = Math.max(0, durationMs);
    this.base = 0; // the position when the clock last started, paused or seeked
    this.since = null; // performance.now() of that start, null when not advancing
    this.wanted = false; // playing (perhaps held)
    this.rate = 1;
  }

  get playing() {
    return this.wanted;
  }

  get held() {
    return this.wanted && this.since === null;
  }

  /** The position now, in ms. */
  now() {
    if (this.since === null) return this.base;
    return Math.min(this.duration, this.base + (performance.now() - this.since) * this.rate);
  }

  play() {
    if (this.wanted) return;
    if (this.base >= this.duration) this.base = 0;
    this.wanted = true;
    this.since = performance.now();
    this.emit("play");
  }

  pause() {
    if (!this.wanted) return;
    this.base = this.now();
    this.wanted = false;
    this.since = null;
    this.emit("pause");
  }

  toggle() {
    if (this.wanted) this.pause();
    else this.play();
  }

  seek(ms) {
    this.base = Math.max(0, Math.min(this.duration, ms));
    if (this.since !== null) this.since = performance.now();
    this.emit("seek", this.base);
  }

  setRate(rate) {
    this.base = this.now();
    if (this.since !== null) this.since = performance.now();
    this.rate = rate;
  }

  /** Stand still while media loads, without leaving the playing state. */
  hold() {
    if (this.since === null) return;
    this.base = this.now();
    this.since = null;
  }

  release() {
    if (this.wanted && this.since === null) this.since = performance.now();
  }

  /** Called on every tick: stop at the end. */
  checkEnd() {
    if (this.wanted && this.now() >= this.duration) {
      this.base = this.duration;
      this.wanted = false;
      this.since = null;
      this.emit("ended");
    }
  }
}
