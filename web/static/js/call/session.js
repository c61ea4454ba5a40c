// One call as one participant sees it (protocol §8): ringing, accepting or declining, joining
// the relay with one peer connection, what we send (microphone, camera, screen) and what the
// other side sends, quality, step-downs, annotations, reconnecting, and the end.
//
// Lifecycle: ringing (incoming or outgoing) → joining → in call (⇄ rejoining) → ended; an
// ended session is never reused. close() releases every device and the peer connection.
//
// Events: "changed" (call)      any change worth redrawing: state, participants, our flags
//         "tracks"               the peer connection (and so the remote tracks) was replaced
//         "quality" (Quality or Link)    "downgrade" ({to, applied, reason})
//         "annotation" (Annotation)    "problem" (key)    "ended" (call)
//         "supervisor" ({user_id, name, mode} | null)  a supervisor whispers (to the agent) or
//                                barged in (both are told), or stopped

import { Emitter } from "../emitter.js";
import { call as request } from "../rpc.js";
import { LocalMedia } from "./localmedia.js";
import { CallPeer, ROLES } from "./peer.js";
import { StatsSampler } from "./stats.js";

const STATS_INTERVAL_MS = 5000;
const DISCONNECTED_GRACE_MS = 2000;
const REJOIN_RETRY_MS = 2000;
const JOIN_TIMEOUT_MS = 30000;
// TURN credentials must still be valid when the peer connection allocates: ask again when
// they expire within this margin.
const ICE_SERVERS_MARGIN_MS = 60000;

export class CallSession extends Emitter {
  /**
   * @param {object} options
   *   socket: () => SocketIOClient (the namespace's current socket)
   *   role: "customer" | "agent" (who we are in the call)
   *   call: Call from the server    owned: this tab started or accepted it
   *   onOwned(): this tab has just taken the call (accepted it)
   */
  constructor({ socket, role, call, owned = false, onOwned = () => {} }) {
    super();
    this.onOwned = onOwned;
    this.socket = socket;
    this.role = role;
    this.other = role === "agent" ? "customer" : "agent";
    this.call = call;
    this.owned = owned;
    this.flags = { audio: false, camera: false, screen: false };
    this.media = new LocalMedia({ onScreenEnded: () => this.screenEnded() });
    this.peer = null;
    this.supervisor = null;
    this.mids = {};
    this.joining = null;
    this.rejoinWanted = false;
    this.joinedOnce = false;
    this.relaySession = null;  // the call's relay_session our peer connection joined
    this.opening = null;  // the one openMedia() everybody waits for
    this.prepared = null;  // Promise<{peer, offer}> built while the call rings (prepare())
    this.ice = null;  // {servers: Promise<RTCIceServer[]>, expiresAt: ms | null} (iceServers())
    this.closed = false;
    this.quality = { customer: null, agent: null };
    this.links = { customer: null, agent: null };  // the relay's measure of each (call.link)
    this.downgradeOffer = null;
    this.sampler = new StatsSampler();
    this.statsTimer = null;
    this.disconnectTimer = null;
    this.retryTimer = null;
    this.answeredAt = call.answered_at ? Date.parse(call.answered_at) : null;
  }

  get id() {
    return this.call.id;
  }

  get chatId() {
    return this.call.chat_id;
  }

  get state() {
    return this.call.state;
  }

  get ended() {
    return this.call.state === "ended";
  }

  get incoming() {
    return this.call.started_by !== this.role;
  }

  get video() {
    return this.call.media === "video";
  }

  /** What the other participant is doing now (Participant), or a placeholder. */
  get them() {
    return (this.call.participants && this.call.participants[this.other])
      || { state: "invited", audio: false, camera: false, screen: false };
  }

  get me() {
    return (this.call.participants && this.call.participants[this.role])
      || { state: "invited", audio: false, camera: false, screen: false };
  }

  /** "connecting" until our peer connection is up, then "connected" (or "reconnecting"). */
  get link() {
    if (!this.peer) return this.joining ? "connecting" : "idle";
    const state = this.peer.connectionState;
    if (state === "connected") return "connected";
    if (state === "disconnected" || state === "failed") return "reconnecting";
    return this.joinedOnce ? "reconnecting" : "connecting";
  }

  // ---- what the server tells us -------------------------------------------------------------

