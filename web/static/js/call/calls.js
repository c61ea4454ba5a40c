// The calls of one page (one Socket.IO namespace, customer or agent): routes the server's
// call.* pushes to a CallSession per call, starts calls, and picks calls up again after a
// reload (the ids of calls this tab takes part in are kept in sessionStorage, so a reload
// rejoins while another tab of the same person does not steal the call).
//
// Events: "session" (CallSession)  a call to show (ringing, outgoing, or resumed)
//         "ended" (CallSession)    it ended (declined, missed, hung up, …)

import { Emitter } from "../emitter.js";
import { call as request } from "../rpc.js";
import { CallSession } from "./session.js";

const STORAGE_PREFIX = "liveassist.calls.";

export class CallManager extends Emitter {
  /** @param {object} options  role: "customer" | "agent" */
  constructor({ role }) {
    super();
    this.role = role;
    this.socket = null;
    this.sessions = new Map(); // call id → CallSession (not ended)
    this.unsubscribe = [];
    this.storageKey = STORAGE_PREFIX + role;
  }

  /** Listen on a (new) socket; call before socket.connect(). */
  attach(socket) {
    this.detach();
    this.socket = socket;
    const on = (event, fn) => this.unsubscribe.push(socket.on(event, fn));
    on("call.ringing", (call) => this.seen(call));
    on("call.updated", (call) => this.seen(call));
    on("call.quality", (quality) => this.withCall(quality.call_id, (s) => s.setQuality(quality)));
    on("call.link", (link) => this.withCall(link.call_id, (s) => s.setLink(link)));
    on("call.downgrade", (event) => this.withCall(event.call_id, (s) => s.downgraded(event)));
    on("call.supervisor", (event) => this.withCall(event.call_id,
      (s) => s.supervised(event.supervisor)));
    on("call.annotation", (annotation) => this.withCall(annotation.call_id,
      (s) => s.annotated(annotation)));
    on("connect", ({ reconnected }) => {
      if (!reconnected) this.restore();
    });
    this.unsubscribe.push(socket.onReconnect(() => this.resumeAll()));
  }

  detach() {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
  }

  /** Hang up nothing, but let go of every device and connection (page leaving the chat). */
  close() {
    this.detach();
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }

  /** The unfinished call of a chat, if this page knows one. */
  forChat(chatId) {
    for (const session of this.sessions.values()) {
      if (session.chatId === chatId && !session.ended) return session;
    }
    return null;
  }

  /** A call this tab takes part in (joined or joining), if any. */
  get busy() {
    for (const session of this.sessions.values()) {
      if (session.owned && !session.ended) return session;
    }
    return null;
  }

  /** Ring the other side of a chat: media "audio" or "video". */
  async start(chatId, media) {
    const call = await request(this.socket, "call.start", { chat_id: chatId, media });
    const session = this.adopt(call, true);
    session.prepare();  // devices, peer connection and offer get ready while it rings
    return session;
  }

  // ---- sessions --------------------------------------------------------------------------

  seen(call) {
    if (!call || !call.id) return;
    const session = this.sessions.get(call.id);
    if (session) session.update(call);
    else if (call.state !== "ended") this.adopt(call, false);
  }

  adopt(call, owned) {
    let session = this.sessions.get(call.id);
    if (session) {
      if (owned) session.takeOwnership();
      session.update(call);
      return session;
    }
    session = new CallSession({ socket: () => this.socket, role: this.role, call, owned,
      onOwned: () => this.remember(call.id) });
    this.sessions.set(call.id, session);
    session.on("ended", () => {
      this.sessions.delete(session.id);
      this.forget(session.id);
      this.emit("ended", session);
    });
    if (owned) this.remember(call.id);
    this.emit("session", session);
    session.update(call);
    return session;
  }

  withCall(callId, fn) {
    const session = this.sessions.get(callId);
    if (session) fn(session);
  }

  /** After a reload: the calls this tab was in, as the server sees them now. */
  async restore() {
    for (const id of this.stored()) {
      if (this.sessions.has(id)) continue;
      try {
        const call = await request(this.socket, "call.get", { call_id: id });
        if (call.state === "ended") this.forget(id);
        else this.adopt(call, true);
      } catch (error) {
        if (!error.transient) this.forget(id);
      }
    }
  }

  resumeAll() {
    for (const session of [...this.sessions.values()]) session.resume();
    this.restore();
  }

  // ---- which calls this tab is in (sessionStorage: per tab, survives a reload) -----------------

  stored() {
    try {
      const ids = JSON.parse(sessionStorage.getItem(this.storageKey) || "[]");
      return Array.isArray(ids) ? ids.filter(Number.isInteger) : [];
    } catch {
      return [];
    }
  }

  remember(id) {
    const ids = this.stored();
    if (!ids.includes(id)) this.write([...ids, id]);
  }

  forget(id) {
    this.write(this.stored().filter((x) => x !== id));
  }

  write(ids) {
    try {
      if (ids.length) sessionStorage.setItem(this.storageKey, JSON.stringify(ids));
      else sessionStorage.removeItem(this.storageKey);
    } catch {
      // a reload will not find the call again; the other side sees it end with network_lost
    }
  }
}
