// The Chats view: the line and the team on the left; in the middle the agent's chats as a
// row of buttons (unread counts, "waiting for your reply", calls) above the one open chat,
// with calls ringing in the others announced above it; on the right the open chat's customer
// and ticket. One chat open at a time keeps its call, newest messages and message box on
// screen at every size; Alt+↑ / Alt+↓ switch chats. Live events go to the card of their chat.

import { h, replace } from "../dom.js";
import { errorMessage } from "../errors.js";
import { t } from "../i18n.js";
import { ChatCard } from "./chatcard.js";
import { DetailsPanel } from "./details.js";
import { QueuePanel } from "./queuepanel.js";
import { RingBanner } from "./ringbanner.js";
import { ChatSwitcher } from "./switcher.js";
import { toast } from "./toast.js";

export class ChatsView {
  /**
   * @param {object} options
   *   live: AgentLive    announcer: Announcer    onOpenTicket(id)
   *   onCount(unread): the Chats badge (the customers' unread messages, all chats)
   */
  constructor({ live, announcer, onOpenTicket, onCount }) {
    this.live = live;
    this.announcer = announcer;
    this.onCount = onCount;
    this.cards = new Map();
    this.selected = null;
    this.queue = new QueuePanel();
    this.details = new DetailsPanel({ api: live.api, onOpenTicket });
    this.switcher = new ChatSwitcher({ onSelect: (id, options) => this.select(id, options) });
    this.banner = new RingBanner({
      onAccept: (session) => this.acceptElsewhere(session),
      onDecline: (session) => session.decline().catch((error) => this.failed(error)),
      onShow: (chatId) => this.select(chatId, { focus: true }),
    });
    this.empty = h("div", { class: "empty-chats" },
      h("h2", { class: "empty-chats__title", tabindex: -1, i18n: "console.noChats",
        dataset: { focusHome: "" } }),
      h("p", { class: "muted", i18n: "console.noChatsHint" }));
    this.area = h("div", { class: "chat-area", role: "region",
      i18nAttrs: { "aria-label": "console.activeChats" } }, this.empty);
    this.column = h("div", { class: "chat-column", dataset: { focusScope: "chats" } },
      this.switcher.el, this.banner.el, this.area);
    this.el = h("div", { class: "chats-view" }, this.column, this.queue.el, this.details.el);

    live.on("queue", (snapshot) => this.queue.update(snapshot));
    live.on("chat.added", (chat, { restored }) => this.add(chat, restored));
    live.on("chat.updated", (chat) => this.withCard(chat, (card) => {
      card.update();
      if (this.selected === chat.id) this.details.refresh(chat);
      this.renderSwitcher();
    }));
    live.on("ticket", (ticket) => this.details.ticketChanged(ticket));
    live.on("chat.removed", (chat, reason) => this.remove(chat, reason));
    live.on("chat.ended", (chat) => this.withCard(chat, (card) => {
      card.showEnded();
      this.renderSwitcher();
    }));
    live.on("message", (chat, message) => this.withCard(chat, (card) => {
      card.message(message);
      if (message.sender.type === "customer" && !this.inView(chat)) chat.unread += 1;
      this.markRead(chat);
      this.counted();
    }));
    live.on("pending", (chat, item) => this.withCard(chat, (card) => card.pending(item)));
    live.on("failed", (chat, item, error) => {
      this.withCard(chat, (card) => card.failed(item, error));
    });
    live.on("typing", (chat, event) => this.withCard(chat, (card) => card.showTyping(event)));
    live.on("read", (chat, seq) => this.withCard(chat, (card) => card.read(seq)));
    live.on("csat", (event) => toast("console.csat", { score: event.score, id: event.ticket_id }));
    live.calls.on("session", (session) => this.watchCall(session));
    live.calls.on("ended", () => this.renderCalls());
    document.addEventListener("visibilitychange", () => this.markAllRead());
    document.addEventListener("keydown", (event) => this.shortcut(event));
  }

  /** The view became visible (tab switch): catch up on read receipts. */
  shown() {
    this.markAllRead();
  }

  // ---- chats ----------------------------------------------------------------------------

  add(chat, restored) {
    if (this.cards.has(chat.id)) return;
    const card = new ChatCard({ chat, live: this.live, onSelect: (id) => this.select(id),
      onRing: (session) => this.ringing(chat, session),
      announce: (key, args) => this.announcer.say(key, args) });
    this.cards.set(chat.id, card);
    this.empty.remove();
    card.el.hidden = true;
    this.area.append(card.el);
    chat.unread = chat.customerMessagesAfter(chat.view.agent_read_seq || 0);
    if (this.selected === null) this.select(chat.id);
    this.markRead(chat);
    this.counted();
    if (!restored) {
      toast("console.newChat", { name: chat.customerName });
    }
  }

