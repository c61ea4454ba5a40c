// Pills of the QA page: a call's worst quality level, and its review score.

import { h } from "../dom.js";

export function qualityBadge(level) {
  if (!level) return h("span", { class: "muted", text: "—" });
  return h("span", { class: ["qa-level", `qa-level--${level}`], i18n: `qa.level.${level}` });
}

/** "82.5" for a done review, "Not reviewed" otherwise. */
export function scoreText(score, reviewed) {
  if (!reviewed || score === null || score === undefined) {
    return h("span", { class: "muted", i18n: "qa.notReviewed" });
  }
  return h("span", { class: "qa-score", i18n: "qa.scoreValue", i18nArgs: { score: formatScore(score) } });
}

export function formatScore(score) {
  return Number.isInteger(score) ? String(score) : score.toFixed(1);
}