  /** A Call snapshot (ack, call.updated, call.ringing, call.get); an older one (a smaller
   *  `rev`, say a late ack) is ignored, except that an ended call is always final. */
  update(call) {
    if (this.closed || !call || call.id !== this.id) return;
    if (call.state !== "ended" && typeof call.rev === "number" && call.rev < (this.call.rev || 0)) {
      return;
    }
    this.call = call;
    if (call.answered_at && !this.answeredAt) this.answeredAt = Date.parse(call.answered_at);
    if (call.state === "ended") {
      this.finish();
      return;
    }
    this.emit("changed", call);
    if (call.state !== "active" || !this.owned) return;
    if (!this.peer && !this.joining) {
      this.join();
    } else if (this.relaySession !== null && call.relay_session !== this.relaySession) {
      this.join();  // the relay worker hosting the call died: join the call's new room
    }
  }

  setQuality(quality) {
    if (!quality || !quality.participant) return;
    this.quality[quality.participant] = quality;
    this.emit("quality", quality);
  }

  /** call.link: how the relay measures a participant's link, beside the clients' own. */
  setLink(link) {
    if (!link || !link.participant) return;
    this.links[link.participant] = link;
    this.emit("quality", link);
  }

  /** call.downgrade: a suggestion (to the agent) or a step down both sides apply now. */
  async downgraded(event) {
    if (!event.applied) {
      this.downgradeOffer = event;
      this.emit("downgrade", event);
      return;
    }
    this.downgradeOffer = null;
    this.emit("downgrade", event);
    if (event.to === "screen_only" || event.to === "audio") await this.setCamera(false);
    if (event.to === "audio") await this.setScreen(false);
    // "chat": the server ends the call itself; make sure we hear about it.
    if (event.to === "chat") setTimeout(() => this.refresh(), 3000);
  }

  /** A supervisor whispers to us (agent) or barged in ({user_id, name, mode}), or left (null). */
  supervised(supervisor) {
    this.supervisor = supervisor;
    this.emit("supervisor", supervisor);
  }

  annotated(annotation) {
    this.emit("annotation", annotation);
  }

  // ---- ringing ----------------------------------------------------------------------------

  takeOwnership() {
    if (this.owned) return;
    this.owned = true;
    this.onOwned();
  }

  async accept() {
    this.takeOwnership();
    this.prepare();  // the offer is built while call.accept travels
    await this.openMedia();
    const call = await request(this.socket(), "call.accept", { call_id: this.id });
    this.update(call);
  }

  async decline() {
    const call = await request(this.socket(), "call.decline", { call_id: this.id });
    this.update(call);
  }

  /** Hang up (while ringing, the caller's hang-up cancels the call). */
  async hangup() {
    if (this.ended) return;
    try {
      const call = await request(this.socket(), "call.hangup", { call_id: this.id });
      this.update(call);
    } catch (error) {
      if (error.code === "conflict" || error.code === "not_found") await this.refresh();
      else throw error;
    }
  }

  /** Ask the server where the call stands (after a reconnect or a refused request). */
  async refresh() {
    try {
      this.update(await request(this.socket(), "call.get", { call_id: this.id }));
    } catch (error) {
      if (error.code === "not_found") this.finish();
    }
  }

  // ---- media -------------------------------------------------------------------------------

  /** Open the microphone (and camera) once; every caller waits for that one opening. */
  openMedia() {
    if (!this.opening) this.opening = this.openMediaOnce();
    return this.opening;
  }

  async openMediaOnce() {
    await this.media.open({ video: this.video });
    this.flags = { audio: Boolean(this.media.mic), camera: Boolean(this.media.camera),
      screen: false };
    for (const problem of this.media.problems) this.emit("problem", problem);
    this.emit("changed", this.call);
  }

  /** Our own camera / screen track, for the self-view. */
  localTrack(role) {
    if (role === "camera") return this.flags.camera ? this.media.camera : null;
    if (role === "screen") return this.flags.screen ? this.media.screen : null;
    return null;
  }

  remoteTrack(role) {
    return this.peer ? this.peer.remoteTrack(role) : null;
  }

  async setAudio(on) {
    if (on && !this.media.mic) {
      this.media.mic = await this.media.capture({ audio: true }, "microphone");
      if (!this.media.mic) {
        this.emit("problem", "microphone");
        return;
      }
    }
    this.flags.audio = on;
    if (this.peer) await this.peer.send("audio", on ? this.media.mic : null);
    await this.sendFlags();
  }

  async setCamera(on) {
    if (on === this.flags.camera) return;
    if (on) {
      const track = await this.media.cameraOn();
      if (!track) {
        this.emit("problem", "camera");
        return;
      }
      if (this.closed) return;
    }
    this.flags.camera = on;
    if (this.peer) await this.peer.send("camera", on ? this.media.camera : null);
    if (!on) this.media.cameraOff();
    await this.sendFlags();
  }

