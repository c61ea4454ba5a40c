// The page benchmarks/bad_network_browser.py loads into headless Chromium: one publisher or
// one subscriber of benchmarks.bad_network. Times are wall-clock ms
// (performance.timeOrigin + performance.now()); Python turns them into time.monotonic().
//
// Publisher: a 640x480 canvas (moving shapes and a moving patch of noise, so the encoder has
// real work) stamped with the frame number as 20 black/white blocks across the top 32 rows
// (16 bits of number, 4 of check), sent at 30 fps as VP8 (captureStream(0) and one
// requestFrame() per drawn frame), plus a 440 Hz WebAudio tone; every drawn frame is noted.
// Subscriber: plays what it receives in a <video>, reads the stamp of every presented frame
// (requestVideoFrameCallback) and samples getStats() inbound-rtp every 250 ms.
"use strict";

const WIDTH = 640;
const HEIGHT = 480;
const FPS = 30;
const BITS = 16;
const CHECK_BITS = 4;
const BLOCKS = BITS + CHECK_BITS;
const STAMP_ROWS = 32;
const READ_WIDTH = BLOCKS * 8; // the stamp strip as the subscriber reads it: 8 px per block
const READ_ROWS = 8;
const STATS_EVERY_MS = 250;
const GATHER_TIMEOUT_MS = 5000;

const wallNow = () => performance.timeOrigin + performance.now();

// 4 bits from the number's nibbles, never 0 for frame 0 (a black picture is no frame).
const check = (n) => (n ^ (n >> 4) ^ (n >> 8) ^ (n >> 12) ^ 0b1010) & 0xf;

async function gathered(pc) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function preferVp8(transceiver) {
  const codecs = RTCRtpReceiver.getCapabilities("video").codecs.filter(
    (c) => c.mimeType === "video/VP8" || c.mimeType === "video/rtx",
  );
  transceiver.setCodecPreferences(codecs);
}

// The numeric fields of each kind's stats of `type` (inbound-rtp or outbound-rtp), plus the
// selected candidate pair's, stamped with the wall time they were read.
async function snapshot(pc, type) {
  const out = { t: wallNow() };
  const report = await pc.getStats();
  for (const stat of report.values()) {
    if (stat.type === type || (stat.type === "candidate-pair" && stat.nominated)) {
      const key = stat.type === "candidate-pair" ? "pair" : stat.kind;
      const fields = {};
      for (const [name, value] of Object.entries(stat)) {
        if (typeof value === "number" || typeof value === "string") fields[name] = value;
      }
      out[key] = fields;
    }
  }
  return out;
}

class Publisher {
  constructor() {
    this.canvas = document.createElement("canvas");
    this.canvas.width = WIDTH;
    this.canvas.height = HEIGHT;
    document.body.append(this.canvas);
    this.ctx = this.canvas.getContext("2d");
    this.noise = this.ctx.createImageData(128, 96);
    this.drawn = [];
    this.stats = [];
    this.number = 0;
    this.timer = 0;
  }

  draw(n) {
    const ctx = this.ctx;
    const t = n / FPS;
    ctx.fillStyle = `hsl(${(n * 2) % 360} 50% 40%)`;
    ctx.fillRect(0, 0, WIDTH, HEIGHT);
    for (let i = 0; i < 6; i++) {
      ctx.fillStyle = `hsl(${i * 60} 80% 60%)`;
      const x = WIDTH / 2 + Math.sin(t * (0.7 + i * 0.3) + i) * 250;
      const y = HEIGHT / 2 + Math.cos(t * (0.5 + i * 0.2) + i) * 170;
      ctx.beginPath();
      ctx.arc(x, y, 30 + i * 8, 0, 2 * Math.PI);
      ctx.fill();
    }
    const data = this.noise.data;
    for (let i = 0; i < data.length; i += 4) {
      const v = (Math.random() * 256) | 0;
      data[i] = v;
      data[i + 1] = 255 - v;
      data[i + 2] = v;
      data[i + 3] = 255;
    }
    const nx = (WIDTH - 128) / 2 + Math.sin(t * 0.9) * 200;
    const ny = (HEIGHT - 96) / 2 + Math.cos(t * 1.3) * 150;
    ctx.putImageData(this.noise, nx | 0, ny | 0);
    const bits = (n & 0xffff) | (check(n & 0xffff) << BITS);
    const block = WIDTH / BLOCKS;
    for (let i = 0; i < BLOCKS; i++) {
      ctx.fillStyle = (bits >> i) & 1 ? "#fff" : "#000";
      ctx.fillRect(i * block, 0, block, STAMP_ROWS);
    }
  }

