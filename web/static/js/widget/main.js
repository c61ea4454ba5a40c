// The embeddable widget: lives in a Shadow DOM on the host page (so neither side's CSS leaks
// into the other), shows a launcher, and switches its panel between the pre-chat form and
// the chat. A chat in progress is resumed after a reload from what the store remembers.

import { Announcer } from "../announce.js";
import { Api } from "../api.js";
import { h } from "../dom.js";
import { errorMessage } from "../errors.js";
import { guardFocus } from "../focus.js";
import { chatLanguageFor, lang, onLangChange, t, watchRoot } from "../i18n.js";
import { ChatView } from "./chatview.js";
import { Conversation } from "./conversation.js";
import { Launcher } from "./launcher.js";
import { Panel } from "./panel.js";
import { prechatForm } from "./prechat.js";
import { WidgetStore } from "./store.js";
import { followVisualViewport } from "./viewport.js";
import { HelpView, kbLanguage } from "./help.js";

const PANEL_ID = "la-panel";

/**
 * @param {object} options  from the script tag: base (server URL), org, identity
 *   ({external_id, signature} or null), name, email
 */
export function mount(options) {
  const host = document.createElement("div");
  host.setAttribute("data-liveassist", "widget");
  const shadow = host.attachShadow({ mode: "open" });
  const root = h("div", { class: "la-widget", lang: lang(), hidden: true });
  const sheets = ["widget.css", "call.css"].map((name) => h("link",
    { rel: "stylesheet", href: `${options.base}/static/css/${name}` }));
  // Shown once its styles are in (or failed: better plain than never), so it never flashes
  // unstyled on the host page.
  let waiting = sheets.length;
  const settled = () => {
    waiting -= 1;
    if (waiting === 0) root.hidden = false;
  };
  for (const sheet of sheets) {
    sheet.addEventListener("load", settled, { once: true });
    sheet.addEventListener("error", settled, { once: true });
  }
  shadow.append(...sheets, root);
  watchRoot(shadow);
  guardFocus(root);
  followVisualViewport(root);
  onLangChange(() => {
    root.lang = lang();
  });
  document.body.append(host);
  const widget = new Widget(root, options);
  widget.start();
  return widget;
}