  remove(chat, reason) {
    const card = this.cards.get(chat.id);
    if (!card) return;
    card.destroy();
    card.el.remove();
    this.cards.delete(chat.id);
    if (reason === "transferred") toast("console.transferred", { name: chat.customerName });
    else if (reason !== "dismissed") toast("console.chatLeft", { name: chat.customerName });
    if (this.selected === chat.id) {
      const next = this.cards.keys().next();
      this.selected = null;
      if (!next.done) this.select(next.value);
      else this.details.show(null);
    }
    if (this.cards.size === 0) replace(this.area, this.empty);
    this.counted();
  }

  /** Open one chat; `focus`: put the focus in it (its message box, or what it offers). */
  select(chatId, { focus = false } = {}) {
    const card = this.cards.get(chatId);
    if (!card) return;
    if (this.selected !== chatId) {
      this.selected = chatId;
      for (const [id, other] of this.cards) {
        other.setSelected(id === chatId);
        other.el.hidden = id !== chatId;
      }
      this.details.show(card.chat);
      card.shown();
      this.markRead(card.chat);
      this.counted();
      this.renderCalls();
    }
    if (focus) card.focus();
  }

  /** Alt+↑ / Alt+↓: the previous / next chat, from anywhere in the Chats view. */
  shortcut(event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (this.el.hidden || this.el.closest("[hidden]") || document.querySelector("dialog[open]")) {
      return;
    }
    const ids = [...this.cards.keys()];
    if (ids.length === 0) return;
    event.preventDefault();
    const at = Math.max(0, ids.indexOf(this.selected));
    const step = event.key === "ArrowDown" ? 1 : -1;
    const next = ids[(at + step + ids.length) % ids.length];
    this.select(next, { focus: true });
    const chat = this.cards.get(next).chat;
    this.announcer.say("switcher.switched", {
      name: chat.customerName || t("console.customer"), n: ids.indexOf(next) + 1,
      total: ids.length,
    });
  }

  // ---- reading --------------------------------------------------------------------------

  /** Whether the agent can see this chat's newest messages now. */
  inView(chat) {
    return chat.id === this.selected && document.visibilityState === "visible" && !this.el.hidden
      && !this.el.closest("[hidden]");
  }

  markRead(chat) {
    if (!this.inView(chat)) return;
    chat.unread = 0;
    this.live.markRead(chat);
  }

  markAllRead() {
    for (const chat of this.live.chats.values()) this.markRead(chat);
    this.counted();
  }

  /** The switcher and the Chats badge after a change of what is unread. */
  counted() {
    let unread = 0;
    for (const card of this.cards.values()) unread += card.chat.unread;
    this.onCount(unread);
    this.renderSwitcher();
  }

  renderSwitcher() {
    const chats = [...this.cards.values()].map((card) => card.chat);
    this.switcher.render(chats, this.selected, (chat) => {
      const session = this.live.calls.forChat(chat.id);
      if (!session || session.ended) return null;
      if (session.state !== "ringing") return "active";
      return session.incoming ? "ringing" : "calling";
    });
  }

  // ---- calls ----------------------------------------------------------------------------

  watchCall(session) {
    session.on("changed", () => this.renderCalls());
    this.renderCalls();
  }

  /** A call rings in `chat`: announced (the focus stays where the agent has it). */
  ringing(chat, session) {
    const name = chat.customerName || t("console.customer");
    this.announcer.say(`call.ringingAnnounce.${session.call.media}`, { name }, { urgent: true });
    this.renderCalls();
  }

  renderCalls() {
    const ringing = [];
    for (const card of this.cards.values()) {
      const session = this.live.calls.forChat(card.chat.id);
      if (session && session.state === "ringing" && session.incoming
        && card.chat.id !== this.selected) {
        ringing.push({ session, name: card.chat.customerName });
      }
    }
    this.banner.render(ringing);
    this.renderSwitcher();
  }

  /** Accept from the banner: that chat opens, and the focus goes to the call's controls. */
  async acceptElsewhere(session) {
    this.select(session.chatId);
    try {
      await session.accept();
      const card = this.cards.get(session.chatId);
      if (card) card.focusCall();
    } catch (error) {
      this.failed(error);
    }
  }

  failed(error) {
    toast(null, null, { tone: "error", text: errorMessage(error) });
  }

  withCard(chat, fn) {
    const card = this.cards.get(chat.id);
    if (card) fn(card);
  }
}
