// A chat transcript as a list: messages ordered by seq, each seq shown once, messages being
// sent shown at the end until the server confirms them, read marks on one's own messages.
// Used by the widget (viewer = customer) and by each chat in the agent console.

import { h, setText } from "./dom.js";
import "./format.js"; // the date formats of data-format
import "./kbstrings.js"; // the bot's name and lines
import { attachmentView } from "./media.js";
import { systemText } from "./systemtext.js";

const READER_SCROLL_MS = 1500; // a scroll this soon after the reader's wheel, touch or key is theirs

export class Transcript {
  /**
   * @param {object} options
   *   api: Api used to fetch attachments
   *   isMine(message): true for messages shown on the viewer's side
   *   showName(message): true to print the sender's name above the bubble
   *   labelKey: i18n key of the conversation's accessible name
   *   onArticle(id): open an article the bot offered (without it they are shown, not opened)
   */
  constructor({ api, isMine, showName = () => true, labelKey = "chat.transcript",
    onArticle = null }) {
    this.api = api;
    this.onArticle = onArticle;
    this.isMine = isMine;
    this.showName = showName;
    this.bySeq = new Map();
    this.pending = new Map();
    this.readSeq = 0;
    this.pinned = true;
    this.list = h("ol", { class: "la-transcript__list" });
    // The scrolling box is the log (an <ol> may not take role="log": its items would stop
    // being list items); the list inside keeps its semantics.
    this.scroller = h("div", {
      class: "la-transcript", role: "log", "aria-live": "polite",
      i18nAttrs: { "aria-label": labelKey }, tabindex: 0, onscroll: () => this.scrolled(),
    }, this.list);
    // Only the reader unpins the transcript: scrolls that layout causes (the box resized,
    // its width changed) must not count as "they scrolled up to read".
    this.readerAt = 0;
    this.lastTop = 0;
    const reader = () => {
      this.readerAt = performance.now();
    };
    for (const type of ["wheel", "touchmove", "pointerdown", "keydown"]) {
      this.scroller.addEventListener(type, reader, { passive: true });
    }
    this.marker = h("button", { type: "button", class: "la-transcript__new", hidden: true,
      i18n: "chat.newMessages", onclick: () => this.jumpToEnd() });
    this.el = h("div", { class: "la-transcript-box" }, this.scroller, this.marker);
    // Whatever changes the transcript's size — a call panel opening, the window or the
    // on-screen keyboard, an image loading — one that was at the bottom stays there.
    this.resizes = new ResizeObserver(() => {
      if (this.pinned) this.scrollToEnd();
    });
    this.resizes.observe(this.scroller);
    this.resizes.observe(this.list);
  }

  destroy() {
    this.resizes.disconnect();
  }

