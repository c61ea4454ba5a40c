// Messages on their way to the server, delivered one at a time in the order written. An item
// keeps its client_msg_id for every attempt, so a resend after a lost ack is recognised by the
// server instead of stored twice. Transient failures (connection, timeout, rate limit) keep
// the item for the next flush; a refusal drops it and reports it (retry() puts it back).

export class Outbox {
  /**
   * @param {object} options
   *   deliver(item): Promise<message>   ready(): can we try now?
   *   delivered(item, message)   failed(item, error)   changed(): persist if wanted
   */
  constructor({ deliver, ready, delivered, failed, changed = () => {}, items = [] }) {
    this.deliver = deliver;
    this.ready = ready;
    this.delivered = delivered;
    this.failed = failed;
    this.changed = changed;
    this.items = [...items];
    this.flushing = false;
    this.again = false;
    this.retryTimer = null;
  }

  add(item) {
    this.items.push(item);
    this.changed();
    this.flush();
  }

  /** Put back an item that was refused, with the same id. */
  retry(item) {
    if (!this.items.some((queued) => queued.client_msg_id === item.client_msg_id)) {
      this.items.push(item);
      this.changed();
    }
    this.flush();
  }

  /** Forget an item (the server's copy arrived by another way). */
  drop(clientMsgId) {
    const before = this.items.length;
    this.items = this.items.filter((item) => item.client_msg_id !== clientMsgId);
    if (this.items.length !== before) this.changed();
  }

  clear() {
    clearTimeout(this.retryTimer);
    this.items = [];
    this.changed();
  }

  async flush() {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.again = false;
        await this.deliverAll();
      } while (this.again && this.ready());
    } finally {
      this.flushing = false;
    }
  }

  async deliverAll() {
    while (this.ready() && this.items.length > 0) {
      const item = this.items[0];
      try {
        const message = await this.deliver(item);
        this.drop(item.client_msg_id);
        this.delivered(item, message);
      } catch (error) {
        if (error.transient) {
          if (error.code !== "disconnected") {
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.flush(), 2000);
          }
          return;
        }
        this.drop(item.client_msg_id);
        this.failed(item, error);
      }
    }
  }
}
