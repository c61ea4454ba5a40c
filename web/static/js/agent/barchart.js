// A small horizontal bar chart drawn as inline SVG (no library): one bar per row, its value
// written at the end of the bar. The SVG is an image with a label; the same figures are in a
// table beside it (the caller passes the table), so nothing is only in the picture.

import { svg } from "../dom.js";
import { translateNode } from "../i18n.js";

const ROW = 26;
const LABEL_W = 180;
const VALUE_W = 64;
const WIDTH = 560;

/**
 * @param {{label: string, i18n?: {key, args}, value: number|null, text: string}[]} rows
 *   text: the value as shown; i18n: a translated label (written again on a language switch)
 * @param {string} titleKey  what the chart shows (the image's accessible name), translated
 */
export function barChart(rows, titleKey) {
  const height = Math.max(1, rows.length) * ROW + 8;
  const max = Math.max(0, ...rows.map((row) => row.value ?? 0));
  const span = WIDTH - LABEL_W - VALUE_W;
  const chart = svg("svg", {
    class: "bar-chart", viewBox: `0 0 ${WIDTH} ${height}`, width: "100%",
    preserveAspectRatio: "xMinYMin meet", role: "img",
    "data-i18n-attrs": JSON.stringify({ "aria-label": titleKey }),
  });
  translateNode(chart);
  rows.forEach((row, index) => {
    const y = 4 + index * ROW;
    const length = max > 0 && row.value ? Math.max(2, (row.value / max) * span) : 0;
    const name = svg("text", { x: LABEL_W - 8, y: y + 16, "text-anchor": "end",
      class: "bar-chart__label" });
    if (row.i18n) {
      name.dataset.i18n = row.i18n.key;
      name.dataset.i18nArgs = JSON.stringify(row.i18n.args || {});
      translateNode(name);
    } else {
      name.textContent = row.label.length > 22 ? `${row.label.slice(0, 21)}…` : row.label;
    }
    const value = svg("text", { x: LABEL_W + length + 6, y: y + 16, class: "bar-chart__value" });
    value.textContent = row.text;
    chart.append(name, svg("rect", { x: LABEL_W, y: y + 3, width: length, height: ROW - 8,
      rx: 3, class: "bar-chart__bar" }), value);
  });
  return chart;
}
