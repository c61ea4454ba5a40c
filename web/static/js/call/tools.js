// The agent's drawing tools over one shared screen (an AnnotationLayer): a live pointer that
// follows the mouse (sent at most ~15 times a second), and arrow, circle and freehand shapes
// drawn by dragging. Each finished shape is shown at once and handed to onAnnotate() as an
// Annotation without id/by/at (the server adds those).

const POINTER_INTERVAL_MS = 66; // ~15/s; the server keeps at most 4/s of them
const MAX_FREEHAND_POINTS = 500;
const SHAPE_TTL_MS = 4000;
const POINTER_TTL_MS = 1500;
export const TOOLS = ["pointer", "arrow", "circle", "freehand"];

export class AnnotationTools {
  /**
   * @param {object} options
   *   layer: AnnotationLayer    surface: "customer_screen" | "agent_screen"
   *   tool(): the chosen tool ("pointer", "arrow", "circle", "freehand") or null (off)
   *   color: stroke colour    onAnnotate(annotation): send it
   */
  constructor({ layer, surface, tool, color = "#e5484d", onAnnotate }) {
    this.layer = layer;
    this.surface = surface;
    this.tool = tool;
    this.color = color;
    this.onAnnotate = onAnnotate;
    this.drag = null; // {kind, points}
    this.lastPointerAt = 0;
    this.pendingPointer = null;
    this.pointerTimer = null;
    const canvas = layer.canvas;
    this.listeners = {
      pointerdown: (e) => this.down(e),
      pointermove: (e) => this.move(e),
      pointerup: (e) => this.up(e),
      pointercancel: () => this.cancel(),
      pointerleave: () => this.flushPointer(),
    };
    for (const [name, fn] of Object.entries(this.listeners)) canvas.addEventListener(name, fn);
    canvas.classList.add("la-call__overlay--tools");
  }

  destroy() {
    for (const [name, fn] of Object.entries(this.listeners)) {
      this.layer.canvas.removeEventListener(name, fn);
    }
    clearTimeout(this.pointerTimer);
    this.layer.canvas.classList.remove("la-call__overlay--tools");
  }

  /** Remove every annotation on this surface, here and for the customer. */
  clearAll() {
    this.layer.clear();
    this.onAnnotate({ kind: "clear", surface: this.surface, points: [] });
  }

  down(event) {
    const kind = this.tool();
    if (!kind || kind === "pointer" || event.button !== 0) return;
    const point = this.layer.toPoint(event);
    if (!point) return;
    event.preventDefault();
    this.layer.canvas.setPointerCapture(event.pointerId);
    this.drag = { kind, points: [point] };
    this.layer.setDraft(this.shape());
  }

  move(event) {
    const kind = this.tool();
    if (!kind) return;
    if (this.drag) {
      const point = clampPoint(this.layer, event);
      if (this.drag.kind === "freehand") this.drag.points.push(point);
      else this.drag.points[1] = point;
      this.layer.setDraft(this.shape());
    } else if (kind === "pointer") {
      const point = this.layer.toPoint(event);
      if (point) this.pointer(point);
    }
  }

  up(event) {
    if (!this.drag) return;
    const point = clampPoint(this.layer, event);
    if (this.drag.kind === "freehand") this.drag.points.push(point);
    else this.drag.points[1] = point;
    const shape = this.shape();
    this.drag = null;
    this.layer.setDraft(null);
    if (!shape) return;
    this.layer.add(shape);
    this.onAnnotate(shape);
  }

  cancel() {
    this.drag = null;
    this.layer.setDraft(null);
  }

  /** The annotation for the current drag, or null when it is not a shape yet. */
  shape() {
    const { kind, points } = this.drag;
    let chosen = points;
    if (kind === "freehand") chosen = thin(points, MAX_FREEHAND_POINTS);
    else if (points.length < 2) chosen = [points[0], points[0]];
    return { kind, surface: this.surface, points: chosen, color: this.color, ttl_ms: SHAPE_TTL_MS };
  }

  // ---- the live pointer: shown here at once, sent at most every POINTER_INTERVAL_MS ----------

  pointer(point) {
    const annotation = { kind: "pointer", surface: this.surface, points: [point],
      color: this.color, ttl_ms: POINTER_TTL_MS };
    this.layer.add(annotation);
    this.pendingPointer = annotation;
    const wait = this.lastPointerAt + POINTER_INTERVAL_MS - performance.now();
    if (wait <= 0) this.flushPointer();
    else if (!this.pointerTimer) this.pointerTimer = setTimeout(() => this.flushPointer(), wait);
  }

  flushPointer() {
    clearTimeout(this.pointerTimer);
    this.pointerTimer = null;
    if (!this.pendingPointer) return;
    const annotation = this.pendingPointer;
    this.pendingPointer = null;
    this.lastPointerAt = performance.now();
    this.onAnnotate(annotation);
  }
}

function clampPoint(layer, event) {
  const inside = layer.toPoint(event);
  if (inside) return inside;
  const box = layer.video.getBoundingClientRect();
  const rect = layer.content();
  const x = (event.clientX - box.left - rect.left) / rect.width;
  const y = (event.clientY - box.top - rect.top) / rect.height;
  const clamp = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
  return [clamp(x), clamp(y)];
}

/** At most `max` points, evenly picked, always keeping the first and the last. */
function thin(points, max) {
  if (points.length <= max) return points;
  const out = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]);
  return out;
}
