// Building DOM nodes without HTML strings: every piece of text goes in as a text node,
// so user data can never become markup.

import { translateNode } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h("button", {class: "primary", type: "button", onclick: fn, i18n: "chat.send"}, child, ...)
 * - `i18n` (key) and `i18nArgs` (object) make the element's text translated and re-translated
 *   when the language changes; `i18nAttrs` ({placeholder: key, ...}) does the same for
 *   attributes.
 * - `format` ([name, value], see i18n.js defineFormat) shows a value (a time, a language)
 *   in the interface language, again after each switch.
 * - `on<event>` properties become listeners; `dataset`, `style` objects are applied.
 * - children: nodes, strings (as text), arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  if (props && (props.i18n || props.i18nAttrs || props.format)) translateNode(el);
  return el;
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

/** A small line icon from a list of SVG path strings (static, never user data). */
export function icon(paths, { size = 20, label = null } = {}) {
  const el = svg("svg", {
    viewBox: "0 0 24 24", width: size, height: size, fill: "none", stroke: "currentColor",
    "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round",
  }, ...paths.map((d) => svg("path", { d })));
  if (label) {
    el.setAttribute("role", "img");
    el.setAttribute("aria-label", label);
  } else {
    el.setAttribute("aria-hidden", "true");
  }
  return el;
}

export const ICONS = {
  chat: ["M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z"],
  close: ["M18 6 6 18", "M6 6l12 12"],
  minus: ["M5 12h14"],
  help: ["M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z", "M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3",
    "M12 17h.01"],
  send: ["M22 2 11 13", "M22 2 15 22 11 13 2 9 22 2"],
  clip: [
    "M21.44 11.05l-9.19 9.19a6 6 0 0 1-8.49-8.49l9.19-9.19a4 4 0 0 1 5.66 5.66"
    + "l-9.2 9.19a2 2 0 0 1-2.83-2.83l8.49-8.48",
  ],
  star: [
    "M12 2l3.09 6.26L22 9.27l-5 4.87 1.18 6.88L12 17.77l-6.18 3.25L7 14.14 2 9.27"
    + "l6.91-1.01L12 2z",
  ],
};

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    }
    else if (key === "text") el.textContent = String(value);
    else if (key === "i18n") el.dataset.i18n = value;
    else if (key === "i18nArgs") el.dataset.i18nArgs = JSON.stringify(value);
    else if (key === "i18nAttrs") el.dataset.i18nAttrs = JSON.stringify(value);
    else if (key === "format") {
      el.dataset.format = value[0];
      el.dataset.value = value[1] ?? "";
    }
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key in el && typeof value !== "string") el[key] = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Set translated text (with optional arguments) on an existing element. */
export function setText(el, key, args) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  translateNode(el);
}

/** Set plain (untranslated) text on an existing element. */
export function setPlain(el, text) {
  delete el.dataset.i18n;
  delete el.dataset.i18nArgs;
  el.textContent = text;
}
