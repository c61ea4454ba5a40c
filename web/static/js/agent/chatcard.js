// One active chat in the console: who it is with, the transcript (internal notes and system
// lines set apart), the customer's typing, and the composer; actions to transfer, escalate
// and close; audio and video calls with the customer. An ended chat stays until the agent
// dismisses it.

import { CallSlot } from "../call/slot.js";
import { Composer } from "../composer.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { t } from "../i18n.js";
import { Transcript } from "../transcript.js";
import { openEscalate } from "./escalate.js";
import { openKnowledge } from "./kbpanel.js";
import { toast } from "./toast.js";
import { openTransfer } from "./transfer.js";

const TYPING_SHOWN_MS = 6000;

export class ChatCard {
  /** onSelect(chatId): the agent works in this card; onRing(session): a call rings in it;
   * announce(key, args): read something out (a call's recording changing) */
  constructor({ chat, live, onSelect, onRing = () => {}, announce = () => {} }) {
    this.chat = chat;
    this.live = live;
    this.typingTimer = null;
    const idBase = `chat-${chat.id}`;

    this.title = h("h2", { class: "chat-card__title", id: `${idBase}-title` });
    this.meta = h("p", { class: "chat-card__meta" });
    this.badge = h("span", { class: "badge" });
    this.transcript = new Transcript({
      api: live.api,
      isMine: (m) => m.sender.type === "agent" || m.sender.type === "self",
      showName: (m) => m.sender.type === "agent" && live.me && m.sender.id !== live.me.user_id,
    });
    this.typing = h("p", { class: "typing", "aria-live": "polite" });
    this.composer = new Composer({
      id: `${idBase}-composer`,
      placeholderKey: "console.replyPlaceholder",
      onSend: async (text) => live.send(chat, text),
      onFile: (file) => live.upload(chat, file),
      onTyping: (on) => live.typing(chat, on),
    });
    this.calls = new CallSlot({
      calls: live.calls,
      chatId: chat.id,
      otherName: () => chat.customerName,
      canCall: () => !chat.ended && !chat.removed && chat.view.state === "active",
      // Announced by the view; the chat shown and the focus stay as they are.
      onRing: (session) => onRing(session),
      onLayout: (video) => this.el.classList.toggle("chat-card--video", video),
      onError: (error) => toast(null, null, { tone: "error", text: errorMessage(error) }),
      announce,
      // Asked when a call shows up: may the agent start a recording (the admin's policy), and
      // why one failed (the recording's record; the call only says that it did).
      recording: {
        policy: () => live.api.get("/api/recording-policy").then((r) => r.recording_policy),
        reason: (id) => live.api.get(`/api/recordings/${id}`).then((r) => r.reason),
      },
      onEnded: (call) => {
        if (call.end_reason === "missed" && call.started_by !== "agent") {
          toast("call.log.missed." + (call.media === "video" ? "video" : "audio"));
        }
      },
    });
    this.actions = h("div", { class: "chat-card__actions" },
      this.calls.buttons,
      h("button", { type: "button", class: "button button--small chat-card__kb", i18n: "kb.help",
        onclick: () => openKnowledge({ api: live.api, chat, composer: this.composer }) }),
      h("button", { type: "button", class: "button button--small", i18n: "console.transfer",
        onclick: () => this.transfer() }),
      h("button", { type: "button", class: "button button--small", i18n: "console.escalate",
        onclick: () => openEscalate({ live, chat, onEscalated: (ticket) => {
          toast("console.escalated", { id: ticket.id });
        } }) }),
      h("button", { type: "button", class: "button button--small button--danger-quiet",
        i18n: "console.close", onclick: () => this.confirmClose() }));
    this.footer = h("div", { class: "chat-card__footer" }, this.composer.el);
    this.el = h("article", {
      class: "chat-card", "aria-labelledby": `${idBase}-title`,
      dataset: { chatId: chat.id, focusScope: "chat" },
      onfocusin: () => onSelect(chat.id), onpointerdown: () => onSelect(chat.id),
    },
    h("header", { class: "chat-card__header" },
      h("div", { class: "chat-card__who" }, h("div", { class: "chat-card__line" }, this.title,
        this.badge), this.meta),
      this.actions),
    this.calls.area,
    this.transcript.el,
    this.calls.log,
    this.typing,
    this.footer);

    for (const message of chat.history()) this.transcript.add(message);
    this.transcript.setRead(chat.view.customer_read_seq || 0);
    this.update();
    if (chat.ended) this.showEnded();
  }

