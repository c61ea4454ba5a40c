// The console's Live calls view (supervisors: admins): the organisation's running calls
// (supervise.list, refreshed every 5 s while shown), and for the one being supervised both
// parties' camera and screen, both voices, and three modes — listen only (nobody hears the
// supervisor; the customer is not told), speak to the agent (only the agent hears; the
// customer is not told) and join the call (both hear; the customer is told). Protocol §8.9.
//
// The supervisor's peer connection (its STUN/TURN from supervise.ice_servers) receives each
// party's audio, camera and screen on m-lines pinned to that party, and sends the microphone
// on one "voice" m-line from the start: the relay decides who hears it. While listening only, the microphone track is also disabled
// here, so nothing but silence leaves the browser.
//
// Test hooks: table[data-table=live-calls] tr[data-call-id] button[data-action=monitor],
// #sup-panel[data-mode], #sup-panel video[data-tile=customer-camera|agent-camera|…],
// #sup-panel button[data-mode=monitor|whisper|barge], #sup-leave, #sup-state.

import "../supervisestrings.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { duration } from "../format.js";
import { gathered } from "../call/peer.js";
import { call as request } from "../rpc.js";
import { toast } from "./toast.js";

const REFRESH_MS = 5000;
const PARTIES = ["customer", "agent"];
const ROLES = ["audio", "camera", "screen"];
const MODES = ["monitor", "whisper", "barge"];

export class SuperviseView {
  /** live: the console's AgentLive (its socket); announce(key, args): read out a change. */
  constructor({ live, announce = () => {} }) {
    this.live = live;
    this.announce = announce;
    this.timer = null;
    this.calls = [];
    this.current = null; // {callId, pc, mic, mode, row}
    this.list = h("div", { class: "sup-list", "aria-live": "polite" });
    this.panel = h("section", { id: "sup-panel", class: "sup-panel", hidden: true,
      "aria-labelledby": "sup-watching" });
    this.el = h("div", { class: "supervise-view" },
      h("div", { class: "settings-section__head" },
        h("h2", { id: "supervise-title", tabindex: -1, i18n: "sup.title" }),
        h("button", { type: "button", id: "sup-refresh", class: "button button--small",
          i18n: "sup.refresh", onclick: () => this.refresh() })),
      h("p", { class: "muted", i18n: "sup.intro" }),
      this.panel, this.list);
    this.unsubscribe = [];
  }

