// One customer chat, without any DOM: the /customer socket, the messages received (each seq
// once), messages waiting to be acknowledged (resent with the same client_msg_id until the
// server has them), typing and read receipts, ending and rating. Everything worth keeping
// across a reload is saved to the WidgetStore after each change.
//
// Events: "connection" (online|offline|restarting: the server said it is stopping), "chat"
// (chat view), "message" (stored message), "pending" (outbox item), "failed" (item, error),
// "typing" ({typing, sender}), "read" (seq), "queue" (estimate or null), "ended",
// "refused" (the token is no longer accepted).
// Calls in this chat go through `calls` (a CallManager on the same socket).

import { Api } from "../api.js";
import { Emitter } from "../emitter.js";
import { epochSeconds } from "../format.js";
import { Outbox } from "../outbox.js";
import { call, newClientId } from "../rpc.js";
import { SocketIOClient } from "../sio.js";
import { CallManager } from "../call/calls.js";

const REFUSED = new Set(["unauthenticated", "token_expired", "forbidden", "not_found"]);
const SYNC_PAGE = 200;
const REFRESH_BEFORE_S = 3600;

export class Conversation extends Emitter {
  /** Open a new chat: POST /api/widget/session; returns the state to build a Conversation. */
  static async open(api, { org, profile, identity, previousToken }) {
    const body = { org, topic: profile.topic, language: profile.language };
    if (profile.name) body.name = profile.name;
    if (profile.email) body.email = profile.email;
    if (identity) body.identity = identity;
    if (previousToken) body.previous_token = previousToken;
    const session = await api.post("/api/widget/session", body);
    return {
      token: session.token, expiresAt: epochSeconds(session.expires_at), chatId: session.chat.id,
      chat: session.chat, customer: session.customer, profile, lastSeq: 0, messages: [],
      outbox: [], readSent: 0, agentReadSeq: 0, queue: null, ended: false, rated: false,
      open: true,
    };
  }

  constructor({ base, store, state }) {
    super();
    this.base = base;
    this.store = store;
    this.state = { outbox: [], messages: [], lastSeq: 0, readSent: 0, agentReadSeq: 0, ...state };
    this.api = new Api(base, () => this.state.token);
    this.messages = new Map(this.state.messages.map((m) => [m.seq, m]));
    this.socket = null;
    this.calls = new CallManager({ role: "customer" });
    this.outbox = new Outbox({
      items: this.state.outbox,
      ready: () => this.connected,
      deliver: async (item) => {
        const payload = {
          chat_id: this.chatId, client_msg_id: item.client_msg_id, text: item.text,
        };
        if (item.attachment_id) payload.attachment_id = item.attachment_id;
        return (await call(this.socket, "message.send", payload)).message;
      },
      delivered: (item, message) => this.addMessage(message),
      failed: (item, error) => this.emit("failed", item, error),
      changed: () => this.save(),
    });
  }