class Widget {
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.api = new Api(options.base);
    this.store = new WidgetStore(options.org);
    this.config = null;
    this.conversation = null;
    this.view = null;
    this.unread = 0;
    this.launcher = new Launcher({
      panelId: PANEL_ID, onToggle: () => this.setOpen(!this.panel.isOpen),
    });
    this.panel = new Panel({ id: PANEL_ID, onMinimise: () => this.setOpen(false, true),
      onHelp: () => this.toggleHelp() });
    this.helpView = new HelpView({
      org: options.org,
      // In a chat its token (and the chat's language); before one, the organisation's slug.
      source: () => (this.conversation
        ? { api: this.conversation.api, token: true } : { api: this.api, token: false }),
      language: () => kbLanguage(this.conversation && this.conversation.state.chat
        ? this.conversation.state.chat.language : lang()),
      onClose: () => this.toggleHelp(false),
    });
    root.append(this.panel.el, this.launcher.el);
    this.announcer = new Announcer(root);
    document.addEventListener("visibilitychange", () => this.maybeMarkRead());
  }

  async start() {
    const saved = this.store.load() || {};
    try {
      this.config = await this.api.get("/api/widget/config", { org: this.options.org });
    } catch (error) {
      this.showUnavailable(error);
      return;
    }
    this.panel.setOrgName(this.config.org.name);
    if (saved.chatId && saved.token) this.resume(saved);
    else this.showPrechat(saved);
    if (saved.open) this.setOpen(true);
  }

  // ---- views ----------------------------------------------------------------------------

  showPrechat(saved = {}, notice = null) {
    this.endConversation();
    const profile = saved.profile || {};
    const defaults = {
      name: this.options.name || profile.name || "",
      email: this.options.email || profile.email || "",
      topic: profile.topic || this.config.topics[0],
      language: profile.language || chatLanguageFor(lang()),
    };
    this.panel.status(this.config.agents_online > 0 ? "header.online" : "header.offline");
    this.panel.show(prechatForm({
      config: this.config, defaults, notice, lockedIdentity: Boolean(this.options.identity),
      onSubmit: async (answers) => {
        const state = await Conversation.open(this.api, {
          org: this.options.org, profile: answers, identity: this.options.identity,
          previousToken: saved.previousToken || null,
        });
        this.resume(state);
        this.view.focus();
      },
    }));
    if (this.panel.isOpen) this.focusFirst();
  }

  /** The help panel over the form or chat (`show` undefined: the other way round). */
  toggleHelp(show = !this.panel.helpShown, articleId = null) {
    this.panel.setHelp(show ? this.helpView.el : null);
    if (show) {
      if (articleId) this.helpView.open(articleId);
      else this.helpView.focus();
    } else if (this.view) {
      this.view.focus();
    } else {
      this.panel.helpButton.focus();
    }
  }

  resume(state) {
    this.endConversation();
    const conversation = new Conversation({ base: this.options.base, store: this.store,
      state: { ...state, open: this.panel.isOpen || state.open } });
    this.conversation = conversation;
    conversation.save();
    conversation.on("refused", () => {
      const previous = conversation.state;
      this.store.forgetChat(previous);
      this.showPrechat({ profile: previous.profile }, "prechat.expired");
    });
    conversation.on("message", (message) => {
      if (message.sender.type !== "customer" && !this.panel.isOpen) {
        this.unread += 1;
        this.launcher.setUnread(this.unread);
      }
    });
    this.view = new ChatView({
      conversation,
      onStatus: (key, args) => this.panel.status(key, args),
      isVisible: () => this.panel.isOpen && document.visibilityState === "visible",
      onNewChat: () => this.newChat(),
      onAttention: (session) => {
        // Announced, and shown — but the focus stays where the customer has it (they may be
        // typing, here or on the host page): answering is a deliberate click or Tab.
        const name = (conversation.state.chat && conversation.state.chat.assignee_name)
          || t("chat.agent");
        this.announcer.say(`call.ringingAnnounce.${session.call.media}`, { name },
          { urgent: true });
        if (!this.panel.isOpen) this.setOpen(true, false, { focus: false });
      },
      announce: (key, args) => this.announcer.say(key, args),
      onWide: (on) => this.panel.setWide(on),
      onArticle: (id) => this.toggleHelp(true, id),
    });
    this.panel.show(this.view.el);
    conversation.connect();
  }

  newChat() {
    const previous = this.conversation.state;
    this.store.forgetChat(previous);
    this.showPrechat({ profile: previous.profile, previousToken: previous.token });
  }

  endConversation() {
    this.panel.setWide(false);
    if (this.view) this.view.destroy();
    if (this.conversation) this.conversation.close();
    this.view = null;
    this.conversation = null;
  }

  showUnavailable(error) {
    this.panel.status("header.unavailable");
    this.panel.show(h("div", { class: "la-unavailable" },
      h("p", { i18n: "widget.unavailable" }),
      h("p", { class: "la-form__error", text: errorMessage(error) }),
      h("button", { type: "button", class: "la-button la-button--primary", i18n: "common.retry",
        onclick: () => this.start() })));
  }

  // ---- opening and closing --------------------------------------------------------------

  /** `focus`: move the focus into the panel (a person opened it; not a call that rang). */
  setOpen(open, returnFocus = false, { focus = true } = {}) {
    this.panel.setOpen(open);
    this.launcher.setOpen(open);
    if (this.conversation) {
      this.conversation.state.open = open;
      this.conversation.save();
    }
    if (open) {
      this.unread = 0;
      this.launcher.setUnread(0);
      if (this.view) this.view.shown(focus);
      else if (focus) this.focusFirst();
      this.maybeMarkRead();
    } else if (returnFocus) {
      this.launcher.el.focus();
    }
  }

  focusFirst() {
    const field = this.panel.body.querySelector("input:not([readonly]), select, button");
    if (field) field.focus();
  }

  maybeMarkRead() {
    if (this.conversation && this.panel.isOpen && document.visibilityState === "visible") {
      this.conversation.markRead();
    }
  }
}
