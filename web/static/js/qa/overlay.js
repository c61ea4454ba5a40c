// The call's annotations drawn over the shared screen they were made on, at their moment of
// media time: what the customer saw during the call, at that point of the recording.
//
// A shape shows from its at_ms for its ttl_ms, then fades; a pointer shows until the next
// pointer or for 1.5 s; a "clear" removes what came before it on that screen. The same drawing
// code as the live call (call/annotations.js), so a replayed arrow looks like the live one.
// Each canvas carries data-count and data-kinds (what is drawn now) for tests.

import { contentRect, drawPointer, drawShape } from "../call/annotations.js";

const FADE_MS = 600;
const POINTER_MS = 1500;
const DEFAULT_TTL_MS = 4000;
const SURFACE_OF = { customer: "customer_screen", agent: "agent_screen" };

export class ReplayedAnnotations {
  /** @param {Array} annotations  {at_ms, surface, kind, points, color, ttl_ms}, any order */
  constructor(annotations) {
    this.bySurface = new Map();
    for (const item of [...annotations].sort((a, b) => a.at_ms - b.at_ms)) {
      if (!this.bySurface.has(item.surface)) this.bySurface.set(item.surface, []);
      this.bySurface.get(item.surface).push(item);
    }
  }

  /** What shows on `surface` at `position` (ms): [{annotation, alpha}] and the pointer. */
  visible(surface, position) {
    const all = this.bySurface.get(surface) || [];
    const shapes = [];
    let pointer = null;
    for (const item of all) {
      if (item.at_ms > position) break;
      if (item.kind === "clear") {
        shapes.length = 0;
        pointer = null;
      } else if (item.kind === "pointer") {
        pointer = position < item.at_ms + Math.min(item.ttl_ms || POINTER_MS, POINTER_MS)
          ? item : null;
      } else {
        const until = item.at_ms + (item.ttl_ms || DEFAULT_TTL_MS);
        if (position < until + FADE_MS) {
          shapes.push({ annotation: item, alpha: position <= until ? 1 : 1 - (position - until) / FADE_MS });
        }
      }
    }
    return { shapes, pointer };
  }

  /** Draw onto each screen tile's canvas what shows at `position`. */
  draw(tracks, position) {
    for (const track of tracks) {
      if (!track.canvas) continue;
      const { shapes, pointer } = track.tile.hidden
        ? { shapes: [], pointer: null }
        : this.visible(SURFACE_OF[track.participant], position);
      paint(track.canvas, track.el, shapes, pointer);
    }
  }
}

function paint(canvas, video, shapes, pointer) {
  const box = video.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(box.width * ratio));
  const height = Math.max(1, Math.round(box.height * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const rect = contentRect(box.width, box.height, video.videoWidth, video.videoHeight);
  const at = ([x, y]) => [rect.left + x * rect.width, rect.top + y * rect.height];
  const kinds = [];
  for (const { annotation, alpha } of shapes) {
    drawShape(ctx, annotation, at, alpha, rect);
    kinds.push(annotation.kind);
  }
  if (pointer && pointer.points && pointer.points[0]) {
    drawPointer(ctx, at(pointer.points[0]), pointer.color || "#e5484d");
    kinds.push("pointer");
  }
  const count = String(kinds.length);
  if (canvas.dataset.count !== count) canvas.dataset.count = count;
  const joined = kinds.join(" ");
  if (canvas.dataset.kinds !== joined) canvas.dataset.kinds = joined;
}
