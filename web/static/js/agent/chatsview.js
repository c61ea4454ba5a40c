// The Chats view: the line and the team on the left, this agent's chats side by side in the
// middle, and the selected chat's customer and ticket on the right. Live events are routed
// to the card of their chat.

import { h, replace } from "../dom.js";
import { ChatCard } from "./chatcard.js";
import { DetailsPanel } from "./details.js";
import { QueuePanel } from "./queuepanel.js";
import { toast } from "./toast.js";

export class ChatsView {
  constructor({ live, onOpenTicket, onCount }) {
    this.live = live;
    this.onCount = onCount;
    this.cards = new Map();
    this.selected = null;
    this.queue = new QueuePanel();
    this.details = new DetailsPanel({ api: live.api, onOpenTicket });
    this.empty = h("div", { class: "empty-chats" },
      h("p", { class: "empty-chats__title", i18n: "console.noChats" }),
      h("p", { class: "muted", i18n: "console.noChatsHint" }));
    this.area = h("div", { class: "chat-area", role: "region",
      i18nAttrs: { "aria-label": "console.activeChats" } }, this.empty);
    this.el = h("div", { class: "chats-view" }, this.queue.el, this.area, this.details.el);

    live.on("queue", (snapshot) => this.queue.update(snapshot));
    live.on("chat.added", (chat, { restored }) => this.add(chat, restored));
    live.on("chat.updated", (chat) => this.withCard(chat, (card) => {
      card.update();
      if (this.selected === chat.id) this.details.refresh(chat);
    }));
    live.on("chat.removed", (chat, reason) => this.remove(chat, reason));
    live.on("chat.ended", (chat) => this.withCard(chat, (card) => card.showEnded()));
    live.on("message", (chat, message) => this.withCard(chat, (card) => {
      card.message(message);
      this.markRead(chat);
    }));
    live.on("pending", (chat, item) => this.withCard(chat, (card) => card.pending(item)));
    live.on("failed", (chat, item, error) => {
      this.withCard(chat, (card) => card.failed(item, error));
    });
    live.on("typing", (chat, event) => this.withCard(chat, (card) => card.showTyping(event)));
    live.on("read", (chat, seq) => this.withCard(chat, (card) => card.read(seq)));
    live.on("csat", (event) => toast("console.csat", { score: event.score, id: event.ticket_id }));
    document.addEventListener("visibilitychange", () => this.markAllRead());
  }

  /** The view became visible (tab switch): catch up on read receipts. */
  shown() {
    this.markAllRead();
  }

  add(chat, restored) {
    if (this.cards.has(chat.id)) return;
    const card = new ChatCard({ chat, live: this.live, onSelect: (id) => this.select(id) });
    this.cards.set(chat.id, card);
    this.empty.remove();
    this.area.append(card.el);
    if (this.selected === null) this.select(chat.id);
    this.markRead(chat);
    this.onCount(this.cards.size);
    if (!restored) toast("console.newChat", { name: chat.customerName });
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
    this.onCount(this.cards.size);
  }

  select(chatId) {
    if (this.selected === chatId) return;
    this.selected = chatId;
    for (const [id, card] of this.cards) card.setSelected(id === chatId);
    this.details.show(this.live.chats.get(chatId) || null);
  }

  markRead(chat) {
    if (document.visibilityState === "visible" && !this.el.hidden) this.live.markRead(chat);
  }

  markAllRead() {
    for (const chat of this.live.chats.values()) this.markRead(chat);
  }

  withCard(chat, fn) {
    const card = this.cards.get(chat.id);
    if (card) fn(card);
  }
}
