// The numbers call.stats carries, read from one RTCPeerConnection's getStats() every few
// seconds: round-trip time of the selected candidate pair, inbound jitter, packets lost since
// the previous sample (%), received bitrate, and frame rate and size of the video we receive
// (the screen while one is shared, else the camera).

export class StatsSampler {
  constructor() {
    this.previous = null; // {at, bytes, lost, received}
  }

  /** Forget the counters (a fresh peer connection starts them again from zero). */
  reset() {
    this.previous = null;
  }

  /**
   * @param {RTCStatsReport} report
   * @param {object} mids  {mid: role} of the current peer connection
   * @param {boolean} screenShown  the other participant is sharing a screen now
   * @returns the call.stats payload without call_id
   */
  sample(report, mids = {}, screenShown = false) {
    let pair = null;
    const pairs = [];
    const inbound = [];
    for (const stat of report.values()) {
      if (stat.type === "transport" && stat.selectedCandidatePairId) {
        pair = report.get(stat.selectedCandidatePairId) || pair;
      } else if (stat.type === "candidate-pair") {
        pairs.push(stat);
      } else if (stat.type === "inbound-rtp") {
        inbound.push(stat);
      }
    }
    if (!pair) pair = pairs.find((p) => p.nominated && p.state === "succeeded") || null;

    const now = performance.now();
    let bytes = 0;
    let lost = 0;
    let received = 0;
    let jitter = 0;
    let audioJitter = null;
    for (const stat of inbound) {
      bytes += stat.bytesReceived || 0;
      lost += Math.max(0, stat.packetsLost || 0);
      received += stat.packetsReceived || 0;
      if (typeof stat.jitter === "number") {
        jitter = Math.max(jitter, stat.jitter);
        if (stat.kind === "audio") audioJitter = stat.jitter;
      }
    }
    const previous = this.previous;
    this.previous = { at: now, bytes, lost, received };

    let lossPct = 0;
    let kbps = 0;
    if (previous) {
      const dLost = Math.max(0, lost - previous.lost);
      const dReceived = Math.max(0, received - previous.received);
      lossPct = dLost + dReceived > 0 ? (100 * dLost) / (dLost + dReceived) : 0;
      const seconds = (now - previous.at) / 1000;
      if (seconds > 0) kbps = (Math.max(0, bytes - previous.bytes) * 8) / seconds / 1000;
    }
    const payload = {
      rtt_ms: round(pair && typeof pair.currentRoundTripTime === "number"
        ? pair.currentRoundTripTime * 1000 : 0),
      jitter_ms: round((audioJitter !== null ? audioJitter : jitter) * 1000),
      loss_pct: round(Math.min(100, lossPct), 2),
      bitrate_kbps: round(kbps),
    };
    const video = receivedVideo(inbound, mids, screenShown);
    if (video) {
      if (typeof video.framesPerSecond === "number") payload.fps = round(video.framesPerSecond);
      if (video.frameWidth) payload.width = video.frameWidth;
      if (video.frameHeight) payload.height = video.frameHeight;
    }
    return payload;
  }
}

/** The received video stream worth reporting: a decoding screen first, else the camera. */
function receivedVideo(inbound, mids, screenShown) {
  const videos = inbound.filter((s) => s.kind === "video" && (s.framesDecoded || 0) > 0);
  const byRole = (role) => videos.find((s) => mids[s.mid] === role);
  return (screenShown && byRole("screen")) || byRole("camera") || null;
}

/** framesDecoded of the inbound-rtp in a receiver's stats report (0 when none yet). */
export function framesDecoded(report) {
  for (const stat of report.values()) {
    if (stat.type === "inbound-rtp") return stat.framesDecoded || 0;
  }
  return 0;
}

function round(value, digits = 1) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
