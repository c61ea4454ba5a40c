// The staff member's sign-in: the token lives in sessionStorage (this tab only, gone when it
// closes), is renewed a minute before it expires, and sign-out revokes it on the server.
//
// Events: "changed" (user, or null and why: "expired" | "revoked" | null for a sign-out).
// A refresh refused by the server signs out.

import { Api } from "../api.js";
import { Emitter } from "../emitter.js";
import { epochSeconds } from "../format.js";

const STORAGE_KEY = "liveassist.staff";
const REFRESH_MARGIN_S = 60; // renew a minute early (a quarter of the lifetime if shorter)
const VALID_FOR_S = 10; // a token about to expire is renewed before it is used
const RETRY_S = 15;

export class StaffSession extends Emitter {
  constructor(base = "") {
    super();
    this.record = null; // {token, expiresAt (epoch seconds), user}
    this.api = new Api(base, () => (this.record ? this.record.token : null));
    this.timer = null;
    this.refreshing = null;
  }

  get user() {
    return this.record ? this.record.user : null;
  }

  get token() {
    return this.record ? this.record.token : null;
  }

  /** Pick up a sign-in from earlier in this tab; false when there is none (or it expired). */
  restore() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      saved = null;
    }
    if (!saved || !saved.token || saved.expiresAt <= Date.now() / 1000) return false;
    this.set(saved);
    return true;
  }

  async signIn(email, password) {
    // With this origin's cookies: the known-device cookie goes with it and comes back renewed.
    const body = await this.api.request("POST", "/api/auth/login",
      { json: { email, password }, credentials: "same-origin" });
    this.set({ token: body.token, expiresAt: epochSeconds(body.expires_at), user: body.user });
  }

  async signOut() {
    const hadToken = Boolean(this.token);
    try {
      if (hadToken) await this.api.post("/api/auth/logout", {});
    } finally {
      this.clear();
    }
  }

  /** A token that is good for at least a little while (refreshing first if it is not). */
  async validToken() {
    if (!this.record) throw new Error("signed out");
    if (this.record.expiresAt - Date.now() / 1000 < VALID_FOR_S) await this.refresh();
    return this.token;
  }

  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.api.post("/api/auth/refresh", {}).then((body) => {
        this.set({ token: body.token, expiresAt: epochSeconds(body.expires_at), user: body.user });
      }, (error) => {
        if (error.status === 401 || error.status === 403) this.clear("expired");
        else this.schedule(RETRY_S);
        throw error;
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Forget the sign-in locally (the server already refused it, or after logout). */
  clear(reason = null) {
    clearTimeout(this.timer);
    const had = this.record !== null;
    this.record = null;
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // nothing stored
    }
    if (had) this.emit("changed", null, reason);
  }

  set(record) {
    const first = this.record === null;
    this.record = record;
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(record));
    } catch {
      // the sign-in will not survive a reload
    }
    const left = record.expiresAt - Date.now() / 1000;
    this.schedule(left - Math.min(REFRESH_MARGIN_S, left / 4));
    if (first) this.emit("changed", record.user);
  }

  schedule(seconds) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refresh().catch(() => {});
    }, Math.max(1, seconds) * 1000);
  }
}
