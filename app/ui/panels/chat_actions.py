"""What the chat panel does for the view's per-message requests outside the send flow:
delete, switch branch, read aloud, load a remote image, open a link.

:class:`MessageActions` acts on the store and the view; ``rows_changed`` says the open
conversation's rows changed in the store (the panel shows it again), ``status_changed``
carries what to tell the user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices

from app.core.clients import ProviderUnavailable
from app.core.context import AppContext
from app.ui.tasks import TaskOwner

if TYPE_CHECKING:  # made on first use (the audio stack; the view after the first paint)
    from app.core.speech import Speaker
    from app.ui.chat.message_view import ConversationView


class MessageActions(QObject):
    """The view's delete / branch / read-aloud / image / link requests, acted on."""

    rows_changed = Signal()
    status_changed = Signal(str)

    def __init__(
        self, ctx: AppContext, tasks: TaskOwner, view: ConversationView, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = tasks
        self.view = view
        self.speaker: Speaker | None = None  # "Read aloud", made on first use
        self._reading: int | None = None  # the message being read aloud
        view.delete_requested.connect(self.on_view_delete_requested)
        view.branch_requested.connect(self.on_view_branch_requested)
        view.read_aloud_requested.connect(self.on_view_read_aloud_requested)
        view.image_requested.connect(self.on_view_image_requested)
        view.link_activated.connect(self.on_view_link_activated)

    def on_view_delete_requested(self, message_id: int) -> None:
        async def delete() -> None:
            await self.ctx.store.delete_message(message_id)
            self.rows_changed.emit()

        self.tasks.start("delete", delete())

    def on_view_branch_requested(self, message_id: int, direction: int) -> None:
        ids = [m.id for m in self.ctx.store.siblings(message_id)]
        if message_id not in ids:
            return
        position = ids.index(message_id) + direction
        if not 0 <= position < len(ids):
            return

        async def switch() -> None:
            await self.ctx.store.select_branch(ids[position])
            self.rows_changed.emit()

        self.tasks.start("branch", switch())

    def on_view_read_aloud_requested(self, message_id: int) -> None:
        message = self.view.message(message_id)
        if message is None or not message.text.strip():
            return
        if self.tasks.running("read-aloud") and self._reading == message_id:
            self.tasks.cancel("read-aloud")  # a second click on the same message stops it
            self.status_changed.emit("Stopped reading aloud.")
            return
        self._reading = message_id
        if self.speaker is None:
            from app.core.speech import Speaker

            ctx = self.ctx
            self.speaker = Speaker(
                ctx.store, ctx.clients, ctx.registry, ctx.paths.config, models=ctx.models
            )
        self.tasks.start("read-aloud", self._read_aloud(self.speaker, message.text))

    async def _read_aloud(self, speaker: Speaker, text: str) -> None:
        from app.core.speech import SpeechError

        self.status_changed.emit("Reading aloud…")
        try:
            await speaker.speak(text)
        except SpeechError as exc:
            self.status_changed.emit(exc.user_message)

    def on_view_image_requested(self, message_id: int, url: QUrl) -> None:
        """The user clicked an image placeholder: fetch it now, keep it for offline."""
        self.tasks.start(
            f"image-{message_id}-{url.toString()}", self._load_image(message_id, url.toString())
        )

    async def _load_image(self, message_id: int, url: str) -> None:
        from app.core.remote_images import RemoteImageError, fetch_image, with_image_part

        message = self.ctx.store.get_message(message_id)
        try:
            client = await self.ctx.clients.get(message.provider or "")
            data, mime = await fetch_image(client, url)
        except (RemoteImageError, ProviderUnavailable) as exc:
            self.status_changed.emit(
                str(exc) if isinstance(exc, RemoteImageError) else exc.user_message
            )
            return
        self.view.set_image(url, data)
        ref = await self.ctx.store.put_blob(data, mime)
        await self.ctx.store.set_message_parts(message_id, with_image_part(message.parts, url, ref))

    def on_view_link_activated(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https"):  # the view filters too; never trust one check
            QDesktopServices.openUrl(url)