  async setScreen(on) {
    if (on === this.flags.screen) return;
    if (on) {
      const track = await this.media.screenOn();
      if (!track) {
        if (this.media.problems.has("screen")) this.emit("problem", "screen");
        return;
      }
      if (this.closed) {
        this.media.screenOff();
        return;
      }
    }
    this.flags.screen = on;
    if (this.peer) await this.peer.send("screen", on ? this.media.screen : null);
    if (!on) this.media.screenOff();
    await this.sendFlags();
  }

  /** The browser's own "Stop sharing" ended the screen track. */
  screenEnded() {
    if (!this.flags.screen) return;
    this.flags.screen = false;
    if (this.peer) this.peer.send("screen", null).catch(() => {});
    this.sendFlags().catch(() => {});
  }

  async sendFlags() {
    this.emit("changed", this.call);
    if (!this.peer || this.closed || this.ended) return;
    try {
      const participant = await request(this.socket(), "call.media",
        { call_id: this.id, ...this.flags });
      if (participant && this.call.participants) {
        this.call = { ...this.call,
          participants: { ...this.call.participants, [this.role]: participant } };
        this.emit("changed", this.call);
      }
    } catch (error) {
      console.warn("LiveAssist: call.media failed", error);
    }
  }

  // ---- guidance (agents) ----------------------------------------------------------------------

  annotate(annotation) {
    return request(this.socket(), "call.annotate", { call_id: this.id, ...annotation });
  }

  /** The agent steps the call down: "screen_only", "audio" or "chat". */
  async downgrade(to) {
    this.downgradeOffer = null;
    const call = await request(this.socket(), "call.downgrade", { call_id: this.id, to });
    this.update(call);
  }

  /** The agent starts, pauses or resumes the call's recording: "start" | "pause" | "resume". */
  async record(action) {
    const call = await request(this.socket(), "call.record", { call_id: this.id, action });
    this.update(call);
  }

  // ---- joining the relay ----------------------------------------------------------------------

  /** Build a fresh peer connection and call.join (first time, or again after a failure). */
  join() {
    if (this.closed || this.ended) return Promise.resolve();
    if (this.joining) {
      this.rejoinWanted = true;
      return this.joining;
    }
    clearTimeout(this.retryTimer);
    this.joining = this.joinOnce().catch((error) => {
      console.warn("LiveAssist: call.join failed", error);
      if (error && error.code === "relay_unavailable") return this.refresh();
      if (!this.closed && !this.ended) {
        this.retryTimer = setTimeout(() => this.join(), REJOIN_RETRY_MS);
      }
      return undefined;
    }).finally(() => {
      this.joining = null;
      this.emit("changed", this.call);
      if (this.rejoinWanted && !this.closed && !this.ended) {
        this.rejoinWanted = false;
        this.join();
      }
    });
    this.emit("changed", this.call);
    return this.joining;
  }

  /**
   * The call's ICE servers for a new peer connection (call.ice_servers), asked once and again
   * only when their TURN credentials are about to expire. A server that cannot say (an older
   * one, or a refusal) means none: the relay is then reached directly, as before.
   */
  iceServers() {
    const ice = this.ice;
    if (ice && (ice.expiresAt === null || ice.expiresAt - Date.now() > ICE_SERVERS_MARGIN_MS)) {
      return ice.servers;
    }
    const asked = { expiresAt: null };
    asked.servers = request(this.socket(), "call.ice_servers", { call_id: this.id })
      .then((data) => {
        asked.expiresAt = data.expires_at ? Date.parse(data.expires_at) : null;
        return data.ice_servers || [];
      }, (error) => {
        console.warn("LiveAssist: call.ice_servers failed", error);
        if (this.ice === asked) this.ice = null;  // ask again for the next peer connection
        return [];
      });
    this.ice = asked;
    return asked.servers;
  }

  /** A fresh CallPeer with the call's ICE servers. */
  async newPeer() {
    const iceServers = await this.iceServers();
    const peer = new CallPeer({ iceServers,
      onConnectionState: (state) => this.linkChanged(peer, state) });
    return peer;
  }

  /**
   * Build the peer connection and its offer (certificate, ICE gathering) while the call
   * rings, so that joining once it is answered is a single round trip. Only the first
   * join uses it; a failed preparation just means that join builds its own.
   */
  prepare() {
    if (this.prepared || this.peer || this.joinedOnce || this.closed || this.ended) return;
    this.prepared = (async () => {
      this.iceServers();  // asked while the devices open
      await this.openMedia();
      const peer = await this.newPeer();
      try {
        return { peer, offer: await peer.createOffer(this.currentTracks()) };
      } catch (error) {
        peer.close();
        throw error;
      }
    })();
    this.prepared.catch(() => {});
  }

