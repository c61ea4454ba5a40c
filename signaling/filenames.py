"""Uploaded file names, made safe to store and to show.

A name is only a label (files are stored under random keys), but people read it: a bidi
override turns "invoice\u202egnp.exe" into what reads as "invoiceexe.png", and control
characters break lines and headers. Names are cleaned on upload and again wherever a stored
name is served, so rows written before the cleaning are safe too."""

from __future__ import annotations

import re
from urllib.parse import quote

# C0 and C1 controls, DEL, and the bidi marks, embeddings, overrides and isolates.
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNSAFE = re.compile(r"[^\w.\- ]+")
MAX_LENGTH = 200


def clean_filename(name: str | None) -> str:
    """The last path segment, without invisible characters, other oddities as "_"."""
    visible = INVISIBLE.sub("", name or "")
    last = visible.replace("\\", "/").split("/")[-1]
    cleaned = UNSAFE.sub("_", last).strip()
    return (cleaned or "file")[:MAX_LENGTH]


def content_disposition(name: str, disposition: str = "inline") -> str:
    """RFC 6266: an ASCII fallback plus the UTF-8 name (filename*), so a non-ASCII name never
    reaches the header raw."""
    cleaned = clean_filename(name)
    fallback = cleaned.encode("ascii", "replace").decode("ascii").replace("?", "_")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(cleaned, safe='')}"
