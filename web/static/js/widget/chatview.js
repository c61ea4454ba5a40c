// The customer's chat: a status line (place in line, connection), the transcript, who is
// typing, and at the bottom the composer — or, once the chat has ended, the rating form and
// "start a new chat".

import { CallSlot } from "../call/slot.js";
import { Composer } from "../composer.js";
import { h, replace, setText } from "../dom.js";
import { errorMessage } from "../errors.js";
import { minutes } from "../format.js";
import { t } from "../i18n.js";
import { Transcript } from "../transcript.js";
import { afterChat, csatForm } from "./csat.js";

const TYPING_SHOWN_MS = 6000;

export class ChatView {
  /**
   * @param {object} options
   *   conversation: Conversation    onStatus(key, args): header subtitle
   *   isVisible(): the panel is open and the page visible    onNewChat()
   *   onAttention(session): a call is ringing (announce it, show the panel)
   *   onWide(on): videos are shown    announce(key, args): read something out
   *   onArticle(id): open an article the bot offered (in the help panel)
   */
  constructor({ conversation, onStatus, isVisible, onNewChat, onAttention = () => {},
    onWide = () => {}, announce = () => {}, onArticle = null }) {
    this.conversation = conversation;
    this.onStatus = onStatus;
    this.isVisible = isVisible;
    this.onNewChat = onNewChat;
    this.typingTimer = null;
    this.skipped = false;

    this.banner = h("p", { class: "la-banner", role: "status", hidden: true });
    this.connection = h("p", { class: "la-banner la-banner--warn", role: "status", hidden: true,
      i18n: "chat.reconnecting" });
    this.transcript = new Transcript({
      api: conversation.api,
      isMine: (m) => m.sender.type === "customer" || m.sender.type === "self",
      showName: (m) => m.sender.type === "agent",
      onArticle,
    });
    // While the bot has the chat: the customer's two choices, always there (also before it
    // has answered: asking for a person is never held up).
    this.botError = h("p", { class: "la-form__error", role: "alert", hidden: true });
    this.solvedButton = h("button", { type: "button", class: "la-button la-button--quiet",
      id: "la-bot-solved", i18n: "bot.solved", onclick: () => this.botChoice("botSolved") });
    this.humanButton = h("button", { type: "button", class: "la-button la-button--primary",
      id: "la-bot-human", i18n: "bot.human", onclick: () => this.botChoice("botHuman") });
    this.botBar = h("div", { class: "la-botbar", hidden: true },
      h("div", { class: "la-form__actions" }, this.solvedButton, this.humanButton),
      this.botError);
    this.typing = h("p", { class: "la-typing", "aria-live": "polite" });
    this.composer = new Composer({
      id: "la-widget-composer",
      onSend: async (text) => conversation.send(text),
      onFile: (file) => conversation.upload(file),
      onTyping: (on) => conversation.typing(on),
    });
    this.endButton = h("button", { type: "button", class: "la-link la-chat__end", i18n: "chat.end",
      onclick: () => this.confirmEnd() });
    this.footer = h("div", { class: "la-chat__footer" });
    this.calls = new CallSlot({
      calls: conversation.calls,
      chatId: conversation.chatId,
      otherName: () => (conversation.state.chat && conversation.state.chat.assignee_name) || "",
      canCall: () => !conversation.state.ended && conversation.state.chat.state === "active",
      onRing: (session) => onAttention(session),
      onLayout: (video) => onWide(video),
      onError: (error) => this.composer.status(error, null, { error: true }),
      announce,
    });
    this.el = h("div", { class: "la-chat", dataset: { focusScope: "chat" } },
      h("div", { class: "la-chat__bar" }, this.banner, this.calls.buttons, this.endButton),
      this.connection,
      this.calls.area,
      this.transcript.el,
      this.calls.log,
      this.typing,
      this.botBar,
      this.footer);

    for (const message of conversation.history()) this.transcript.add(message);
    for (const item of conversation.state.outbox) this.transcript.addPending(item);
    this.transcript.setRead(conversation.state.agentReadSeq || 0);
    this.subscriptions = [
      conversation.on("message", (m) => this.received(m)),
      conversation.on("pending", (item) => this.transcript.addPending(item)),
      conversation.on("failed", (item, error) => {
        this.transcript.failPending(item.client_msg_id, () => conversation.retry(item));
        this.composer.status(error, null, { error: true });
      }),
      conversation.on("read", (seq) => this.transcript.setRead(seq)),
      conversation.on("typing", (event) => this.showTyping(event)),
      conversation.on("chat", () => this.refresh()),
      conversation.on("queue", () => this.refresh()),
      conversation.on("ended", () => this.refresh()),
      conversation.on("connection", (state) => {
        this.connection.hidden = state === "online";
        // "restarting": the server said it is closing; otherwise the line was lost.
        if (state !== "online") {
          setText(this.connection, state === "restarting" ? "chat.restarting" : "chat.reconnecting");
        }
        if (state === "online" && this.wasOffline) announce("chat.reconnected");
        this.wasOffline = state !== "online";
      }),
    ];
    this.refresh();
  }

