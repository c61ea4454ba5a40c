// Focus never falls to <body> (issue 15): when the element that has the focus is removed,
// hidden or disabled by what happened — the call panel closing after "Hang up", "Video call"
// disabled while a call starts, a form replaced once it is sent — the focus moves to the
// nearest "home" still on the page: the first usable [data-focus-home] inside the closest
// [data-focus-scope] around where the focus was (a chat's message box, say), else further out.
// Focus that a person moves away themselves (a click elsewhere, Tab out of the widget) is
// left alone.

const FOCUSABLE = "[data-focus-home]";

/** Whether `el` is on the page, shown and enabled: somewhere focus can stay. */
export function usable(el) {
  return Boolean(el && el.isConnected && !el.disabled && !el.closest("[hidden], [inert]")
    && el.getClientRects().length > 0);
}

/** The first usable home in `scope` (itself a home, or one inside it). */
function homeIn(scope) {
  if (scope.matches(FOCUSABLE) && usable(scope)) return scope;
  for (const candidate of scope.querySelectorAll(FOCUSABLE)) {
    if (usable(candidate)) return candidate;
  }
  return null;
}

/** Move the focus to the home nearest to `from` (an element, or the path it had). */
export function focusHome(from, root) {
  const path = Array.isArray(from) ? from : ancestry(from, root);
  for (const node of path) {
    if (!node.isConnected) continue;
    let scope = node.closest("[data-focus-scope]") || root;
    while (scope) {
      const home = homeIn(scope);
      if (home) {
        home.focus({ preventScroll: false });
        return home;
      }
      if (scope === root) break;
      scope = (scope.parentElement && scope.parentElement.closest("[data-focus-scope]")) || root;
    }
    break;
  }
  const fallback = homeIn(root);
  if (fallback) fallback.focus();
  return fallback;
}

function ancestry(el, root) {
  const path = [];
  for (let node = el; node; node = node.parentElement) {
    path.push(node);
    if (node === root) break;
  }
  return path;
}

/**
 * Watch `root` (the console's body, the widget's root inside its shadow root) and put the
 * focus back home whenever the focused element inside it stops being usable.
 */
export function guardFocus(root) {
  const scope = root.getRootNode(); // the document, or the widget's shadow root
  let path = [];
  const onNothing = () => document.activeElement === null || document.activeElement === document.body;
  const check = () => {
    const focused = path[0];
    if (!focused || usable(focused)) return;
    if (!onNothing() && scope.activeElement !== focused) return;
    const old = path;
    path = [];
    focusHome(old, root);
  };
  root.addEventListener("focusin", (event) => {
    path = ancestry(event.composedPath()[0], root);
  });
  root.addEventListener("focusout", (event) => {
    const next = event.relatedTarget;
    if (next && root.contains(next)) return; // moving within: focusin follows it
    if (next) {
      path = []; // left for somewhere else on purpose (the host page, another control)
      return;
    }
    // Blurred on purpose (still usable: a click on nothing) or lost: decide once settled.
    setTimeout(() => {
      if (!usable(path[0])) check();
      else if (onNothing()) path = [];
    }, 0);
  });
  new MutationObserver(() => queueMicrotask(check)).observe(root, {
    subtree: true, childList: true, attributes: true,
    attributeFilter: ["disabled", "hidden", "inert", "class", "style"],
  });
}
