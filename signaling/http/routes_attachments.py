"""Attachments: upload into a chat (multipart), download only by those who may see the chat."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from signaling.attachments import StoredFile
from signaling.errors import NotFound
from signaling.filenames import content_disposition
from signaling.http import schemas, services
from signaling.http.api import ApiRequest, api
from signaling.http.multipart_upload import read_one_file
from signaling.store import messages as message_store
from signaling.transcript.views import attachment_view
from signaling.types import Role

ANYONE = (Role.CUSTOMER, Role.AGENT, Role.QA, Role.ADMIN)


@api.route(
    "POST",
    "/api/chats/{chat_id}/attachments",
    summary="Upload a screenshot, photo or short video (multipart field 'file')",
    roles=(Role.CUSTOMER, Role.AGENT),
    tag="attachments",
    status=201,
    response=schemas.ref("Attachment"),
    errors=(409, 415, 429),
    multipart=schemas.UPLOAD,
)
async def upload(call: ApiRequest) -> dict[str, Any]:
    rt = call.runtime
    await rt.limits.uploads_per_ip.hit(call.ip)
    files = rt.attachments

    def receive() -> Awaitable[tuple[StoredFile, str | None]]:
        return read_one_file(call.request, files.save, lambda done: files.discard(done.key))

    row = await services.chat_attachments(rt).upload(call.me, call.path_id("chat_id"), receive)
    return attachment_view(row)


@api.route(
    "GET",
    "/api/attachments/{attachment_id}",
    summary="Download an attachment",
    roles=ANYONE,
    tag="attachments",
    response=schemas.FILE,
    response_media=schemas.FILE_TYPES,
)
async def download(call: ApiRequest) -> web.StreamResponse:
    rt = call.runtime
    async with rt.db.read() as conn:
        att = await message_store.attachment_by_id(conn, call.path_id("attachment_id"))
        if att is None:
            raise NotFound("no such attachment")
        await rt.chats.visible_chat(conn, call.me, att["chat_id"])
    path = rt.attachments.path_of(att["storage_key"])
    if not path.exists():
        raise NotFound("the attachment's file is missing")
    response = web.FileResponse(
        path,
        headers={
            "Content-Type": att["content_type"],
            "Content-Disposition": content_disposition(att["filename"]),
        },
    )
    return response