  /** The view is shown: list the calls and keep the list fresh. */
  load() {
    this.listen();
    this.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.el.isConnected && !this.el.closest("[hidden]")) this.refresh();
    }, REFRESH_MS);
  }

  /** Left the view (or signed out): stop refreshing; a supervised call is left. */
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.current) this.leave();
  }

  listen() {
    if (this.unsubscribe.length || !this.live.socket) return;
    this.unsubscribe.push(this.live.socket.on("connect", () => {
      if (this.el.isConnected && !this.el.closest("[hidden]")) this.refresh();
    }));
    this.unsubscribe.push(this.live.socket.on("supervise.ended", (event) => {
      if (!this.current || event.call_id !== this.current.callId) return;
      this.close();
      toast(`sup.ended.${event.why}`);
      this.announce(`sup.ended.${event.why}`);
      this.refresh();
    }));
  }

  async refresh() {
    let listed;
    try {
      listed = await request(this.live.socket, "supervise.list");
    } catch (error) {
      replace(this.list, h("p", { class: "form-error", text: errorMessage(error) }));
      return;
    }
    this.calls = listed.calls;
    this.render();
    const supervised = this.current && this.calls.find((c) => c.call_id === this.current.callId);
    if (supervised) this.showScreens(supervised);
  }

  /** A screen tile only while that party shares a screen (as the list says). */
  showScreens(row) {
    for (const party of PARTIES) {
      const tile = this.tiles[`${party}-screen`];
      if (tile) tile.closest("figure").hidden = !row.participants[party].screen;
    }
  }

  render() {
    if (!this.calls.length) {
      replace(this.list, h("p", { class: "muted", id: "sup-none", i18n: "sup.none" }));
      return;
    }
    const now = Date.now();
    // The action comes second: on a phone it is in sight without scrolling the table.
    const headings = ["sup.customer", "sup.actions", "sup.agent", "sup.length", "sup.media",
      "sup.supervisor"];
    replace(this.list, h("div", { class: "dash-scroll", tabindex: 0, role: "region",
      i18nAttrs: { "aria-label": "sup.listLabel" } },
      h("table", { class: "table", dataset: { table: "live-calls" } },
        h("thead", {}, h("tr", {}, ...headings.map((key) => h("th", { scope: "col", i18n: key })))),
        h("tbody", {}, ...this.calls.map((row) => this.row(row, now))))));
  }

  row(row, now) {
    const started = row.answered_at ? Date.parse(row.answered_at) : now;
    const sending = (party) => {
      const media = row.participants[party];
      const on = ROLES.filter((role) => media[role]);
      return on.length ? on.map((role) => `sup.sends.${role}`) : ["sup.sends.none"];
    };
    const mine = this.current && this.current.callId === row.call_id;
    const taken = row.supervisor && !mine;
    const names = { customer: row.customer_name, agent: row.agent_name || "—" };
    const action = h("td", {}, h("button", {
      type: "button",
      class: "button button--small button--primary",
      dataset: { action: "monitor" },
      disabled: Boolean(taken || mine),
      i18n: "sup.monitor",
      i18nAttrs: { "aria-label": "sup.monitorCall" },
      i18nArgs: names,
      onclick: () => this.monitor(row),
    }), taken ? h("span", { class: "muted sup-taken", i18n: "sup.taken",
      i18nArgs: { name: row.supervisor.name } }) : null);
    return h("tr", { dataset: { callId: row.call_id } },
      h("th", { scope: "row", text: names.customer }),
      action,
      h("td", { text: names.agent }),
      h("td", {}, duration((now - started) / 1000)),
      h("td", {}, ...PARTIES.map((party) => h("span", { class: "sup-sends" },
        h("span", { class: "sup-sends__who", i18n: `sup.${party}` }),
        ...sending(party).map((key) => h("span", { class: "sup-chip", i18n: key }))))),
      h("td", {}, row.supervisor
        ? h("span", { text: row.supervisor.name })
        : h("span", { class: "muted", i18n: "sup.nobody" })));
  }

  // ---- supervising one call ----------------------------------------------------------------

  async monitor(row) {
    if (this.current) this.leave();
    const current = { callId: row.call_id, pc: null, mic: null, mode: "monitor", row };
    this.current = current;
    this.showPanel(row);
    setText(this.state, "sup.connecting");
    try {
      current.mic = await microphone();
      if (!current.mic) toast("sup.noMic", null, { tone: "error" });
      const { offer, tracks, sources } = await this.buildOffer(current);
      const joined = await request(this.live.socket, "supervise.join",
        { call_id: row.call_id, offer, tracks, sources, mode: "monitor" }, 30000);
      if (this.current !== current) return; // left meanwhile
      await current.pc.setRemoteDescription({ type: "answer", sdp: joined.answer });
      this.showMode("monitor");
      this.refresh();
    } catch (error) {
      if (this.current === current) this.close();
      toast(null, null, { tone: "error", text: errorMessage(error) });
    }
  }

  async buildOffer(current) {
    // STUN/TURN as the server hands them to this supervisor (none: the relay is reached
    // directly), exactly as the parties' pages do.
    const { ice_servers: iceServers } = await request(this.live.socket, "supervise.ice_servers",
      { call_id: current.callId });
    const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require",
      iceServers });
    current.pc = pc;
    const tracks = {};
    const sources = {};
    const receivers = [];
    for (const party of PARTIES) {
      for (const role of ROLES) {
        const transceiver = pc.addTransceiver(role === "audio" ? "audio" : "video",
          { direction: "recvonly" });
        receivers.push({ party, role, transceiver });
      }
    }
    const micTrack = current.mic ? current.mic.getAudioTracks()[0] : null;
    if (micTrack) micTrack.enabled = false; // listening only until a mode says otherwise
    const voice = pc.addTransceiver(micTrack || "audio", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    for (const { party, role, transceiver } of receivers) {
      tracks[transceiver.mid] = role;
      sources[transceiver.mid] = party;
      this.bind(party, role, transceiver.receiver.track);
    }
    tracks[voice.mid] = "voice";
    return { offer: pc.localDescription.sdp, tracks, sources };
  }

  bind(party, role, track) {
    const stream = new MediaStream([track]);
    if (role === "audio") {
      this.voices[party].srcObject = stream;
      this.voices[party].play().catch(() => {});
      return;
    }
    const video = this.tiles[`${party}-${role}`];
    video.srcObject = stream;
    video.play().catch(() => {});
  }

  showPanel(row) {
    const names = { customer: row.customer_name, agent: row.agent_name || "—" };
    this.tiles = {};
    this.voices = {};
    const tile = (party, role) => {
      const label = `sup.tile.${party}${role === "camera" ? "Camera" : "Screen"}`;
      const video = h("video", { autoplay: true, playsinline: true, muted: true,
        dataset: { tile: `${party}-${role}` }, i18nAttrs: { "aria-label": label } });
      video.muted = true;
      this.tiles[`${party}-${role}`] = video;
      return h("figure", { class: "sup-tile" }, video,
        h("figcaption", { i18n: label }));
    };
    for (const party of PARTIES) {
      this.voices[party] = h("audio", { autoplay: true, dataset: { voice: party } });
    }
    this.state = h("p", { id: "sup-state", class: "sup-state", role: "status" });
    this.modeButtons = MODES.map((mode) => h("button", {
      type: "button", class: "button sup-mode", dataset: { mode }, "aria-pressed": "false",
      i18n: `sup.mode.${mode}`, onclick: () => this.setMode(mode),
    }));
    replace(this.panel,
      h("h3", { id: "sup-watching", tabindex: -1, i18n: "sup.watching", i18nArgs: names }),
      h("div", { class: "sup-controls" },
        h("div", { class: "sup-modes", role: "group", i18nAttrs: { "aria-label": "sup.mode" } },
          ...this.modeButtons),
        h("button", { type: "button", id: "sup-leave", class: "button button--danger",
          i18n: "sup.leave", onclick: () => this.leave() })),
      this.state,
      h("div", { class: "sup-stage" },
        tile("customer", "camera"), tile("agent", "camera"),
        tile("customer", "screen"), tile("agent", "screen")),
      ...Object.values(this.voices));
    this.showScreens(row);
    this.panel.hidden = false;
    this.panel.dataset.mode = "";
    this.panel.querySelector("h3").focus();
  }

  showMode(mode) {
    if (!this.current) return;
    this.current.mode = mode;
    this.panel.dataset.mode = mode;
    for (const button of this.modeButtons) {
      button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    }
    setText(this.state, `sup.state.${mode}`);
    const mic = this.current.mic && this.current.mic.getAudioTracks()[0];
    if (mic) mic.enabled = mode !== "monitor";
  }

  async setMode(mode) {
    const current = this.current;
    if (!current || current.mode === mode) return;
    try {
      await request(this.live.socket, "supervise.mode", { call_id: current.callId, mode });
      if (this.current === current) this.showMode(mode);
      this.announce(`sup.state.${mode}`);
    } catch (error) {
      toast(null, null, { tone: "error", text: errorMessage(error) });
    }
  }

  leave() {
    const current = this.current;
    if (!current) return;
    request(this.live.socket, "supervise.leave", { call_id: current.callId })
      .catch(() => {}) // the call may have ended meanwhile: nothing to leave
      .finally(() => this.refresh());
    this.close();
    const title = this.el.querySelector("#supervise-title");
    if (title) title.focus();
  }

  /** Drop the peer connection and the panel (the server side is left or already gone). */
  close() {
    const current = this.current;
    this.current = null;
    if (!current) return;
    if (current.pc) current.pc.close();
    if (current.mic) for (const track of current.mic.getTracks()) track.stop();
    for (const video of Object.values(this.tiles || {})) video.srcObject = null;
    for (const audio of Object.values(this.voices || {})) audio.srcObject = null;
    replace(this.panel);
    this.panel.hidden = true;
  }

  destroy() {
    this.stop();
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }
}

/** The microphone, or null when it is refused or missing (the supervisor can still listen). */
async function microphone() {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    return null;
  }
}
