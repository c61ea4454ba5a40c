// REST calls to the LiveAssist server: JSON in and out, the bearer token attached, and every
// failure turned into a LiveAssistError carrying the server's error code.

import { LiveAssistError } from "./errors.js";

export class Api {
  /**
   * @param {string} base  server origin, e.g. "http://127.0.0.1:8080" ("" for this page's)
   * @param {() => string|null} token  the current bearer token, read on every request
   */
  constructor(base, token = () => null) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, json) {
    return this.request("POST", path, { json });
  }

  patch(path, json) {
    return this.request("PATCH", path, { json });
  }

  /** Upload one file as multipart/form-data in the field "file". */
  upload(path, file) {
    const form = new FormData();
    form.append("file", file, file.name || "file");
    return this.request("POST", path, { form });
  }

  /** `credentials`: "omit" (default: only the bearer token authenticates) or "same-origin"
   * (the sign-in, whose known-device cookie is HttpOnly). */
  async request(method, path, { json, form, query, credentials } = {}) {
    const response = await this.fetch(method, path, { json, form, query, credentials });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw errorFrom(response, body);
    return body;
  }

  /** Download with the bearer header (attachments are never public URLs). */
  async blob(path) {
    const response = await this.fetch("GET", path, {});
    if (!response.ok) throw errorFrom(response, await response.json().catch(() => null));
    return response.blob();
  }

  async fetch(method, path, { json, form, query, credentials = "omit" }) {
    const url = new URL(this.base + path, location.href);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
    }
    const headers = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    try {
      return await fetch(url, { method, headers, body, credentials });
    } catch (error) {
      throw new LiveAssistError("network", error.message || "the server cannot be reached");
    }
  }
}

function errorFrom(response, body) {
  const error = body && body.error;
  if (error && error.code) {
    return new LiveAssistError(error.code, error.message, {
      status: response.status,
      details: error.details || null,
    });
  }
  return new LiveAssistError("http_error", `HTTP ${response.status}`, { status: response.status });
}