  // Draw and send one frame per 1/30 s slot; a slot missed (a busy machine) is skipped, not
  // caught up, so every drawn frame is one the encoder was offered.
  start(track) {
    const began = performance.now();
    let slot = 0;
    const tick = () => {
      const n = this.number++;
      this.draw(n & 0xffff);
      track.requestFrame();
      this.drawn.push([n & 0xffff, wallNow()]);
      const now = performance.now();
      slot = Math.max(slot + 1, Math.ceil(((now - began) * FPS) / 1000));
      this.timer = setTimeout(tick, Math.max(0, began + (slot * 1000) / FPS - now));
    };
    tick();
  }

  async offer() {
    const stream = this.canvas.captureStream(0);
    const [video] = stream.getVideoTracks();
    this.start(video);
    const audio = new AudioContext();
    await audio.resume();
    const tone = audio.createOscillator();
    tone.frequency.value = 440;
    const sink = audio.createMediaStreamDestination();
    tone.connect(sink);
    tone.start();
    const pc = (this.pc = new RTCPeerConnection());
    preferVp8(pc.addTransceiver(video, { direction: "sendonly", streams: [stream] }));
    pc.addTransceiver(sink.stream.getAudioTracks()[0], {
      direction: "sendonly",
      streams: [stream],
    });
    await pc.setLocalDescription();
    await gathered(pc);
    this.statsTimer = setInterval(async () => {
      this.stats.push(await snapshot(pc, "outbound-rtp"));
    }, STATS_EVERY_MS);
    return pc.localDescription.sdp;
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  take() {
    const taken = { drawn: this.drawn, stats: this.stats, state: this.pc?.connectionState };
    this.drawn = [];
    this.stats = [];
    return taken;
  }
}

class Subscriber {
  constructor() {
    this.video = document.createElement("video");
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.width = WIDTH;
    this.video.height = HEIGHT;
    document.body.append(this.video);
    const strip = document.createElement("canvas");
    strip.width = READ_WIDTH;
    strip.height = READ_ROWS;
    this.strip = strip.getContext("2d", { willReadFrequently: true });
    this.presented = [];
    this.stats = [];
    this.pc = null;
  }

  connect() {
    const pc = (this.pc = new RTCPeerConnection());
    const media = new MediaStream();
    pc.addEventListener("track", (event) => {
      media.addTrack(event.track);
      if (this.video.srcObject !== media) this.video.srcObject = media;
      this.video.play().catch(() => {});
    });
    this.video.requestVideoFrameCallback((now, meta) => this.onFrame(meta));
    this.statsTimer = setInterval(async () => {
      this.stats.push(await snapshot(pc, "inbound-rtp"));
    }, STATS_EVERY_MS);
    return pc;
  }

  // Read the stamp of the frame being presented: the top 32 rows of whatever size the
  // encoder chose, scaled into an 8 px-per-block strip, each block's centre pixel.
  onFrame(meta) {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (w && h) {
      this.strip.drawImage(this.video, 0, 0, w, (h * STAMP_ROWS) / HEIGHT, 0, 0, READ_WIDTH, READ_ROWS);
      const px = this.strip.getImageData(0, READ_ROWS / 2, READ_WIDTH, 1).data;
      let bits = 0;
      for (let i = 0; i < BLOCKS; i++) {
        const o = (i * 8 + 4) * 4;
        if (px[o] + px[o + 1] + px[o + 2] > 384) bits |= 1 << i;
      }
      const n = bits & 0xffff;
      const ok = bits >>> BITS === check(n);
      this.presented.push([ok ? n : -1, performance.timeOrigin + meta.presentationTime]);
    }
    this.video.requestVideoFrameCallback((now, next) => this.onFrame(next));
  }

  async offer() {
    const pc = this.connect();
    preferVp8(pc.addTransceiver("video", { direction: "recvonly" }));
    pc.addTransceiver("audio", { direction: "recvonly" });
    await pc.setLocalDescription();
    await gathered(pc);
    return pc.localDescription.sdp;
  }

  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  async accept(sdp) {
    const pc = this.connect();
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription();
    await gathered(pc);
    return pc.localDescription.sdp;
  }

  take() {
    const taken = {
      presented: this.presented,
      stats: this.stats,
      remote: this.pc?.remoteDescription?.sdp ?? "",
      state: this.pc?.connectionState,
    };
    this.presented = [];
    this.stats = [];
    return taken;
  }
}

window.bench = { Publisher, Subscriber };
