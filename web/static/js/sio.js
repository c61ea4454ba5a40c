// A small Socket.IO v5 client (Engine.IO v4 over WebSocket only) for one namespace.
//
// Wire format, one text frame per packet:
//   engine:  "0{open json}"  "1" close  "2" ping (answer "3" pong)  "4<socket packet>"  "6" noop
//   socket:  "0/ns,{auth}" connect   "0/ns,{sid}" connected   "4/ns,{message,data}" refused
//            "1/ns," disconnect      "2/ns,[event,...args]"   "2/ns,<id>[event,...]" wants ack
//            "3/ns,<id>[...args]" ack
// The client reconnects by itself with exponential backoff; handlers registered with
// onReconnect() run after every successful reconnection so a page can resync what it missed.
//
// Local lifecycle events (names Socket.IO reserves, so no server event can collide):
//   "connect" ({sid, reconnected}), "disconnect" (reason), "connect_error" ({message, data}),
//   "reconnect" ({attempts}).

const ENGINE_OPEN = "0";
const ENGINE_CLOSE = "1";
const ENGINE_PING = "2";
const ENGINE_PONG = "3";
const ENGINE_MESSAGE = "4";

const SOCKET_CONNECT = "0";
const SOCKET_DISCONNECT = "1";
const SOCKET_EVENT = "2";
const SOCKET_ACK = "3";
const SOCKET_CONNECT_ERROR = "4";

export class SocketError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "SocketError";
    this.code = code; // "disconnected" | "timeout"
  }
}

export class SocketIOClient {
  /**
   * @param {string} base       server origin ("http://host:port"); "" means this page's origin
   * @param {string} namespace  e.g. "/customer"
   * @param {object} options
   *   auth: () => object | Promise<object>   sent with every namespace connect
   *   minDelay, maxDelay: reconnection backoff bounds in ms
   *   ackTimeout: default ms to wait for an ack
   */
  constructor(base, namespace, { auth = () => ({}), minDelay = 500, maxDelay = 10000,
    ackTimeout = 10000 } = {}) {
    this.url = socketUrl(base);
    this.namespace = namespace;
    this.auth = auth;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.ackTimeout = ackTimeout;
    this.sid = null;
    this.ws = null;
    this.handlers = new Map();
    this.acks = new Map();
    this.nextAckId = 0;
    this.attempts = 0;
    this.everConnected = false;
    this.stopped = true;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.heartbeatMs = 45000;
    this.onOnline = () => this.retryNow();
  }

  get connected() {
    return this.sid !== null;
  }

