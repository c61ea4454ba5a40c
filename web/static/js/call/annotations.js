// Annotations drawn over a shared screen: a canvas laid over a <video>, drawing in the video's
// CONTENT rect (the letterboxed picture inside the element, from videoWidth/videoHeight and
// the element's box), so points given as fractions (0–1) of the content land on the same
// pixel of the shared screen for everyone, whatever the size of their window.
//
// Each annotation fades out after its ttl_ms (counted from when it arrived here); a pointer
// is one dot that follows the latest "pointer" annotation and disappears when it stops
// moving; "clear" removes everything. The canvas carries data-count (annotations shown now),
// data-kinds (their kinds) and data-total (received so far) so a test can tell what is drawn.

const FADE_MS = 600;
const POINTER_IDLE_MS = 1500;
const DEFAULT_TTL_MS = 4000;
const DEFAULT_COLOR = "#e5484d";

/** The rect (CSS px, relative to the element) where object-fit: contain shows the picture. */
export function contentRect(boxWidth, boxHeight, videoWidth, videoHeight) {
  if (!videoWidth || !videoHeight || !boxWidth || !boxHeight) {
    return { left: 0, top: 0, width: boxWidth, height: boxHeight };
  }
  const scale = Math.min(boxWidth / videoWidth, boxHeight / videoHeight);
  const width = videoWidth * scale;
  const height = videoHeight * scale;
  return { left: (boxWidth - width) / 2, top: (boxHeight - height) / 2, width, height };
}

export class AnnotationLayer {
  /** @param {HTMLVideoElement} video  the shared screen being annotated */
  constructor(video) {
    this.video = video;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "la-call__overlay";
    this.canvas.setAttribute("aria-hidden", "true");
    this.canvas.dataset.count = "0";
    this.canvas.dataset.kinds = "";
    this.canvas.dataset.total = "0";
    this.items = []; // {annotation, until}
    this.pointer = null; // {point, color, until}
    this.draft = null; // an annotation being drawn here, not sent yet
    this.frame = null;
    this.observer = new ResizeObserver(() => this.redraw());
    this.observer.observe(video);
    video.addEventListener("resize", () => this.redraw());
    video.addEventListener("loadedmetadata", () => this.redraw());
  }

  /** Show one annotation (as received from the server or drawn here). */
  add(annotation) {
    const now = performance.now();
    this.canvas.dataset.total = String(Number(this.canvas.dataset.total) + 1);
    if (annotation.kind === "clear") {
      this.items = [];
      this.pointer = null;
    } else if (annotation.kind === "pointer") {
      const [point] = annotation.points || [];
      if (!point) return;
      this.pointer = { point, color: annotation.color || DEFAULT_COLOR,
        until: now + Math.min(annotation.ttl_ms || POINTER_IDLE_MS, POINTER_IDLE_MS) };
    } else {
      this.items.push({ annotation, until: now + (annotation.ttl_ms || DEFAULT_TTL_MS) });
    }
    this.schedule();
  }

  /** A shape being drawn by this agent (shown until setDraft(null)). */
  setDraft(annotation) {
    this.draft = annotation;
    this.schedule();
  }

  clear() {
    this.items = [];
    this.pointer = null;
    this.draft = null;
    this.schedule();
  }

  /** The content rect in CSS px relative to the element. */
  content() {
    const box = this.video.getBoundingClientRect();
    return contentRect(box.width, box.height, this.video.videoWidth, this.video.videoHeight);
  }

