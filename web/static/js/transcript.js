// A chat transcript as a list: messages ordered by seq, each seq shown once, messages being
// sent shown at the end until the server confirms them, read marks on one's own messages.
// Used by the widget (viewer = customer) and by each chat in the agent console.

import { h, setText } from "./dom.js";
import { clock } from "./format.js";
import { attachmentView } from "./media.js";
import { systemText } from "./systemtext.js";

export class Transcript {
  /**
   * @param {object} options
   *   api: Api used to fetch attachments
   *   isMine(message): true for messages shown on the viewer's side
   *   showName(message): true to print the sender's name above the bubble
   */
  constructor({ api, isMine, showName = () => true, label = "" }) {
    this.api = api;
    this.isMine = isMine;
    this.showName = showName;
    this.bySeq = new Map();
    this.pending = new Map();
    this.readSeq = 0;
    this.el = h("ol", {
      class: "la-transcript", role: "log", "aria-live": "polite", "aria-label": label, tabindex: 0,
    });
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
    const stick = this.nearBottom();
    const node = this.render(message);
    const pending = message.client_msg_id && this.pending.get(message.client_msg_id);
    if (pending && this.isMine(message)) {
      pending.node.remove();
      this.pending.delete(message.client_msg_id);
    }
    this.bySeq.set(message.seq, { message, node });
    this.insert(node, message.seq);
    this.refreshReadMarks();
    if (stick) this.scrollToEnd();
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
    this.el.append(node);
    this.scrollToEnd();
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
    this.el.replaceChildren();
  }

  scrollToEnd() {
    this.el.scrollTop = this.el.scrollHeight;
  }

  // ---- rendering -------------------------------------------------------------------------

  render(message) {
    if (message.kind === "event") {
      return h("li", { class: "la-msg la-msg--event", dataset: { seq: message.seq } },
        systemLine("la-msg__event", message.text),
        h("time", { class: "la-msg__time", datetime: message.created_at,
          text: clock(message.created_at) }));
    }
    if (message.kind === "note") {
      return h("li", { class: "la-msg la-msg--note", dataset: { seq: message.seq } },
        h("span", { class: "la-msg__note-label", i18n: "msg.internalNote" }),
        systemLine("la-msg__text", message.text, "p"),
        h("time", { class: "la-msg__time", datetime: message.created_at,
          text: clock(message.created_at) }));
    }
    const node = this.bubble(message, this.isMine(message));
    node.dataset.seq = message.seq;
    return node;
  }

  bubble(message, mine) {
    const name = message.sender && message.sender.name;
    return h("li", { class: ["la-msg", mine ? "la-msg--mine" : "la-msg--theirs"] },
      name && this.showName(message) ? h("span", { class: "la-msg__name", text: name }) : null,
      h("div", { class: "la-msg__bubble" },
        message.text ? h("p", { class: "la-msg__text", text: message.text }) : null,
        message.attachment ? attachmentView(message.attachment, this.api) : null),
      h("div", { class: "la-msg__meta" },
        h("time", { datetime: message.created_at, text: clock(message.created_at) }),
        mine ? h("span", { class: "la-msg__status" }) : null));
  }

  insert(node, seq) {
    for (const child of this.el.children) {
      if (child.dataset.pending || Number(child.dataset.seq) > seq) {
        this.el.insertBefore(node, child);
        return;
      }
    }
    this.el.append(node);
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
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80;
  }
}

/** A server-written line, translated when it is one of the sentences the server writes. */
function systemLine(className, text, tag = "span") {
  const known = systemText(text);
  return known
    ? h(tag, { class: className, i18n: known.key, i18nArgs: known.args })
    : h(tag, { class: className, text });
}
