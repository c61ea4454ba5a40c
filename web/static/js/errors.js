// One error type for everything the server (or the connection) refuses: a stable code and a
// sentence. REST errors, Socket.IO acks and connection failures all end up here.

import { t } from "./i18n.js";

export class LiveAssistError extends Error {
  constructor(code, message, { status = 0, details = null } = {}) {
    super(message || code);
    this.name = "LiveAssistError";
    this.code = code;
    this.status = status;
    this.details = details;
  }

  /** Worth trying again later with the same request (nothing was refused on its merits). */
  get transient() {
    return ["disconnected", "timeout", "network", "rate_limited", "internal"].includes(this.code);
  }
}

export function asLiveAssistError(error) {
  if (error instanceof LiveAssistError) return error;
  return new LiveAssistError("network", error && error.message ? error.message : String(error));
}

const MESSAGES = {
  network: "error.network",
  disconnected: "error.disconnected",
  timeout: "error.timeout",
  rate_limited: "error.rateLimited",
  unsupported_media_type: "error.unsupportedFile",
  payload_too_large: "error.tooLarge",
  unauthenticated: "error.unauthenticated",
  token_expired: "error.unauthenticated",
  forbidden: "error.forbidden",
  internal: "error.internal",
};

/** A sentence for people: our own translation for known codes, else the server's words. */
export function errorMessage(error) {
  const key = MESSAGES[error && error.code];
  if (key) return t(key);
  return (error && error.message) || t("error.internal");
}
