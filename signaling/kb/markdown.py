"""Article bodies: Markdown rendered to HTML that is safe to put in a page, and to plain text
for ranking and excerpts.

Two layers, so that one mistake is not enough: markdown-it-py renders CommonMark with raw
HTML turned off (a `<script>` in the source comes out as text) and refuses `javascript:`,
`vbscript:`, `file:` and `data:` links; nh3 (the Ammonia sanitiser) then keeps only the
tags, attributes and URL schemes listed here and marks every link `noopener noreferrer
nofollow`, opening in a new tab."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_RENDERER.enable("table")
_RENDERER.enable("strikethrough")

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_SPACES = re.compile(r"\s+")


def render(source: str) -> str:
    """Sanitised HTML of a Markdown body."""
    html = _RENDERER.render(source)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties={"text-align"},
        strip_comments=True,
    )


def plain_text(source: str) -> str:
    """The words a reader sees (no markup, link targets or image addresses), on one line."""
    words: list[str] = []
    for token in _RENDERER.parse(source):
        if token.type == "inline" and token.children:
            for child in token.children:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
            words.append(" ")
        elif token.type in ("code_block", "fence"):
            words.append(token.content + " ")
    return _SPACES.sub(" ", "".join(words)).strip()
