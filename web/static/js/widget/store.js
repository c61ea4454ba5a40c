// What the widget remembers in the host page's localStorage, one record per organisation:
// the guest token and chat, the latest MAX_MESSAGES of the transcript with the highest seq
// received (a reload shows them at once and asks the server only for what came after),
// messages not yet acknowledged, and the pre-chat answers for the next chat.

const MAX_MESSAGES = 200;

export class WidgetStore {
  constructor(org) {
    this.key = `liveassist.widget.${org}`;
  }

  load() {
    try {
      const raw = localStorage.getItem(this.key);
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  save(state) {
    const record = { ...state, messages: (state.messages || []).slice(-MAX_MESSAGES) };
    try {
      localStorage.setItem(this.key, JSON.stringify(record));
    } catch {
      // Storage full or disabled: the chat still works, it just will not survive a reload.
    }
  }

  /** Forget the chat but keep who the customer is, for the next pre-chat form. */
  forgetChat(state) {
    this.save({ profile: state.profile, previousToken: state.token, open: state.open });
  }
}