  get chatId() {
    return this.state.chatId;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  /** Messages known so far, in order (for the first render). */
  history() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  connect() {
    const socket = new SocketIOClient(this.base, "/customer", {
      auth: () => ({ token: this.state.token }),
    });
    this.socket = socket;
    socket.on("connect", ({ reconnected }) => {
      this.restarting = false;
      this.emit("connection", "online");
      if (!reconnected) this.resync();
    });
    socket.onReconnect(() => this.resync());
    socket.on("disconnect", () => this.emit("connection", this.restarting ? "restarting" : "offline"));
    socket.on("connect_error", (error) => {
      const code = error && error.data && error.data.code;
      if (REFUSED.has(code)) {
        socket.close();
        this.emit("refused", code);
      } else {
        this.emit("connection", this.restarting ? "restarting" : "offline");
      }
    });
    socket.on("chat.updated", (chat) => this.updateChat(chat));
    socket.on("message", (message) => this.addMessage(message));
    socket.on("typing", (event) => {
      if (event.sender && event.sender.type !== "customer") this.emit("typing", event);
    });
    socket.on("read", (event) => {
      if (event.reader === "agent") this.agentRead(event.seq);
    });
    socket.on("queue.position", (estimate) => this.setQueue(estimate));
    socket.on("chat.ended", () => this.markEnded());
    socket.on("server.closing", () => {
      this.restarting = true;
      this.emit("connection", "restarting");
    });
    this.calls.attach(socket);
    socket.connect();
  }

  close() {
    this.calls.close();
    if (this.socket) this.socket.close();
    this.socket = null;
  }

  // ---- catching up ----------------------------------------------------------------------

  /** After (re)connecting: fresh token if needed, what was missed, then what is unsent. */
  async resync() {
    try {
      await this.refreshToken();
      await this.sync();
      await this.outbox.flush();
    } catch (error) {
      console.warn("LiveAssist: resync failed", error);
    }
  }

  async sync() {
    let after = this.state.lastSeq;
    for (;;) {
      const page = await call(this.socket, "chat.sync",
        { chat_id: this.chatId, after_seq: after, limit: SYNC_PAGE });
      this.updateChat(page.chat);
      for (const message of page.messages) this.addMessage(message);
      if (!page.has_more || page.messages.length === 0) return;
      after = page.messages[page.messages.length - 1].seq;
    }
  }

  async refreshToken() {
    const left = (this.state.expiresAt || 0) - Date.now() / 1000;
    if (!this.state.expiresAt || left > REFRESH_BEFORE_S) return;
    const fresh = await this.api.post("/api/widget/refresh", {});
    this.state.token = fresh.token;
    this.state.expiresAt = epochSeconds(fresh.expires_at);
    this.save();
  }

  // ---- what the server tells us ---------------------------------------------------------

  updateChat(chat) {
    this.state.chat = chat;
    if ("queue" in chat || chat.state !== "queued") this.setQueue(chat.queue || null, false);
    if (chat.agent_read_seq) this.agentRead(chat.agent_read_seq, false);
    this.save();
    this.emit("chat", chat);
    if (chat.state === "ended") this.markEnded();
  }

  addMessage(message) {
    if (this.messages.has(message.seq)) return;
    this.messages.set(message.seq, message);
    this.state.lastSeq = Math.max(this.state.lastSeq, message.seq);
    if (message.sender.type === "customer") this.outbox.drop(message.client_msg_id);
    this.save();
    this.emit("message", message);
    // The first message puts a new chat in line; the server says so only by queue.position.
    if (message.sender.type === "customer") this.leaveNew();
  }

  setQueue(estimate, notify = true) {
    if (estimate) this.leaveNew();
    this.state.queue = estimate;
    if (notify) this.save();
    this.emit("queue", estimate);
  }

  agentRead(seq, notify = true) {
    if (seq <= (this.state.agentReadSeq || 0)) return;
    this.state.agentReadSeq = seq;
    if (notify) this.save();
    this.emit("read", seq);
  }

  leaveNew() {
    if (this.state.chat && this.state.chat.state === "new") {
      this.state.chat = { ...this.state.chat, state: "queued" };
      this.emit("chat", this.state.chat);
    }
  }

  markEnded() {
    if (this.state.ended) return;
    this.state.ended = true;
    this.outbox.clear();
    this.save();
    this.emit("ended");
  }

  // ---- what the customer does -----------------------------------------------------------

  /** Queue a message (text and/or an uploaded attachment) and try to deliver it. */
  send(text, attachment = null) {
    const item = {
      client_msg_id: newClientId("c"), text, attachment_id: attachment ? attachment.id : null,
      attachment,
    };
    this.emit("pending", item);
    this.outbox.add(item);
    return item;
  }

  /** Try again with the same client_msg_id, so the server can tell it is not a new message. */
  retry(item) {
    this.outbox.retry(item);
  }

  async upload(file) {
    const attachment = await this.api.upload(`/api/chats/${this.chatId}/attachments`, file);
    this.send("", attachment);
  }

  typing(isTyping) {
    if (this.connected && !this.state.ended) {
      this.socket.emit("typing", { chat_id: this.chatId, typing: isTyping });
    }
  }

  /** Tell the agent we have seen everything received so far. */
  markRead() {
    const seq = this.state.lastSeq;
    if (!this.connected || seq <= (this.state.readSent || 0)) return;
    const before = this.state.readSent || 0;
    this.state.readSent = seq;
    this.save();
    call(this.socket, "read", { chat_id: this.chatId, seq }).catch(() => {
      this.state.readSent = before;
    });
  }

  end() {
    return call(this.socket, "chat.end", { chat_id: this.chatId }).then((chat) => {
      this.updateChat(chat);
      this.markEnded();
    });
  }

  /** The bot's articles answered the question: the chat ends (self-served). */
  async botSolved() {
    const chat = await call(this.socket, "bot.solved", { chat_id: this.chatId });
    this.updateChat(chat);
    this.markEnded();
  }

  /** A person, now (also before the bot has answered). */
  async botHuman() {
    this.updateChat(await call(this.socket, "bot.human", { chat_id: this.chatId }));
  }

  async rate(score, comment) {
    await call(this.socket, "csat.submit", { chat_id: this.chatId, score, comment });
    this.state.rated = true;
    this.save();
  }

  save() {
    if (!this.outbox) return; // still being built
    this.state.outbox = this.outbox.items;
    this.state.messages = this.history();
    this.store.save(this.state);
  }
}