  get maxSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) max = Math.max(max, seq);
    return max;
  }

  get size() {
    return this.bySeq.size;
  }

  messages() {
    return [...this.bySeq.values()].map((entry) => entry.message).sort((a, b) => a.seq - b.seq);
  }

  /** Show a stored message; false when this seq is already shown. */
  add(message) {
    if (this.bySeq.has(message.seq)) return false;
    const node = this.render(message);
    const pending = message.client_msg_id && this.pending.get(message.client_msg_id);
    const mine = this.isMine(message);
    if (pending && mine) {
      pending.node.remove();
      this.pending.delete(message.client_msg_id);
    }
    this.bySeq.set(message.seq, { message, node });
    this.insert(node, message.seq);
    this.refreshReadMarks();
    if (this.pinned) this.scrollToEnd();
    else if (!mine) this.marker.hidden = false;
    return true;
  }

  /** A message on its way to the server, keyed by its client_msg_id. */
  addPending({ client_msg_id: id, text, attachment }) {
    if (this.pending.has(id)) return;
    const message = { seq: 0, text, attachment: attachment || null, kind: "text",
      sender: { type: "self", name: null }, created_at: new Date().toISOString() };
    const node = this.bubble(message, true);
    node.classList.add("la-msg--pending");
    node.dataset.pending = id;
    setText(node.querySelector(".la-msg__status"), "msg.sending");
    this.pending.set(id, { node });
    this.list.append(node);
    this.jumpToEnd();  // one's own message: show it, wherever the reader was
  }

  /** The server refused the message: say so and offer to try again. */
  failPending(id, retry) {
    const entry = this.pending.get(id);
    if (!entry) return;
    const status = entry.node.querySelector(".la-msg__status");
    entry.node.classList.add("la-msg--failed");
    setText(status, "msg.failed");
    const button = h("button", { type: "button", class: "la-link", i18n: "msg.retry",
      onclick: () => {
        if (button.contains(button.getRootNode().activeElement)) {
          const home = this.el.closest("[data-focus-scope]");
          const target = home && home.querySelector("[data-focus-home]");
          if (target) target.focus();
        }
        button.remove();
        entry.node.classList.remove("la-msg--failed");
        setText(status, "msg.sending");
        retry();
      } });
    status.after(button);
  }

  removePending(id) {
    const entry = this.pending.get(id);
    if (entry) entry.node.remove();
    this.pending.delete(id);
  }

  /** The other side has read everything up to `seq`. */
  setRead(seq) {
    if (seq <= this.readSeq) return;
    this.readSeq = seq;
    this.refreshReadMarks();
  }

  clear() {
    this.bySeq.clear();
    this.pending.clear();
    this.readSeq = 0;
    this.list.replaceChildren();
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Back to the newest message, and follow new ones again. This is the reader's latest word:
   * the scrolls that follow (the jump itself, a call panel closing) are not theirs. */
  jumpToEnd() {
    this.readerAt = 0;
    this.pinned = true;
    this.marker.hidden = true;
    this.scrollToEnd();
  }

  /** A scroll: the reader's own (pinned again only at the bottom), or one that layout caused
   * (a pinned transcript goes back to the bottom). */
  scrolled() {
    const top = this.scroller.scrollTop;
    const movedUp = top < this.lastTop - 1;
    this.lastTop = top;
    const byReader = performance.now() - this.readerAt < READER_SCROLL_MS;
    // Only a move up unpins: content that grew below a pinned reader (a line added between
    // the scroll and this event) leaves them short of the bottom without their doing.
    if (byReader) {
      if (movedUp && !this.nearBottom()) this.pinned = false;
    } else if (this.pinned) {
      this.scrollToEnd();
    }
    if (this.nearBottom()) {
      this.pinned = true;
      this.marker.hidden = true;
    }
  }

  // ---- rendering -------------------------------------------------------------------------

  render(message) {
    if (message.kind === "event") {
      return h("li", { class: "la-msg la-msg--event", dataset: { seq: message.seq } },
        systemLine("la-msg__event", message.text),
        h("time", { class: "la-msg__time", datetime: message.created_at,
          format: ["clock", message.created_at] }));
    }
    if (message.kind === "note") {
      return h("li", { class: "la-msg la-msg--note", dataset: { seq: message.seq } },
        h("span", { class: "la-msg__note-label", i18n: "msg.internalNote" }),
        systemLine("la-msg__text", message.text, "p"),
        h("time", { class: "la-msg__time", datetime: message.created_at,
          format: ["clock", message.created_at] }));
    }
    const node = this.bubble(message, this.isMine(message));
    node.dataset.seq = message.seq;
    return node;
  }

  bubble(message, mine) {
    const name = message.sender && message.sender.name;
    const bot = message.sender && message.sender.type === "bot";
    const label = bot ? h("span", { class: "la-msg__name", i18n: "chat.bot" })
      : name && this.showName(message) ? h("span", { class: "la-msg__name", text: name }) : null;
    return h("li", { class: ["la-msg", mine ? "la-msg--mine" : "la-msg--theirs",
      bot ? "la-msg--bot" : ""] },
    label,
    h("div", { class: "la-msg__bubble" },
      message.text ? h("p", { class: "la-msg__text" }, linked(message.text)) : null,
      message.articles ? this.articles(message.articles) : null,
      message.attachment ? attachmentView(message.attachment, this.api) : null),
      h("div", { class: "la-msg__meta" },
        h("time", { datetime: message.created_at, format: ["clock", message.created_at] }),
        mine ? h("span", { class: "la-msg__status" }) : null));
  }

  /** The articles the bot offered: each opens in the help panel (widget) or is listed. */
  articles(list) {
    return h("ul", { class: "la-msg__articles", i18nAttrs: { "aria-label": "bot.articles" } },
      list.map((article) => h("li", {},
        this.onArticle
          ? h("button", { type: "button", class: "la-msg__article", dataset: { article: article.id },
            onclick: () => this.onArticle(article.id) },
          h("span", { class: "la-msg__article-title", text: article.title }),
          h("span", { class: "la-msg__article-excerpt", text: article.excerpt }))
          : h("span", { class: "la-msg__article", dataset: { article: article.id } },
            h("span", { class: "la-msg__article-title", text: article.title }),
            h("span", { class: "la-msg__article-excerpt", text: article.excerpt })))));
  }

  insert(node, seq) {
    for (const child of this.list.children) {
      if (child.dataset.pending || Number(child.dataset.seq) > seq) {
        this.list.insertBefore(node, child);
        return;
      }
    }
    this.list.append(node);
  }

  refreshReadMarks() {
    for (const [seq, { message, node }] of this.bySeq) {
      const status = node.querySelector(".la-msg__status");
      if (!status || !this.isMine(message)) continue;
      const key = seq <= this.readSeq ? "msg.read" : "msg.sent";
      if (status.dataset.i18n !== key) setText(status, key);
    }
  }

  nearBottom() {
    const box = this.scroller;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  }
}

/** Text with its http(s) addresses as links (an article link an agent inserted); everything
 * else stays text nodes. */
function linked(text) {
  const parts = text.split(/(https?:\/\/[^\s<>"']+)/);
  return parts.map((part, index) => (index % 2
    ? h("a", { href: part, target: "_blank", rel: "noopener noreferrer", text: part })
    : part));
}

/** A server-written line, translated when it is one of the sentences the server writes. */
function systemLine(className, text, tag = "span") {
  const known = systemText(text);
  return known
    ? h(tag, { class: className, i18n: known.key, i18nArgs: known.args })
    : h(tag, { class: className, text });
}
