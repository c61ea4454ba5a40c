// The evidence of one call as timeline entries on media time: chat messages, call events,
// annotations (GET /api/recordings/{id}/timeline) and the review's comments. Each entry says
// what it is in the interface language; what people wrote is never translated.
//
// Entry: {key, at_ms, kind: "message"|"event"|"annotation"|"comment", who, text (plain) or
// label ({key, args}: translated), item (the original)}.

import { duration } from "../format.js";
import { systemText } from "../systemtext.js";

export const KINDS = ["message", "event", "annotation", "comment"];

/** Timeline items of the recording (quality samples excluded: they make the graph). */
export function recordingEntries(items) {
  const entries = [];
  items.forEach((item, index) => {
    const key = `${item.kind}-${item.id ?? index}`;
    if (item.kind === "message") entries.push(messageEntry(item, key));
    else if (item.kind === "call_event") entries.push(eventEntry(item, key));
    else if (item.kind === "annotation") entries.push(annotationEntry(item, key));
  });
  return entries;
}

export function commentEntries(comments) {
  return comments.map((comment) => ({
    key: `comment-${comment.id}`,
    at_ms: comment.at_ms,
    kind: "comment",
    who: comment.author_name,
    text: comment.text,
    item: comment,
  }));
}

/** All entries in media-time order (stable for equal times). */
export function ordered(entries) {
  return entries
    .map((entry, index) => ({ entry, index }))
    .sort((a, b) => a.entry.at_ms - b.entry.at_ms || a.index - b.index)
    .map(({ entry }) => entry);
}

/** Quality samples of the recording: {at_ms, participant, mos, level}. */
export function qualitySamples(items) {
  return items.filter((item) => item.kind === "quality").map((item) => {
    const sample = item.quality || item;
    return { at_ms: item.at_ms, participant: sample.participant, mos: Number(sample.mos),
      level: sample.level };
  });
}

export function annotations(items) {
  return items.filter((item) => item.kind === "annotation").map(annotationOf);
}

/** "1:05" of a media time in ms; "−2:10" before the recording began (the chat before). */
export function mediaTime(ms) {
  return ms < 0 ? `−${duration(-ms / 1000)}` : duration(ms / 1000);
}

function messageEntry(item, key) {
  const message = item.message || item;
  const sender = message.sender || {};
  const entry = { key, at_ms: item.at_ms, kind: "message", item };
  if (message.kind === "event" || sender.type === "system") {
    // the server writes system lines in English: known ones follow the interface language
    const known = systemText(message.text || "");
    if (known) entry.label = known;
    else entry.text = message.text || "";
    entry.whoLabel = { key: "qa.participant.system" };
    return entry;
  }
  entry.who = sender.name || (sender.type === "customer" ? null : sender.type);
  if (!entry.who) entry.whoLabel = { key: `qa.participant.${sender.type || "customer"}` };
  if (message.kind === "note") entry.note = true;
  if (message.attachment) {
    entry.label = { key: "qa.entry.attachment", args: { name: message.attachment.filename } };
  } else {
    entry.text = message.text || "";
  }
  return entry;
}

/** A call event's kind and who did it, whatever the item nests them in. */
function eventParts(item) {
  const nested = item.event && typeof item.event === "object" ? item.event : null;
  const kind = (nested && nested.kind) || item.event || item.event_kind || item.name || "event";
  const detail = (nested && nested.detail) || item.detail || {};
  // recording events say who paused or started it in detail.by (null: the policy)
  const actor = (nested && nested.actor) ?? item.actor ?? detail.by ?? null;
  return { kind, actor, detail };
}

function eventEntry(item, key) {
  const { kind, actor, detail } = eventParts(item);
  const args = {
    who: actor ? { key: `qa.participant.${actor}` } : { key: "qa.entry.server" },
    role: detail.role ? { key: `qa.role.${detail.role}` } : "",
    to: detail.to ? { key: `qa.downgrade.${detail.to}`, args: {} } : "",
    // an end reason is a code with its words in both languages; other reasons are text
    reason: kind === "ended" && detail.reason
      ? { key: `endText.${detail.reason}`, args: { _: detail.reason } }
      : detail.reason || detail.why || "",
  };
  return {
    key,
    at_ms: item.at_ms,
    kind: "event",
    label: { key: `qa.event.${kind}`, args: { ...args, _: kind } },
    detail: mediaDetail(kind, detail),
    item,
  };
}

/** "Camera on, screen off" for media events, which carry the flags. */
function mediaDetail(kind, detail) {
  if (kind !== "media") return null;
  return ["audio", "camera", "screen"]
    .filter((role) => role in detail)
    .map((role) => ({ key: detail[role] ? "qa.mediaOn" : "qa.mediaOff",
      args: { role: { key: `qa.role.${role}` } } }));
}

export function annotationOf(item) {
  const nested = item.annotation && typeof item.annotation === "object" ? item.annotation : item;
  return {
    at_ms: item.at_ms,
    surface: nested.surface,
    kind: nested.shape || nested.annotation_kind || (nested === item ? item.shape : nested.kind),
    points: nested.points || [],
    color: nested.color,
    ttl_ms: nested.ttl_ms,
  };
}

function annotationEntry(item, key) {
  const annotation = annotationOf(item);
  return {
    key,
    at_ms: item.at_ms,
    kind: "annotation",
    label: { key: "qa.entry.annotation", args: {
      shape: { key: `qa.shape.${annotation.kind}` },
      surface: { key: `qa.surface.${annotation.surface}` },
    } },
    item,
  };
}
