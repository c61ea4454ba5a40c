// The round button in the corner that opens and closes the chat panel, with an unread count.

import { h, icon, ICONS, setText } from "../dom.js";

export class Launcher {
  constructor({ panelId, onToggle }) {
    this.badge = h("span", { class: "la-launcher__badge", hidden: true, "aria-hidden": "true" });
    this.label = h("span", { class: "la-visually-hidden" });
    this.openIcon = icon(ICONS.chat, { size: 26 });
    this.closeIcon = icon(ICONS.close, { size: 26 });
    this.el = h("button", {
      type: "button", class: "la-launcher", "aria-expanded": "false", "aria-controls": panelId,
      onclick: onToggle,
    }, this.openIcon, this.label, this.badge);
    this.setOpen(false);
  }

  setOpen(open) {
    this.el.setAttribute("aria-expanded", String(open));
    this.el.classList.toggle("la-launcher--open", open);
    (open ? this.openIcon : this.closeIcon).replaceWith(open ? this.closeIcon : this.openIcon);
    setText(this.label, open ? "launcher.close" : "launcher.open");
  }

  setUnread(count) {
    this.badge.hidden = count === 0;
    this.badge.textContent = count > 9 ? "9+" : String(count);
    if (count > 0) setText(this.label, "launcher.unread", { n: count });
  }
}
