// Dates, durations and sizes as people read them, in the interface language.

import { defineFormat, lang } from "./i18n.js";

function parse(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Seconds since 1970 of an ISO 8601 timestamp (or of epoch seconds kept by an older page),
 * 0 when there is none: what token lifetimes are compared in. */
export function epochSeconds(value) {
  const date = parse(value);
  return date ? date.getTime() / 1000 : 0;
}

/** "14:05" today, "3 Mar 14:05" otherwise. */
export function clock(value) {
  const date = parse(value);
  if (!date) return "";
  const today = new Date().toDateString() === date.toDateString();
  const options = today
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return date.toLocaleString(lang(), options);
}

export function dateTime(value) {
  const date = parse(value);
  return date ? date.toLocaleString(lang(), { dateStyle: "medium", timeStyle: "short" }) : "";
}

// Elements made with h(..., {format: ["clock", iso]}) show these and follow language switches.
defineFormat("clock", clock);
defineFormat("dateTime", dateTime);

/** Whole minutes, rounded up, at least 1. */
export function minutes(seconds) {
  return Math.max(1, Math.ceil(seconds / 60));
}

/** Seconds since `value` (ISO string or epoch seconds). */
export function secondsSince(value) {
  const date = parse(value);
  return date ? Math.max(0, Math.round((Date.now() - date.getTime()) / 1000)) : 0;
}

/** "0:42", "12:05", "1:02:03" */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function fileSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}
