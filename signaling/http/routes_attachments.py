"""Attachments: upload into a chat (multipart), download only by those who may see the chat."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from signaling.auth import access
from signaling.chat.service import sender_of
from signaling.errors import Conflict, NotFound
from signaling.filenames import clean_filename, content_disposition
from signaling.http import schemas
from signaling.http.api import ApiRequest, api
from signaling.http.multipart_upload import read_one_file
from signaling.store import messages as message_store
from signaling.transcript.views import attachment_view
from signaling.types import ChatState, Role

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
    async with rt.db.read() as conn:
        chat = await rt.chats.visible_chat(conn, call.me, call.path_id("chat_id"))
    access.check_write_chat(call.me, chat)
    if chat["state"] == ChatState.ENDED.value:
        raise Conflict("this chat has ended")
    stored, filename = await read_one_file(
        call.request, rt.attachments.save, lambda done: rt.attachments.discard(done.key)
    )
    uploader_type, uploader_id = sender_of(call.me)
    try:
        async with rt.db.write() as conn:
            row = await message_store.create_attachment(
                conn,
                org_id=chat["org_id"],
                chat_id=chat["id"],
                uploader_type=uploader_type,
                uploader_id=uploader_id,
                filename=clean_filename(filename),
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
            )
    except BaseException:
        rt.attachments.discard(stored.key)
        raise
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
