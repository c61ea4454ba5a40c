// LiveAssist requests over Socket.IO: every ack is {"ok": true, "data": ...} or
// {"ok": false, "error": {"code", "message"}}. call() returns the data or throws.

import { LiveAssistError } from "./errors.js";

export async function call(socket, event, payload, timeout) {
  let ack;
  try {
    ack = await socket.emitWithAck(event, payload, timeout);
  } catch (error) {
    throw new LiveAssistError(error.code || "disconnected", error.message);
  }
  if (ack && ack.ok === true) return ack.data;
  const error = (ack && ack.error) || {};
  throw new LiveAssistError(
    error.code || "bad_ack",
    error.message || `malformed ack for ${event}`,
    { details: error.details || null },
  );
}

/** A client-side message id: random, URL-safe, valid for the server's pattern. */
export function newClientId(prefix = "m") {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
