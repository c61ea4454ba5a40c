// Calls ringing in chats other than the open one, above it: who calls, and Accept, Decline
// or Show the chat. Shown, and announced by the console — never focused by itself, so an
// agent typing to someone else does not answer with their next key.

import { h, icon, replace } from "../dom.js";
import { t } from "../i18n.js";
import { CALL_ICONS } from "../call/icons.js";

export class RingBanner {
  /** onAccept(session), onDecline(session), onShow(chatId) */
  constructor({ onAccept, onDecline, onShow }) {
    this.onAccept = onAccept;
    this.onDecline = onDecline;
    this.onShow = onShow;
    this.el = h("div", { class: "ring-banner", hidden: true });
  }

  /** @param {Array<{session, name}>} ringing  incoming calls to show */
  render(ringing) {
    this.el.hidden = ringing.length === 0;
    replace(this.el, ringing.map(({ session, name }) => h("section", {
      class: "ring-banner__call", dataset: { callId: session.id, chatId: session.chatId },
      "aria-labelledby": `ring-${session.id}`,
    },
    icon(CALL_ICONS.phone, { size: 18 }),
    h("p", { class: "ring-banner__text", id: `ring-${session.id}`,
      i18n: `call.ringingBanner.${session.call.media}`,
      i18nArgs: { name: name || t("console.customer") } }),
    h("div", { class: "ring-banner__actions" },
      h("button", { type: "button", class: "la-call__answer", dataset: { ringAction: "accept" },
        i18n: "call.accept", onclick: () => this.onAccept(session) }),
      h("button", { type: "button", class: "la-call__decline", dataset: { ringAction: "decline" },
        i18n: "call.decline", onclick: () => this.onDecline(session) }),
      h("button", { type: "button", class: "button button--small", dataset: { ringAction: "show" },
        i18n: "call.showChat", onclick: () => this.onShow(session.chatId) })))));
  }
}