  /** A pointer event's position as [x, y] fractions of the content, or null outside it. */
  toPoint(event) {
    const box = this.video.getBoundingClientRect();
    const rect = contentRect(box.width, box.height, this.video.videoWidth, this.video.videoHeight);
    const x = (event.clientX - box.left - rect.left) / rect.width;
    const y = (event.clientY - box.top - rect.top) / rect.height;
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1)) return null;
    return [round4(x), round4(y)];
  }

  destroy() {
    this.observer.disconnect();
    if (this.frame !== null) cancelAnimationFrame(this.frame);
    this.frame = null;
    this.canvas.remove();
  }

  // ---- drawing ------------------------------------------------------------------------------

  schedule() {
    if (this.frame === null) this.frame = requestAnimationFrame(() => this.tick());
  }

  tick() {
    this.frame = null;
    const now = performance.now();
    this.items = this.items.filter((item) => now < item.until + FADE_MS);
    if (this.pointer && now >= this.pointer.until) this.pointer = null;
    this.redraw(now);
    if (this.items.length > 0 || this.pointer) this.schedule();
  }

  redraw(now = performance.now()) {
    const canvas = this.canvas;
    const box = this.video.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const rect = contentRect(box.width, box.height, this.video.videoWidth, this.video.videoHeight);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const at = ([x, y]) => [rect.left + x * rect.width, rect.top + y * rect.height];
    const kinds = [];
    for (const { annotation, until } of this.items) {
      const alpha = now <= until ? 1 : Math.max(0, 1 - (now - until) / FADE_MS);
      drawShape(ctx, annotation, at, alpha, rect);
      kinds.push(annotation.kind);
    }
    if (this.draft) drawShape(ctx, this.draft, at, 0.7, rect);
    if (this.pointer) {
      drawPointer(ctx, at(this.pointer.point), this.pointer.color);
      kinds.push("pointer");
    }
    canvas.dataset.count = String(kinds.length);
    canvas.dataset.kinds = kinds.join(" ");
  }
}

export function drawShape(ctx, annotation, at, alpha, rect) {
  const points = (annotation.points || []).map(at);
  if (points.length === 0) return;
  ctx.save();
  ctx.globalAlpha = alpha;
  ctx.strokeStyle = annotation.color || DEFAULT_COLOR;
  ctx.fillStyle = annotation.color || DEFAULT_COLOR;
  ctx.lineWidth = Math.max(2, Math.min(rect.width, rect.height) / 160);
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.shadowColor = "rgba(0, 0, 0, 0.45)";
  ctx.shadowBlur = 3;
  if (annotation.kind === "arrow" && points.length >= 2) {
    const [[x1, y1], [x2, y2]] = points;
    const angle = Math.atan2(y2 - y1, x2 - x1);
    const head = Math.max(10, ctx.lineWidth * 4);
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(x2, y2);
    ctx.lineTo(x2 - head * Math.cos(angle - Math.PI / 7), y2 - head * Math.sin(angle - Math.PI / 7));
    ctx.lineTo(x2 - head * Math.cos(angle + Math.PI / 7), y2 - head * Math.sin(angle + Math.PI / 7));
    ctx.closePath();
    ctx.fill();
  } else if (annotation.kind === "circle" && points.length >= 2) {
    const [[cx, cy], [rx, ry]] = points;
    ctx.beginPath();
    ctx.arc(cx, cy, Math.max(2, Math.hypot(rx - cx, ry - cy)), 0, 2 * Math.PI);
    ctx.stroke();
  } else if (annotation.kind === "freehand") {
    ctx.beginPath();
    ctx.moveTo(...points[0]);
    for (const point of points.slice(1)) ctx.lineTo(...point);
    if (points.length === 1) ctx.lineTo(points[0][0] + 0.5, points[0][1] + 0.5);
    ctx.stroke();
  }
  ctx.restore();
}

export function drawPointer(ctx, [x, y], color) {
  ctx.save();
  ctx.fillStyle = color;
  ctx.strokeStyle = "#ffffff";
  ctx.lineWidth = 2;
  ctx.shadowColor = "rgba(0, 0, 0, 0.5)";
  ctx.shadowBlur = 4;
  ctx.beginPath();
  ctx.arc(x, y, 7, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  ctx.globalAlpha = 0.35;
  ctx.beginPath();
  ctx.arc(x, y, 16, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
}

function round4(value) {
  return Math.round(value * 10000) / 10000;
}