  destroy() {
    for (const unsubscribe of this.subscriptions) unsubscribe();
    this.calls.destroy();
    this.transcript.destroy();
    clearTimeout(this.typingTimer);
  }

  focus() {
    if (!this.conversation.state.ended) this.composer.focus();
    this.transcript.jumpToEnd();
  }

  /** The panel was opened: the newest messages in view, and the focus when a person did it. */
  shown(focus) {
    if (focus) this.focus();
    else this.transcript.jumpToEnd();
  }

  received(message) {
    this.transcript.add(message);
    if (message.sender.type === "bot") this.refresh();
    if (message.sender.type === "agent") this.showTyping({ typing: false });
    if (this.isVisible()) this.conversation.markRead();
  }

  showTyping({ typing, sender }) {
    clearTimeout(this.typingTimer);
    if (!typing) {
      this.typing.textContent = "";
      return;
    }
    setText(this.typing, "chat.typing", { name: (sender && sender.name) || t("chat.agent") });
    this.typingTimer = setTimeout(() => {
      this.typing.textContent = "";
    }, TYPING_SHOWN_MS);
  }

  /** Bring the status line, header and footer in line with the chat's state. */
  refresh() {
    const { chat, queue, ended, rated } = this.conversation.state;
    const state = ended ? "ended" : chat.state;
    this.endButton.hidden = ended;
    this.banner.classList.toggle("la-banner--ended", ended);
    this.botBar.hidden = state !== "bot";
    const answered = this.transcript.messages().some((m) => m.sender.type === "bot");
    this.solvedButton.hidden = !answered;
    if (state === "new") {
      this.setBanner("chat.startHint");
      this.onStatus("header.new");
    } else if (state === "bot") {
      this.setBanner(answered ? "bot.answered" : "bot.hint");
      this.onStatus("header.bot");
    } else if (state === "queued") {
      this.setBanner(...queueText(queue));
      this.onStatus("header.queued");
    } else if (state === "active") {
      this.setBanner(null);
      this.onStatus("header.active", { name: chat.assignee_name || t("chat.agent") });
    } else {
      this.setBanner("chat.ended");
      this.onStatus("header.ended");
    }
    this.renderFooter(ended, rated);
    this.calls.refresh();
  }

  async botChoice(method) {
    const focused = this.botBar.contains(this.botBar.getRootNode().activeElement);
    this.botError.hidden = true;
    try {
      await this.conversation[method]();
    } catch (error) {
      this.botError.textContent = errorMessage(error);
      this.botError.hidden = false;
      return;
    }
    if (focused) this.focus(); // the bar is gone: the message box, or the rating form
    if (focused && this.conversation.state.ended) {
      const first = this.footer.querySelector("button, input, textarea");
      if (first) first.focus();
    }
  }

  setBanner(key, args) {
    this.banner.hidden = !key;
    if (key) setText(this.banner, key, args);
  }

  renderFooter(ended, rated) {
    const mode = !ended ? "compose" : rated || this.skipped ? "after" : "rate";
    if (this.footer.dataset.mode === mode) return;
    this.footer.dataset.mode = mode;
    if (mode === "compose") {
      replace(this.footer, this.composer.el);
    } else if (mode === "rate") {
      this.composer.stopTyping();
      replace(this.footer, csatForm({
        onSubmit: async (score, comment) => {
          await this.conversation.rate(score, comment);
          this.refresh();
        },
        onSkip: () => {
          this.skipped = true;
          this.refresh();
        },
      }));
    } else {
      replace(this.footer, afterChat({ rated, onNewChat: this.onNewChat }));
    }
  }

  confirmEnd() {
    const bar = h("div", { class: "la-confirm", role: "alertdialog",
      "aria-labelledby": "la-confirm-text" },
    h("p", { id: "la-confirm-text", i18n: "chat.endConfirm" }),
    h("div", { class: "la-form__actions" },
      h("button", { type: "button", class: "la-button la-button--quiet", i18n: "common.cancel",
        onclick: () => {
          bar.remove();
          this.endButton.focus();
        } }),
      h("button", { type: "button", class: "la-button la-button--danger", i18n: "chat.endYes",
        onclick: async () => {
          try {
            await this.conversation.end();
            bar.remove();
          } catch (error) {
            this.composer.status(error, null, { error: true });
            bar.remove();
          }
        } })));
    this.footer.prepend(bar);
    bar.querySelector("button").focus();
  }
}

function queueText(queue) {
  if (!queue) return ["chat.waiting"];
  if (queue.agents_online === 0) return ["queue.noAgents", { n: queue.position }];
  if (queue.expected_wait_seconds === null || queue.expected_wait_seconds === undefined) {
    return ["queue.position", { n: queue.position }];
  }
  return ["queue.positionWait", { n: queue.position, min: minutes(queue.expected_wait_seconds) }];
}
