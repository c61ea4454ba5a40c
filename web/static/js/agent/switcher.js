// The agent's chats as a row of buttons above the open one: who, how many of their messages
// are unread, whether they wait for a reply, whether a call rings or runs. Alt+↑ / Alt+↓
// (Option on a Mac) switch from anywhere in the console, the message box included: those
// keys type nothing. The shortcut is written beside the row and on each button
// (aria-keyshortcuts).

import { h, replace } from "../dom.js";

export const SHORTCUT = "Alt+ArrowUp Alt+ArrowDown";

export class ChatSwitcher {
  /** onSelect(chatId, {focus}) */
  constructor({ onSelect }) {
    this.onSelect = onSelect;
    this.list = h("ul", { class: "chat-switcher__list" });
    this.el = h("nav", { class: "chat-switcher", i18nAttrs: { "aria-label": "switcher.label" } },
      this.list,
      h("p", { class: "chat-switcher__hint", id: "chat-switcher-hint", i18n: "switcher.hint" }));
  }

  /**
   * @param {Array<ChatModel>} chats  in display order
   * @param {number|null} selected
   * @param {(chat) => string|null} callState  "ringing" (here) | "calling" (from here) |
   *   "active" | null for a chat
   */
  render(chats, selected, callState) {
    this.el.hidden = chats.length === 0;
    replace(this.list, chats.map((chat, index) => {
      const call = callState(chat);
      const current = chat.id === selected;
      return h("li", {},
        h("button", {
          type: "button",
          class: ["chat-tab", current ? "chat-tab--current" : null,
            chat.unread ? "chat-tab--unread" : null],
          "aria-current": current ? "true" : null,
          "aria-keyshortcuts": SHORTCUT,
          "aria-describedby": "chat-switcher-hint",
          dataset: { chatId: chat.id, index: index + 1 },
          onclick: () => this.onSelect(chat.id, { focus: false }),
        },
        h("span", { class: "chat-tab__name", text: chat.customerName || "—" }),
        call ? h("span", { class: ["chat-tab__call", `chat-tab__call--${call}`],
          i18n: `switcher.call.${call}` }) : null,
        chat.ended ? h("span", { class: "chat-tab__ended", i18n: "switcher.ended" }) : null,
        chat.waitingForReply ? h("span", { class: "chat-tab__waiting",
          i18n: "switcher.waiting" }) : null,
        chat.unread ? h("span", { class: "chat-tab__unread" },
          h("span", { "aria-hidden": "true", text: chat.unread > 99 ? "99+" : String(chat.unread) }),
          h("span", { class: "visually-hidden", i18n: "switcher.unread",
            i18nArgs: { n: chat.unread } })) : null));
    }));
  }
}