  /** The prepared {peer, offer} if it is still unused, else null (and it is closed). */
  async takePrepared() {
    const prepared = this.prepared;
    this.prepared = null;
    if (!prepared) return null;
    try {
      const ready = await prepared;
      if (ready.peer.connectionState === "new" && !this.closed) return ready;
      ready.peer.close();
    } catch {
      // built afresh below
    }
    return null;
  }

  currentTracks() {
    return {
      audio: this.flags.audio ? this.media.mic : null,
      camera: this.flags.camera ? this.media.camera : null,
      screen: this.flags.screen ? this.media.screen : null,
    };
  }

  async joinOnce() {
    await this.openMedia();
    if (this.closed) return;
    const old = this.peer;
    this.peer = null;
    if (old) old.close();
    clearTimeout(this.disconnectTimer);
    const ready = await this.takePrepared();
    const peer = ready ? ready.peer : await this.newPeer();
    if (this.closed) {
      peer.close();
      return;
    }
    const tracks = this.currentTracks();
    // The flags ride with the offer (protocol §8), saving a call.media after every join.
    const sent = { ...this.flags };
    let offer;
    try {
      if (ready) {
        offer = ready.offer;
        for (const role of ROLES) await peer.send(role, tracks[role]);  // toggled meanwhile
      } else {
        offer = await peer.createOffer(tracks);
      }
      const result = await request(this.socket(), "call.join",
        { call_id: this.id, offer: offer.offer, tracks: offer.tracks, media: sent },
        JOIN_TIMEOUT_MS);
      if (this.closed) throw new Error("closed");
      await peer.acceptAnswer(result.answer);
      this.peer = peer;
      this.mids = offer.tracks;
      this.sampler.reset();
      this.joinedOnce = true;
      this.relaySession = result.call ? result.call.relay_session : null;
      // A call.updated that came in meanwhile may be newer than the ack's snapshot (the
      // other side joining right after us): update() keeps whichever has the larger rev.
      if (result.call) this.update(result.call);
    } catch (error) {
      peer.close();
      throw error;
    }
    this.emit("tracks");
    this.startStats();
    const changed = ["audio", "camera", "screen"].some((key) => sent[key] !== this.flags[key]);
    if (changed) await this.sendFlags();  // toggled while joining
    else this.emit("changed", this.call);
  }

  linkChanged(peer, state) {
    if (peer !== this.peer || this.closed) return;
    this.emit("changed", this.call);
    clearTimeout(this.disconnectTimer);
    if (state === "failed") {
      this.join();
    } else if (state === "disconnected") {
      this.disconnectTimer = setTimeout(() => {
        if (peer === this.peer && ["disconnected", "failed"].includes(peer.connectionState)) {
          this.join();
        }
      }, DISCONNECTED_GRACE_MS);
    }
  }

  /** The signaling socket came back: where is the call now, and join it again if it goes on. */
  async resume() {
    await this.refresh();
    if (!this.closed && !this.ended && this.owned && this.state === "active") this.join();
  }

  // ---- stats ---------------------------------------------------------------------------------

  startStats() {
    if (this.statsTimer !== null) return;
    this.statsTimer = setInterval(() => this.sendStats(), STATS_INTERVAL_MS);
  }

  async sendStats() {
    const peer = this.peer;
    if (!peer || this.closed || this.ended || peer.connectionState !== "connected") return;
    try {
      const report = await peer.getStats();
      const sample = this.sampler.sample(report, this.mids, Boolean(this.them.screen));
      const quality = await request(this.socket(), "call.stats", { call_id: this.id, ...sample });
      this.setQuality(quality);
    } catch (error) {
      console.warn("LiveAssist: call.stats failed", error);
    }
  }

  // ---- the end ----------------------------------------------------------------------------

  finish() {
    if (this.closed) return;
    this.close();
    this.emit("ended", this.call);
  }

  /** Release devices, the peer connection and timers (idempotent). */
  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.statsTimer);
    clearTimeout(this.disconnectTimer);
    clearTimeout(this.retryTimer);
    this.statsTimer = null;
    if (this.peer) this.peer.close();
    this.peer = null;
    if (this.prepared) this.prepared.then((ready) => ready.peer.close(), () => {});
    this.prepared = null;
    this.media.stop();
    this.flags = { audio: false, camera: false, screen: false };
  }
}

export { ROLES };