  /** Listen to a server event or a lifecycle event; returns a function that unsubscribes. */
  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event).delete(handler);
  }

  /** Run `handler` after every reconnection (not the first connection). */
  onReconnect(handler) {
    return this.on("reconnect", handler);
  }

  connect() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.open();
  }

  /** Stop for good (until connect() is called again): no more reconnection attempts. */
  close() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    clearTimeout(this.retryTimer);
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.sid !== null) {
      this.ws.send(ENGINE_MESSAGE + SOCKET_DISCONNECT + this.prefix());
    }
    this.teardown("io client disconnect");
  }

  /** Fire and forget; returns false when not connected. */
  emit(event, ...args) {
    if (!this.connected) return false;
    this.sendPacket(SOCKET_EVENT, "", [event, ...args]);
    return true;
  }

  /** Emit and resolve with the first argument of the server's ack. */
  emitWithAck(event, payload, timeout = this.ackTimeout) {
    if (!this.connected) {
      return Promise.reject(new SocketError("disconnected", "not connected to the server"));
    }
    const id = this.nextAckId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new SocketError("timeout", `no answer to ${event} within ${timeout} ms`));
      }, timeout);
      this.acks.set(id, { resolve, reject, timer });
      this.sendPacket(SOCKET_EVENT, String(id), payload === undefined ? [event] : [event, payload]);
    });
  }

  // ---- transport -------------------------------------------------------------------------

  open() {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("message", (e) => {
      if (this.ws === ws) this.onFrame(e.data);
    });
    ws.addEventListener("close", () => {
      if (this.ws === ws) this.lost("transport close");
    });
    ws.addEventListener("error", () => {
      if (this.ws === ws) this.lost("transport error");
    });
  }

  onFrame(frame) {
    if (typeof frame !== "string" || frame.length === 0) return;
    const type = frame[0];
    if (type === ENGINE_OPEN) {
      const info = JSON.parse(frame.slice(1));
      this.heartbeatMs = (info.pingInterval || 25000) + (info.pingTimeout || 20000);
      this.resetHeartbeat();
      this.sendConnect();
    } else if (type === ENGINE_PING) {
      this.resetHeartbeat();
      this.ws.send(ENGINE_PONG);
    } else if (type === ENGINE_CLOSE) {
      this.lost("transport close");
    } else if (type === ENGINE_MESSAGE) {
      this.onPacket(frame.slice(1));
    }
  }

  async sendConnect() {
    const ws = this.ws;
    let auth;
    try {
      auth = await this.auth();
    } catch (error) {
      this.fire("connect_error", { message: String(error.message || error), data: null });
      this.lost("auth failed");
      return;
    }
    if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(ENGINE_MESSAGE + SOCKET_CONNECT + this.prefix() + JSON.stringify(auth || {}));
  }

  onPacket(text) {
    const packet = parsePacket(text);
    if (packet === null || packet.namespace !== this.namespace) return;
    switch (packet.type) {
      case SOCKET_CONNECT: {
        this.sid = packet.data && packet.data.sid;
        const reconnected = this.everConnected;
        const attempts = this.attempts;
        this.everConnected = true;
        this.attempts = 0;
        this.fire("connect", { sid: this.sid, reconnected });
        if (reconnected) this.fire("reconnect", { attempts });
        break;
      }
      case SOCKET_CONNECT_ERROR:
        this.fire("connect_error", packet.data || { message: "connection refused" });
        this.lost("connect error");
        break;
      case SOCKET_DISCONNECT:
        // The server ended this session on purpose: do not come back by ourselves.
        this.stopped = true;
        this.teardown("io server disconnect");
        break;
      case SOCKET_EVENT:
        if (Array.isArray(packet.data) && packet.data.length > 0) {
          const [event, ...args] = packet.data;
          if (packet.id !== null) this.sendPacket(SOCKET_ACK, String(packet.id), []);
          this.fire(event, ...args);
        }
        break;
      case SOCKET_ACK: {
        const pending = this.acks.get(packet.id);
        if (pending) {
          this.acks.delete(packet.id);
          clearTimeout(pending.timer);
          pending.resolve(Array.isArray(packet.data) ? packet.data[0] : undefined);
        }
        break;
      }
      default:
        break; // binary packets (5, 6) are not part of the LiveAssist protocol
    }
  }

  sendPacket(type, id, data) {
    this.ws.send(ENGINE_MESSAGE + type + this.prefix() + id + JSON.stringify(data));
  }

  prefix() {
    return this.namespace === "/" ? "" : `${this.namespace},`;
  }

  resetHeartbeat() {
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => this.lost("ping timeout"), this.heartbeatMs);
  }

  // ---- losing and regaining the connection -----------------------------------------------

  lost(reason) {
    this.teardown(reason);
    if (!this.stopped) this.scheduleRetry();
  }

  teardown(reason) {
    clearTimeout(this.heartbeatTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
    for (const pending of this.acks.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SocketError("disconnected", `connection lost (${reason})`));
    }
    this.acks.clear();
    const wasConnected = this.sid !== null;
    this.sid = null;
    if (wasConnected) this.fire("disconnect", reason);
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const base = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts);
    const delay = Math.round(base * (0.5 + Math.random()));
    this.attempts += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  retryNow() {
    if (this.stopped || this.ws !== null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.open();
  }

  fire(event, ...args) {
    for (const handler of [...(this.handlers.get(event) || [])]) {
      try {
        handler(...args);
      } catch (error) {
        console.error(`handler for ${event} failed`, error);
      }
    }
  }
}

/** "http://host:8080" → "ws://host:8080/socket.io/?EIO=4&transport=websocket" */
export function socketUrl(base) {
  const url = new URL(base || location.origin, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = "/socket.io/";
  url.search = "?EIO=4&transport=websocket";
  return url.toString();
}

/** Parse a socket packet (the text after the engine "4"); null when malformed. */
export function parsePacket(text) {
  const type = text[0];
  let i = 1;
  let namespace = "/";
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    namespace = comma === -1 ? text.slice(i) : text.slice(i, comma);
    i = comma === -1 ? text.length : comma + 1;
  }
  let digits = "";
  while (i < text.length && text[i] >= "0" && text[i] <= "9") digits += text[i++];
  let data = null;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch {
      return null;
    }
  }
  return { type, namespace, id: digits === "" ? null : Number(digits), data };
}
