"""What a person needs of a page state, checked in the real browser: the things they must use
are on screen and not covered, the focus is somewhere (never <body>), nothing scrolls
sideways, and axe-core finds no critical or serious violation.

axe-core comes from the axe-playwright-python package (its bundled axe.min.js, pinned in
constraints.txt); it looks inside the widget's open shadow root."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.async_api import Locator, Page

from tests.test_browser import ARTIFACTS

BLOCKING = ("critical", "serious")
AXE_REPORT = ARTIFACTS / "axe"

# Is the element inside the viewport, inside every scrolling box around it, and the top thing
# at its centre (not covered by another element)? Shadow roots are looked into.
IN_VIEW_FN = """
function inView(el) {
  const box = el.getBoundingClientRect();
  const why = [];
  if (box.width === 0 || box.height === 0) why.push('no size');
  const slack = 1;
  if (box.left < -slack || box.top < -slack || box.right > innerWidth + slack
      || box.bottom > innerHeight + slack) {
    why.push(`outside the viewport ${innerWidth}x${innerHeight}: ${JSON.stringify(box)}`);
  }
  for (let p = el.parentElement || el.getRootNode().host; p;
       p = p.parentElement || (p.getRootNode() !== document && p.getRootNode().host)) {
    const style = getComputedStyle(p);
    if (/(auto|scroll|hidden)/.test(style.overflowY + style.overflowX)) {
      const clip = p.getBoundingClientRect();
      if (box.top < clip.top - slack || box.bottom > clip.bottom + slack
          || box.left < clip.left - slack || box.right > clip.right + slack) {
        why.push(`clipped by ${p.className || p.tagName}`);
        break;
      }
    }
  }
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
  const root = el.getRootNode();
  const hit = (root.elementFromPoint ? root : document).elementFromPoint(x, y);
  if (!hit || !(hit === el || el.contains(hit))) {
    why.push(`covered by ${hit ? (hit.className || hit.tagName) : 'nothing'}`);
  }
  return why.join('; ');
}
"""
IN_VIEW = f"(el) => {{ {IN_VIEW_FN} return inView(el); }}"
# [label, selector, last?] for each element that must be in view, searched in the page and
# the widget's shadow root; answers {label: why not} for those that are not.
ALL_IN_VIEW = f"""
(specs) => {{
  {IN_VIEW_FN}
  const host = document.querySelector('[data-liveassist]');
  const roots = host && host.shadowRoot ? [document, host.shadowRoot] : [document];
  const found = {{}};
  for (const [label, selector, last] of specs) {{
    const matches = roots.flatMap((root) => [...root.querySelectorAll(selector)]);
    const el = last ? matches[matches.length - 1] : (matches.length === 1 ? matches[0] : null);
    const why = el ? inView(el) : `${{matches.length}} elements match ${{selector}}`;
    if (why) found[label] = why;
  }}
  return found;
}}
"""

# The element that has the focus, looking into shadow roots; "BODY" when nothing has it.
FOCUSED = """
() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return 'BODY';
  return el.tagName + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
    + (el.dataset && el.dataset.callAction ? `[${el.dataset.callAction}]` : '');
}
"""

SIDEWAYS = """
() => {
  const found = [];
  const doc = document.scrollingElement;
  if (doc.scrollWidth > innerWidth + 1) found.push(`page ${doc.scrollWidth}>${innerWidth}`);
  for (const el of document.querySelectorAll('.chat-area, .chat-card, .chats-view')) {
    if (el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1) {
      found.push(`${el.className} ${el.scrollWidth}>${el.clientWidth}`);
    }
  }
  return found;
}
"""


async def problems_in_view(locator: Locator) -> str:
    """Empty when `locator` (one element) is on screen, unclipped and on top; else why not."""
    if await locator.count() != 1:
        return f"{await locator.count()} elements match {locator}"
    return str(await locator.evaluate(IN_VIEW))


async def all_in_view(page: Page, specs: list[tuple[str, str, bool]]) -> dict[str, str]:
    """{label: why not} for each (label, selector, last) that is not on screen and on top;
    `last`: the last of the matches (the newest message), else there must be one match."""
    return dict(await page.evaluate(ALL_IN_VIEW, [list(spec) for spec in specs]))


async def focused(page: Page) -> str:
    return str(await page.evaluate(FOCUSED))


async def sideways(page: Page) -> list[str]:
    return list(await page.evaluate(SIDEWAYS))


@dataclass
class AxeLog:
    """Every axe run of a test: what it found per state, for the report and the assertion."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    async def check(
        self, page: Page, state: str, tab: Any = None, *, within: str | None = None
    ) -> list[str]:
        """Run axe on `page` (or only on the element `within` selects, its shadow root
        included); return the blocking violations as readable lines."""
        began = time.monotonic()
        if tab is not None:
            tab.axe_running = True
        try:
            loaded = await page.evaluate("() => typeof window.axe === 'object'")
            if not loaded:
                await page.evaluate(AXE_SCRIPT)
            result = await page.evaluate(
                "(within) => axe.run(within ? {include: [[within]]} : document,"
                " {resultTypes: ['violations']})",
                within,
            )
        finally:
            if tab is not None:
                await page.wait_for_timeout(50)  # axe's own CSP reports arrive meanwhile
                tab.axe_running = False
        self.seconds += time.monotonic() - began
        violations = result["violations"]
        self.runs.append(
            {
                "state": state,
                "violations": [
                    {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                    for v in violations
                ],
            }
        )
        return [
            f"{state}: {v['id']} ({v['impact']}) {node['target']}: "
            + node.get("failureSummary", "").replace("\n", " ")[:300]
            for v in violations
            if v["impact"] in BLOCKING
            for node in v["nodes"]
        ]

    def write(self) -> Path:
        AXE_REPORT.mkdir(parents=True, exist_ok=True)
        path = AXE_REPORT / f"{self.name}.json"
        path.write_text(json.dumps(self.runs, indent=1))
        return path
