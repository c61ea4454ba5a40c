// One chat as the console knows it: the server's view of it, its messages (each seq once),
// the customer and ticket when known, and what is still being sent.

export class ChatModel {
  constructor(view, { customer = null, ticket = null } = {}) {
    this.id = view.id;
    this.view = view;
    this.customer = customer;
    this.ticket = ticket;
    this.messages = new Map();
    this.readSent = view.agent_read_seq || 0;
    this.ended = view.state === "ended";
    this.removed = false;
    this.outbox = null; // set by AgentLive
    this.unread = 0; // the customer's messages this agent has not had in view (ChatsView)
  }

  /** The customer wrote last (system lines and notes aside): they wait for an answer. */
  get waitingForReply() {
    let newest = null;
    for (const message of this.messages.values()) {
      if (message.sender.type !== "customer" && message.sender.type !== "agent") continue;
      if (!newest || message.seq > newest.seq) newest = message;
    }
    return Boolean(newest && newest.sender.type === "customer" && !this.ended);
  }

  /** The customer's messages after `seq` (what is unread after a reload). */
  customerMessagesAfter(seq) {
    let count = 0;
    for (const message of this.messages.values()) {
      if (message.sender.type === "customer" && message.seq > seq) count += 1;
    }
    return count;
  }

  get maxSeq() {
    let max = 0;
    for (const seq of this.messages.keys()) max = Math.max(max, seq);
    return max;
  }

  get customerName() {
    return (this.customer && this.customer.name) || this.view.customer_name || "";
  }

  /** Seq of the newest message the customer wrote or the system added (what there is to read). */
  get lastIncomingSeq() {
    let max = 0;
    for (const message of this.messages.values()) {
      if (message.sender.type !== "agent") max = Math.max(max, message.seq);
    }
    return max;
  }

  add(message) {
    if (this.messages.has(message.seq)) return false;
    this.messages.set(message.seq, message);
    return true;
  }

  history() {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }
}
