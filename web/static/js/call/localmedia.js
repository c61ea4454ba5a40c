// What this participant captures: the microphone, the camera and a shared screen, each one
// MediaStreamTrack or null. Tracks outlive peer connections (a reconnect reuses them); the
// camera is released when turned off so its light goes out; the microphone stays open while
// muted so unmuting is instant.
//
// The screen comes from getDisplayMedia(), unless the page defines
// window.__liveassistScreenSource: a function returning a MediaStream (or a promise of one),
// used by tests and kiosks whose screen is a canvas.captureStream().

const CAMERA = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } };
const SCREEN = { frameRate: { ideal: 15, max: 30 } };

/**
 * Whether this device can share its screen. Phones and tablets cannot (Android and iOS
 * browsers have no getDisplayMedia, and a mobile browser that lists it cannot capture), so
 * they are not offered the button at all.
 */
export function canShareScreen() {
  const devices = navigator.mediaDevices;
  const capture = Boolean(devices && (devices.getDisplayMedia || window.__liveassistScreenSource));
  const hints = navigator.userAgentData;
  const mobile = Boolean(hints && hints.mobile)
    || /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
  return capture && !mobile;
}

export class LocalMedia {
  /** @param {object} options  onScreenEnded(): the browser's own "stop sharing" was used */
  constructor({ onScreenEnded = () => {} } = {}) {
    this.onScreenEnded = onScreenEnded;
    this.mic = null;
    this.camera = null;
    this.screen = null;
    this.problems = new Set(); // "microphone" | "camera" | "screen": not allowed or missing
  }

  get available() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /** Open the microphone (and camera when `video`); what cannot be opened is left null. */
  async open({ video }) {
    if (!this.available) {
      this.problems.add("microphone");
      if (video) this.problems.add("camera");
      return;
    }
    if (!this.mic) this.mic = await this.capture({ audio: true }, "microphone");
    if (video && !this.camera) this.camera = await this.capture({ video: CAMERA }, "camera");
  }

  async cameraOn() {
    if (this.camera) return this.camera;
    this.camera = await this.capture({ video: CAMERA }, "camera");
    return this.camera;
  }

  cameraOff() {
    stopTrack(this.camera);
    this.camera = null;
  }

  async screenOn() {
    if (this.screen) return this.screen;
    let stream;
    try {
      const source = window.__liveassistScreenSource;
      if (typeof source === "function") stream = await source();
      else stream = await navigator.mediaDevices.getDisplayMedia({ video: SCREEN, audio: false });
    } catch (error) {
      if (error && error.name !== "NotAllowedError") this.problems.add("screen");
      return null;
    }
    const track = stream && stream.getVideoTracks()[0];
    if (!track) return null;
    if ("contentHint" in track) track.contentHint = "detail";
    track.addEventListener("ended", () => {
      if (this.screen === track) {
        this.screen = null;
        this.onScreenEnded();
      }
    });
    this.screen = track;
    return track;
  }

  screenOff() {
    const track = this.screen;
    this.screen = null;
    stopTrack(track);
  }

  /** Release every device (the call is over). */
  stop() {
    stopTrack(this.mic);
    this.mic = null;
    this.cameraOff();
    this.screenOff();
  }

  async capture(constraints, what) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      this.problems.delete(what);
      return stream.getTracks()[0] || null;
    } catch (error) {
      console.warn(`LiveAssist: no ${what}`, error);
      this.problems.add(what);
      return null;
    }
  }
}

function stopTrack(track) {
  if (track) track.stop();
}
