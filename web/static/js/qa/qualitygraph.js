// The quality samples of a call as a small graph on media time: each side's MOS (1–4.5) as a
// line over bands for good (≥ 4.0), fair (≥ 3.1) and poor, with the playhead. Clicking it
// seeks. Its text alternative says the worst moment, which is what a reviewer looks for.

import { h, setText, svg } from "../dom.js";
import { Emitter } from "../emitter.js";
import { mediaTime } from "./evidence.js";

const WIDTH = 1000;
const HEIGHT = 60;
const MOS_MIN = 1;
const MOS_MAX = 4.5;
const LEVELS = [["good", 4.0, MOS_MAX], ["fair", 3.1, 4.0], ["poor", MOS_MIN, 3.1]];

export class QualityGraph extends Emitter {
  constructor({ duration }) {
    super();
    this.duration = duration;
    this.head = svg("line", { class: "qa-quality__head", x1: 0, x2: 0, y1: 0, y2: HEIGHT });
    this.lines = svg("g", {});
    this.picture = svg("svg", { class: "qa-quality__svg", viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: "none", role: "img", "aria-labelledby": "qa-quality-caption" },
    ...LEVELS.map(([level, low, high]) => svg("rect", { class: `qa-quality__band qa-quality__band--${level}`,
      x: 0, width: WIDTH, y: y(high), height: y(low) - y(high) })),
    this.lines, this.head);
    this.caption = h("figcaption", { id: "qa-quality-caption", class: "qa-quality__caption" });
    this.el = h("figure", { class: "qa-quality", hidden: true }, this.picture, this.caption);
    this.picture.addEventListener("click", (event) => {
      const box = this.picture.getBoundingClientRect();
      this.emit("seek", ((event.clientX - box.left) / box.width) * this.duration);
    });
  }

  setSamples(samples) {
    this.el.hidden = samples.length === 0;
    this.lines.replaceChildren();
    for (const participant of ["customer", "agent"]) {
      const mine = samples.filter((s) => s.participant === participant && Number.isFinite(s.mos));
      if (mine.length === 0) continue;
      const points = mine.map((s) => `${x(s.at_ms, this.duration)},${y(s.mos)}`).join(" ");
      this.lines.append(svg("polyline", { class: `qa-quality__line qa-quality__line--${participant}`,
        points, "vector-effect": "non-scaling-stroke" }));
    }
    const worst = samples.reduce((low, s) => (low === null || s.mos < low.mos ? s : low), null);
    const label = worst
      ? ["qa.qualityWorst", { level: { key: `qa.level.${worst.level}` }, mos: worst.mos.toFixed(1),
        at: mediaTime(worst.at_ms), who: { key: `qa.participant.${worst.participant}` } }]
      : ["qa.qualityNone", null];
    setText(this.caption, ...label);
  }

  update(position) {
    const at = x(position, this.duration);
    this.head.setAttribute("x1", at);
    this.head.setAttribute("x2", at);
  }
}

function x(ms, duration) {
  return (Math.max(0, Math.min(duration, ms)) / duration) * WIDTH;
}

function y(mos) {
  const clamped = Math.max(MOS_MIN, Math.min(MOS_MAX, mos));
  return HEIGHT - ((clamped - MOS_MIN) / (MOS_MAX - MOS_MIN)) * HEIGHT;
}
