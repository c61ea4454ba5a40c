"""Files attached to a chat (screenshots, photos, short videos) by its customer or agent
while it runs. The file is received only once the chat is known to take it, and a file
whose record could not be written is removed, so nothing on disk belongs to no chat."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from signaling.attachments import AttachmentStore, StoredFile
from signaling.auth import access
from signaling.auth.tokens import Principal
from signaling.chat.service import ChatService, sender_of
from signaling.db.database import Database
from signaling.errors import Conflict
from signaling.filenames import clean_filename
from signaling.store import Record
from signaling.store import messages as message_store
from signaling.types import ChatState

Receive = Callable[[], Awaitable[tuple[StoredFile, str | None]]]
"""Stores the uploaded file (through AttachmentStore.save) and gives it with the name the
client sent."""


class ChatAttachments:
    def __init__(self, db: Database, chats: ChatService, files: AttachmentStore) -> None:
        self._db = db
        self._chats = chats
        self._files = files

    async def upload(self, principal: Principal, chat_id: int, receive: Receive) -> Record:
        """Attach the file `receive` stores to a chat the caller writes in and that has not
        ended; the attachment's record."""
        async with self._db.read() as conn:
            chat = await self._chats.visible_chat(conn, principal, chat_id)
        access.check_write_chat(principal, chat)
        if chat["state"] == ChatState.ENDED.value:
            raise Conflict("this chat has ended")
        stored, filename = await receive()
        uploader_type, uploader_id = sender_of(principal)
        try:
            async with self._db.write() as conn:
                return await message_store.create_attachment(
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
            self._files.discard(stored.key)
            raise
