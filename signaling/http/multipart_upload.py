"""Exactly one file from a multipart/form-data body, or an InvalidPayload that says what is
wrong with the body: aiohttp's multipart reader reports a missing boundary, a body that is
not multipart or ends early as ValueError/RuntimeError, which would otherwise answer 500."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from aiohttp import BodyPartReader, MultipartReader, hdrs, web
from aiohttp.helpers import parse_mimetype

from signaling.errors import InvalidPayload

T = TypeVar("T")
HOW = "send one file as multipart/form-data in a field named 'file'"


@contextmanager
def _malformed(what: str) -> Iterator[None]:
    try:
        yield
    except (ValueError, RuntimeError, AssertionError) as exc:
        raise InvalidPayload(f"{what}: {exc}; {HOW}") from None


async def read_one_file(
    request: web.Request,
    save: Callable[[BodyPartReader], Awaitable[T]],
    discard: Callable[[T], None],
) -> tuple[T, str | None]:
    """Stream the one part named 'file' through `save`; `discard` undoes it when the rest of
    the body turns out to be wrong (a second part, no closing boundary). Returns what `save`
    returned and the part's file name as the client sent it."""
    if request.content_type != "multipart/form-data":
        raise InvalidPayload(f"the body is {request.content_type or 'untyped'}; {HOW}")
    if not parse_mimetype(request.headers.get(hdrs.CONTENT_TYPE, "")).parameters.get("boundary"):
        raise InvalidPayload(f"Content-Type multipart/form-data has no boundary; {HOW}")
    with _malformed("the multipart body is malformed"):
        reader = await request.multipart()
        part = await reader.next()
    if isinstance(part, MultipartReader):
        raise InvalidPayload(f"nested multipart bodies are not accepted; {HOW}")
    if part is None or part.name != "file":
        raise InvalidPayload(f"the body has no part named 'file'; {HOW}")
    with _malformed("the file part is malformed"):
        saved = await save(part)
    try:
        with _malformed("the multipart body does not end properly (truncated?)"):
            following = await reader.next()
            if following is None and not reader.at_eof():  # pragma: no cover - defensive
                raise ValueError("no closing boundary")
        if following is not None:
            raise InvalidPayload(f"the body has more than one part; {HOW}")
    except BaseException:
        discard(saved)
        raise
    return saved, part.filename
