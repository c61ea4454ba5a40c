// One participant's RTCPeerConnection to the relay (protocol §8): three sendrecv
// transceivers in the order audio, camera, screen, and a fourth, receive-only audio ("voice")
// on which a supervisor's whisper or barge is heard; the offer is sent once ICE gathering is
// complete (no trickle) or shortly after a TURN relay candidate, with the role of each m-line
// by its mid. Nothing is renegotiated: starting or stopping a source is replaceTrack() on
// that role's sender.
//
// A CallPeer is used once: a reconnect builds a fresh one (aiortc has no ICE restart).
// Its ICE servers (STUN, TURN with this participant's credentials) come from call.ice_servers.

export const ROLES = ["audio", "camera", "screen"];
const KIND = { audio: "audio", camera: "video", screen: "video" };
const GATHER_TIMEOUT_MS = 8000;
// A TURN relay candidate reaches the relay whatever else the network blocks, so once one is
// gathered, waiting for slower ICE servers only delays the call: a TURN URL whose UDP the
// network drops never answers, and kept the offer back for the whole GATHER_TIMEOUT_MS
// (measured: 8.0 s, against 0.2-0.4 s now; docs/turn.md). Candidates still to come are not
// lost: their checks reach the relay, which learns them as peer-reflexive.
const AFTER_RELAY_MS = 250;

export class CallPeer {
  /**
   * @param {object} options
   *   iceServers: RTCIceServer[] for this call ([]: the relay is reached directly)
   *   onConnectionState(state): the RTCPeerConnection's connectionState changed
   */
  constructor({ iceServers = [], onConnectionState = () => {} } = {}) {
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require",
      iceServers });
    this.closed = false;
    this.transceivers = {};
    this.pc.addEventListener("connectionstatechange", () => {
      if (!this.closed) onConnectionState(this.pc.connectionState);
    });
  }

  get connectionState() {
    return this.closed ? "closed" : this.pc.connectionState;
  }

  /**
   * Add the three transceivers with the tracks we send now ({audio, camera, screen}, each a
   * track or null), gather, and return {offer: SDP string, tracks: {mid: role}}.
   */
  async createOffer(tracks) {
    for (const role of ROLES) {
      const transceiver = this.pc.addTransceiver(tracks[role] || KIND[role],
        { direction: "sendrecv" });
      preferCodecs(transceiver, KIND[role]);
      this.transceivers[role] = transceiver;
    }
    this.transceivers.voice = this.pc.addTransceiver("audio", { direction: "recvonly" });
    preferCodecs(this.transceivers.voice, "audio");
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gathered(this.pc);
    const map = {};
    for (const role of [...ROLES, "voice"]) map[this.transceivers[role].mid] = role;
    return { offer: this.pc.localDescription.sdp, tracks: map };
  }

  /** The relay's answer: an SDP string (or {type, sdp}). */
  async acceptAnswer(answer) {
    const sdp = typeof answer === "string" ? answer : answer && answer.sdp;
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** Start, change or stop what we send for one role (null stops it). */
  async send(role, track) {
    const transceiver = this.transceivers[role];
    if (!transceiver || this.closed) return;
    if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
  }

  /** The track the relay forwards to us for `role` (the other participant's audio/camera/screen,
   *  or "voice": a supervisor's, while they whisper to an agent or barge in). */
  remoteTrack(role) {
    const transceiver = this.transceivers[role];
    return transceiver ? transceiver.receiver.track : null;
  }

  /** getStats() of the receiver of one role (inbound-rtp for that m-line). */
  receiverStats(role) {
    const transceiver = this.transceivers[role];
    return transceiver ? transceiver.receiver.getStats() : Promise.resolve(new Map());
  }

  getStats() {
    return this.pc.getStats();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.pc.close();
    } catch {
      // already closed
    }
  }
}

/** VP8 first (the relay forwards without transcoding, so both sides must agree), H.264 next. */
function preferCodecs(transceiver, kind) {
  if (typeof transceiver.setCodecPreferences !== "function" || !RTCRtpReceiver.getCapabilities) {
    return;
  }
  const capabilities = RTCRtpReceiver.getCapabilities(kind);
  if (!capabilities) return;
  const rank = kind === "audio"
    ? (c) => (/\/opus$/i.test(c.mimeType) ? 0 : null)
    : (c) => {
      if (/\/VP8$/i.test(c.mimeType)) return 0;
      if (/\/H264$/i.test(c.mimeType)) return 1;
      if (/\/rtx$/i.test(c.mimeType)) return 2;
      return null;
    };
  const chosen = capabilities.codecs
    .map((codec, index) => ({ codec, index, rank: rank(codec) }))
    .filter((entry) => entry.rank !== null)
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.codec);
  if (chosen.length === 0) return;
  try {
    transceiver.setCodecPreferences(chosen);
  } catch (error) {
    console.warn("LiveAssist: codec preferences refused", error);
  }
}

/** Until gathering is complete, AFTER_RELAY_MS after the first relay candidate, or at most
 *  GATHER_TIMEOUT_MS; whatever was gathered by then goes in the offer. */
export function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    let early = null;
    const done = () => {
      clearTimeout(timer);
      clearTimeout(early);
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", relayed);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const relayed = (event) => {
      if (early === null && event.candidate && event.candidate.type === "relay") {
        early = setTimeout(done, AFTER_RELAY_MS);
      }
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", relayed);
    if (/ typ relay/.test(pc.localDescription ? pc.localDescription.sdp : "")) {
      relayed({ candidate: { type: "relay" } });
    }
  });
}
