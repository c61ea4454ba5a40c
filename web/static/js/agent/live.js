// The console's live connection (/agent): presence, the line of waiting chats, and the chats
// assigned to this agent with their messages. After every (re)connection console.state says
// which chats are ours, and chat.sync fetches what each of them missed.
//
// Events: "connection" (online|offline|restarting), "me" (agent or null), "queue" ({queue,
// agents}), "chat.added" (model, {restored}), "chat.updated" (model), "chat.ended" (model, reason),
// "chat.removed" (model, reason), "message" (model, message), "typing" (model, event),
// "read" (model, seq), "csat" (event), "pending" (model, item), "failed" (model, item, error),
// "ticket" (Ticket: ticket.updated).
// Calls go through `calls` (a CallManager on the same socket).

import { CallManager } from "../call/calls.js";
import { Emitter } from "../emitter.js";
import { Outbox } from "../outbox.js";
import { call, newClientId } from "../rpc.js";
import { SocketIOClient } from "../sio.js";
import { ChatModel } from "./chatmodel.js";

const SIGNED_OUT = new Set(["unauthenticated", "forbidden"]);

export class AgentLive extends Emitter {
  constructor(session) {
    super();
    this.session = session;
    this.api = session.api;
    this.chats = new Map();
    this.me = null;
    this.socket = null;
    this.calls = new CallManager({ role: "agent" });
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  start() {
    const socket = new SocketIOClient("", "/agent", {
      auth: async () => ({ token: await this.session.validToken() }),
    });
    this.socket = socket;
    socket.on("connect", ({ reconnected }) => {
      this.restarting = false;
      this.emit("connection", "online");
      if (!reconnected) this.loadState();
    });
    socket.onReconnect(() => this.loadState());
    socket.on("disconnect", () => this.emit("connection", this.restarting ? "restarting" : "offline"));
    socket.on("connect_error", (error) => {
      const code = error && error.data && error.data.code;
      if (code === "token_expired") this.session.refresh().catch(() => {});
      else if (SIGNED_OUT.has(code)) this.session.clear("expired");
      this.emit("connection", this.restarting ? "restarting" : "offline");
    });
    socket.on("session.revoked", () => this.session.clear("revoked"));
    socket.on("presence", (me) => this.setMe(me));
    socket.on("queue.updated", (snapshot) => this.emit("queue", snapshot));
    socket.on("chat.assigned", (event) => {
      this.addChat(event.chat, { customer: event.customer, ticket: event.ticket }, event.messages);
    });
    socket.on("chat.updated", (view) => this.updateView(view));
    socket.on("chat.ended", (event) => this.ended(event.chat_id, event.reason));
    socket.on("chat.removed", (event) => this.removed(event.chat_id, event.reason));
    socket.on("message", (message) => this.received(message));
    socket.on("typing", (event) => this.withChat(event.chat_id, (chat) => {
      if (event.sender && event.sender.type === "customer") this.emit("typing", chat, event);
    }));
    socket.on("read", (event) => this.withChat(event.chat_id, (chat) => {
      if (event.reader === "customer") {
        chat.view = { ...chat.view, customer_read_seq: event.seq };
        this.emit("read", chat, event.seq);
      }
    }));
    socket.on("csat", (event) => this.emit("csat", event));
    socket.on("ticket.updated", (ticket) => this.ticketUpdated(ticket));
    socket.on("server.closing", () => {
      this.restarting = true;
      this.emit("connection", "restarting");
    });
    this.calls.attach(socket);
    socket.connect();
  }

  stop() {
    this.calls.close();
    if (this.socket) this.socket.close();
    this.socket = null;
    this.chats.clear();
  }

  // ---- catching up ----------------------------------------------------------------------

  async loadState() {
    try {
      const state = await call(this.socket, "console.state");
      this.setMe(state.me);
      this.emit("queue", { queue: state.queue, agents: state.agents });
      const current = new Set(state.chats.map((view) => view.id));
      for (const chat of [...this.chats.values()]) {
        if (!current.has(chat.id) && !chat.ended) this.removed(chat.id, "reassigned");
      }
      for (const view of state.chats) {
        const chat = this.addChat(view, {}, [], { restored: true });
        await this.sync(chat);
        chat.outbox.flush();
      }
    } catch (error) {
      console.warn("LiveAssist: could not load the console state", error);
    }
  }

  async sync(chat) {
    let after = chat.maxSeq;
    for (;;) {
      const page = await call(this.socket, "chat.sync",
        { chat_id: chat.id, after_seq: after, limit: 200 });
      this.updateView(page.chat);
      for (const message of page.messages) this.received(message);
      if (!page.has_more || page.messages.length === 0) return;
      after = page.messages[page.messages.length - 1].seq;
    }
  }

  // ---- what the server tells us ---------------------------------------------------------

  setMe(me) {
    this.me = me;
    this.emit("me", me);
  }

  addChat(view, extra, messages, { restored = false } = {}) {
    let chat = this.chats.get(view.id);
    if (!chat) {
      chat = new ChatModel(view, extra);
      chat.outbox = this.outboxFor(chat);
      this.chats.set(chat.id, chat);
      for (const message of messages) chat.add(message);
      this.emit("chat.added", chat, { restored });
    } else {
      chat.view = view;
      chat.removed = false;
      if (extra.customer) chat.customer = extra.customer;
      if (extra.ticket) chat.ticket = extra.ticket;
      for (const message of messages) this.received(message);
      this.emit("chat.updated", chat);
    }
    return chat;
  }

  updateView(view) {
    this.withChat(view.id, (chat) => {
      chat.view = view;
      this.emit("chat.updated", chat);
    });
  }

  received(message) {
    this.withChat(message.chat_id, (chat) => {
      if (!chat.add(message)) return;
      if (message.sender.type === "agent") chat.outbox.drop(message.client_msg_id);
      this.emit("message", chat, message);
    });
  }

  ended(chatId, reason) {
    this.withChat(chatId, (chat) => {
      if (chat.ended) return;
      chat.ended = true;
      chat.outbox.clear();
      this.emit("chat.ended", chat, reason);
    });
  }

  /** The chat is no longer ours: transferred, requeued, or it ended (then it stays shown). */
  removed(chatId, reason) {
    this.withChat(chatId, (chat) => {
      chat.removed = true;
      if (chat.ended) return;
      this.chats.delete(chatId);
      this.emit("chat.removed", chat, reason);
    });
  }

  /** Stop showing an ended chat. */
  dismiss(chatId) {
    const chat = this.chats.get(chatId);
    if (chat && chat.ended) {
      this.chats.delete(chatId);
      this.emit("chat.removed", chat, "dismissed");
    }
  }

  /** ticket.updated: a ticket's new fields and version, for every chat showing it. */
  ticketUpdated(ticket) {
    for (const chat of this.chats.values()) {
      if (chat.view.ticket_id === ticket.id) chat.ticket = ticket;
    }
    this.emit("ticket", ticket);
  }

  withChat(chatId, fn) {
    const chat = this.chats.get(chatId);
    if (chat) fn(chat);
  }

  // ---- what the agent does --------------------------------------------------------------

  setPresence(status) {
    return call(this.socket, "presence.set", { status }).then((me) => this.setMe(me));
  }

  send(chat, text, attachment = null) {
    const item = {
      client_msg_id: newClientId("a"), text, attachment_id: attachment && attachment.id, attachment,
    };
    this.emit("pending", chat, item);
    chat.outbox.add(item);
  }

  async upload(chat, file) {
    const attachment = await this.api.upload(`/api/chats/${chat.id}/attachments`, file);
    this.send(chat, "", attachment);
  }

  typing(chat, isTyping) {
    if (this.connected && !chat.ended) {
      this.socket.emit("typing", { chat_id: chat.id, typing: isTyping });
    }
  }

  markRead(chat) {
    const seq = chat.lastIncomingSeq;
    if (!this.connected || chat.ended || seq <= chat.readSent) return;
    const before = chat.readSent;
    chat.readSent = seq;
    call(this.socket, "read", { chat_id: chat.id, seq }).catch(() => {
      chat.readSent = before;
    });
  }

  close(chat) {
    return call(this.socket, "chat.close", { chat_id: chat.id });
  }

  transfer(chat, { toUserId = null, toGroupId = null, note = "" }) {
    const payload = { chat_id: chat.id, note };
    if (toUserId) payload.to_user_id = toUserId;
    if (toGroupId) payload.to_group_id = toGroupId;
    return call(this.socket, "chat.transfer", payload);
  }

  async escalate(chat, { priority, note }) {
    const payload = { chat_id: chat.id, note };
    if (priority) payload.priority = priority;
    const result = await call(this.socket, "chat.escalate", payload);
    chat.ticket = result.ticket;
    this.emit("chat.updated", chat);
    return result.ticket;
  }

  outboxFor(chat) {
    return new Outbox({
      ready: () => this.connected && !chat.ended,
      deliver: async (item) => {
        const payload = { chat_id: chat.id, client_msg_id: item.client_msg_id, text: item.text };
        if (item.attachment_id) payload.attachment_id = item.attachment_id;
        return (await call(this.socket, "message.send", payload)).message;
      },
      delivered: (item, message) => this.received(message),
      failed: (item, error) => this.emit("failed", chat, item, error),
    });
  }
}
