"""GET /media/{token}: a recording's file for a player, through a short-lived signed link
(POST /api/recordings/{id}/links). HTTP Range is honoured so a player can seek, also for
files encrypted at rest (only the chunks a range touches are decrypted). Each playback
that starts from the beginning is in the audit log; the link's issue is there already."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from signaling.errors import InvalidPayload, NotFound, RangeNotSatisfiable
from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api
from signaling.recordings.crypto import Corrupted, EncryptedFile

MEDIA_TYPES = ("video/webm", "audio/webm", "video/mp4", "video/x-matroska", "audio/ogg")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
PRIVATE = {"Cache-Control": "private, no-store", "Accept-Ranges": "bytes"}


@api.route(
    "GET",
    "/media/{token}",
    summary="A recording's file, by a signed link from POST /api/recordings/{id}/links "
    "(the link is the credential; HTTP Range supported)",
    roles=None,
    tag="recordings",
    response=schemas.FILE,
    response_media=MEDIA_TYPES,
    errors=(401, 404, 416),
)
async def media_file(call: ApiRequest) -> web.StreamResponse:
    rt = call.runtime
    link = rt.signer.verify_media_link(call.request.match_info["token"])
    found = await services.recordings(rt).playback(link, call.request.headers.get("Range"), call.ip)
    file, recording, path = found.file, found.recording, found.path
    headers = {**PRIVATE, "Content-Type": file["mime"]}
    if not recording["encrypted"]:
        return web.FileResponse(path, headers=headers)
    key = rt.recording_key
    if key is None:
        raise NotFound("this recording is encrypted and the server has no key for it")
    return await _decrypted(call.request, EncryptedFile(path, key), headers)


async def _decrypted(
    request: web.Request, source: EncryptedFile, headers: dict[str, Any]
) -> web.StreamResponse:
    size = source.size
    start, end, status = 0, size, 200
    wanted = request.headers.get("Range")
    if wanted is not None:
        match = _RANGE.fullmatch(wanted.strip())
        if match is None or not (match[1] or match[2]):
            raise InvalidPayload("Range must be bytes=START-END (one range)")
        if match[1]:
            start = int(match[1])
            end = min(size, int(match[2]) + 1) if match[2] else size
        else:
            start = max(0, size - int(match[2]))
        if start >= size or start >= end:
            raise RangeNotSatisfiable(f"the file has {size} bytes; Range {wanted} is past its end")
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = end - start
    await response.prepare(request)
    try:
        for piece in source.read(start, end):
            await response.write(piece)
    except Corrupted:
        # Headers are gone already: cut the body short so the player sees an error.
        request.transport.close() if request.transport is not None else None
        return response
    await response.write_eof()
    return response
