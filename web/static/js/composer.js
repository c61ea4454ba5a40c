// The message box under a transcript: Enter sends (Shift+Enter for a new line, never while an
// input method is composing), a button attaches a screenshot/photo/video (or paste one), and
// typing is reported to the other side: "typing" at most every 3 s, "stopped" after 4 s idle.

import { h, icon, ICONS, setText, setPlain } from "./dom.js";
import { errorMessage } from "./errors.js";

export const ACCEPTED_FILES =
  "image/png,image/jpeg,image/gif,image/webp,video/mp4,video/webm,video/quicktime";
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;

export class Composer {
  /**
   * @param {object} options
   *   onSend(text): Promise    onFile(file): Promise    onTyping(isTyping)
   *   placeholderKey: i18n key of the placeholder    id: unique prefix for element ids
   */
  constructor({ onSend, onFile, onTyping = () => {}, placeholderKey = "composer.placeholder",
    id = "la-composer" }) {
    this.onSend = onSend;
    this.onFile = onFile;
    this.onTyping = onTyping;
    this.typing = false;
    this.lastTypingSent = 0;
    this.idleTimer = null;

    this.input = h("textarea", {
      id: `${id}-text`, class: "la-composer__text", rows: 1, maxLength: 4000,
      i18nAttrs: { placeholder: placeholderKey },
      onkeydown: (e) => this.keydown(e), oninput: () => this.changed(),
      onpaste: (e) => this.pasted(e), dataset: { focusHome: "" },
    });
    this.file = h("input", { type: "file", accept: ACCEPTED_FILES, hidden: true,
      class: "la-composer__file", tabindex: -1, onchange: () => this.picked() });
    this.attach = h("button", { type: "button", class: "la-icon-button la-composer__attach",
      i18nAttrs: { "aria-label": "composer.attach", title: "composer.attach" },
      onclick: () => this.file.click() }, icon(ICONS.clip));
    this.send = h("button", { type: "submit", class: "la-composer__send",
      i18nAttrs: { "aria-label": "composer.send", title: "composer.send" } }, icon(ICONS.send));
    this.note = h("p", { class: "la-composer__note", role: "status", hidden: true });
    this.el = h("form", { class: "la-composer", onsubmit: (e) => this.submit(e) },
      h("label", { class: "la-visually-hidden", for: `${id}-text`, i18n: "composer.label" }),
      this.note,
      h("div", { class: "la-composer__row" }, this.attach, this.input, this.send),
      this.file);
  }

  focus() {
    this.input.focus();
  }

  setEnabled(enabled) {
    for (const el of [this.input, this.attach, this.send]) el.disabled = !enabled;
  }

  /** Show a short status line above the box (null to hide). */
  status(keyOrError, args, { error = false } = {}) {
    if (!keyOrError) {
      this.note.hidden = true;
      return;
    }
    this.note.hidden = false;
    this.note.classList.toggle("la-composer__note--error", error);
    if (typeof keyOrError === "string") setText(this.note, keyOrError, args);
    else setPlain(this.note, errorMessage(keyOrError));
  }

  /** Put `text` where the cursor is (an article link, a saved reply), ready to edit and send. */
  insert(text) {
    const { selectionStart: start, selectionEnd: end, value } = this.input;
    const before = value.slice(0, start);
    const gap = before && !/\s$/.test(before) ? " " : "";
    this.input.value = before + gap + text + value.slice(end);
    const at = (before + gap + text).length;
    this.input.focus();
    this.input.setSelectionRange(at, at);
    this.changed();
  }

  keydown(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      this.el.requestSubmit();
    }
  }

  changed() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
    if (this.input.value.trim() === "") {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (!this.typing || now - this.lastTypingSent > TYPING_REPEAT_MS) {
      this.typing = true;
      this.lastTypingSent = now;
      this.onTyping(true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (this.typing) {
      this.typing = false;
      this.onTyping(false);
    }
  }

  async submit(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    this.stopTyping();
    this.input.value = "";
    this.changed();
    this.status(null);
    try {
      await this.onSend(text);
    } catch (error) {
      this.status(error, null, { error: true });
    }
  }

  picked() {
    const file = this.file.files && this.file.files[0];
    this.file.value = "";
    if (file) this.upload(file);
  }

  pasted(event) {
    const item = [...(event.clipboardData ? event.clipboardData.items : [])]
      .find((entry) => entry.kind === "file" && entry.type.startsWith("image/"));
    if (!item) return;
    event.preventDefault();
    this.upload(item.getAsFile());
  }

  async upload(file) {
    this.status("composer.uploading", { name: file.name || "image" });
    this.attach.disabled = true;
    try {
      await this.onFile(file);
      this.status(null);
    } catch (error) {
      this.status(error, null, { error: true });
    } finally {
      this.attach.disabled = false;
    }
  }
}