  /** The focus into this chat: its message box, or once it has ended what it offers. */
  focus() {
    const home = this.el.querySelector(".chat-card__footer [data-focus-home]");
    if (home) home.focus();
  }

  /** The call's controls (after accepting it elsewhere). */
  focusCall() {
    if (this.calls.panel) this.calls.panel.focusMain();
  }

  /** Opened in the console: the newest messages in view. */
  shown() {
    this.transcript.jumpToEnd();
  }

  setSelected(selected) {
    this.el.classList.toggle("chat-card--selected", selected);
  }

  update() {
    const { view } = this.chat;
    this.title.textContent = this.chat.customerName || t("console.customer");
    replace(this.meta,
      h("span", { i18n: `topic.${view.topic}`, i18nArgs: { _: view.topic } }),
      h("span", { format: ["language", view.language] }),
      h("span", { i18n: "console.ticketRef", i18nArgs: { id: view.ticket_id } }));
    const vip = this.chat.customer && this.chat.customer.vip;
    this.badge.hidden = !vip;
    if (vip) setText(this.badge, "console.vip");
    if (this.calls) this.calls.refresh();
  }

  message(message) {
    this.transcript.add(message);
    if (message.sender.type === "customer") this.showTyping(false);
  }

  pending(item) {
    this.transcript.addPending(item);
  }

  failed(item, error) {
    this.transcript.failPending(item.client_msg_id, () => this.chat.outbox.retry(item));
    this.composer.status(error, null, { error: true });
  }

  read(seq) {
    this.transcript.setRead(seq);
  }

  showTyping(event) {
    clearTimeout(this.typingTimer);
    if (!event || !event.typing) {
      this.typing.textContent = "";
      return;
    }
    setText(this.typing, "chat.typing", { name: this.chat.customerName || t("console.customer") });
    this.typingTimer = setTimeout(() => {
      this.typing.textContent = "";
    }, TYPING_SHOWN_MS);
  }

  showEnded() {
    this.showTyping(false);
    this.composer.stopTyping();
    this.el.classList.add("chat-card--ended");
    for (const button of this.actions.querySelectorAll("button")) button.disabled = true;
    this.calls.refresh();
    replace(this.footer, h("div", { class: "chat-card__ended" },
      h("p", { i18n: "console.ended" }),
      h("button", { type: "button", class: "button button--primary", i18n: "console.dismiss",
        dataset: { focusHome: "" }, onclick: () => this.live.dismiss(this.chat.id) })));
  }

  async transfer() {
    try {
      await openTransfer({ live: this.live, chat: this.chat, me: this.live.me });
    } catch (error) {
      toast(null, null, { tone: "error", text: errorMessage(error) });
    }
  }

  confirmClose() {
    if (this.footer.querySelector(".confirm")) return;
    const bar = h("div", { class: "confirm", role: "alertdialog",
      "aria-labelledby": `chat-${this.chat.id}-confirm` },
    h("p", { id: `chat-${this.chat.id}-confirm`, i18n: "console.closeConfirm" }),
    h("div", { class: "form-actions" },
      h("button", { type: "button", class: "button button--quiet", i18n: "common.cancel",
        onclick: () => {
          bar.remove();
          this.composer.focus();
        } }),
      h("button", { type: "button", class: "button button--danger", i18n: "console.closeYes",
        onclick: async () => {
          try {
            await this.live.close(this.chat);
          } catch (error) {
            toast(null, null, { tone: "error", text: errorMessage(error) });
          }
          bar.remove();
        } })));
    this.footer.prepend(bar);
    bar.querySelector(".button--danger").focus();
  }

  destroy() {
    this.calls.destroy();
    this.transcript.destroy();
    clearTimeout(this.typingTimer);
    this.composer.stopTyping();
  }
}
