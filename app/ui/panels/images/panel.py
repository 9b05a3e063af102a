"""The images panel: describe a picture, generate it with any provider, keep and browse it.

Left: the model, the request form, Generate / Cancel with a busy bar and elapsed time.
Right: the gallery (a thumbnail grid of everything kept, filterable by prompt) and the full
view with zoom. Save as PNG, copy, reuse prompt and settings, and delete work from both.
All of it reads from the store, so the gallery works offline.
"""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path

from PySide6.QtCore import (
    QModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QGuiApplication, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app import log
from app.core import gallery
from app.core.context import AppContext
from app.core.gallery import ImageRef
from app.core.images import (
    ImageJob,
    ImageJobError,
    ImageOptions,
    ImageOutcome,
    ImageRequest,
    image_options,
)
from app.core.models_cache import effective_price
from app.ui.dialogs.common import named, note
from app.ui.panels.images.form import ImageForm
from app.ui.panels.images.gallery import (
    GalleryItem,
    GalleryModel,
    GalleryView,
    describe,
    read_image,
)
from app.ui.panels.images.saving import save_dialog, save_png
from app.ui.panels.images.viewer import ImageViewer
from app.ui.tasks import TaskOwner
from app.ui.widgets.job_strip import JobNames, JobStrip
from app.ui.widgets.model_picker import ModelPickerPopup

_log = log.get("ui.images")

GALLERY_PAGE, VIEWER_PAGE = 0, 1
_JOB = JobNames(
    prefix="image",
    noun="Image",
    action="Generate",
    busy="Generating…",
    action_name="generateImagesButton",
    action_accessible="Generate images",
    cancel_name="cancelImagesButton",
    cancel_accessible="Cancel generating",
    cancelled="Cancelled. Nothing was added to the gallery.",
)


class ImagesPanel(QWidget):
    """Generate, browse and keep images. Signals carry plain values (no widgets)."""

    status_changed = Signal(str)
    generated = Signal(int)  # generation id

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("imagesPanel")
        self.tasks = TaskOwner(self.job_failed)
        self.job = JobStrip(self.tasks, _JOB, self)
        self.target: tuple[str, str] | None = None
        self.save_dialog: QFileDialog | None = None
        self.delete_box: QMessageBox | None = None
        self._viewing: GalleryItem | None = None

        # left: model, form, generate
        self.target_label = named(QLabel(), "imageTargetLabel", "Image model")
        self.target_label.setWordWrap(True)
        self.model_button = named(
            QPushButton("Choose model…"), "imageModelButton", "Choose image model",
            "Choose the image model (any provider)",
        )  # fmt: skip
        self.picker_popup = ModelPickerPopup(
            ctx.registry, ctx.models, self, "imageModelPickerPopup",
            settings=ctx.settings, kinds=("image",),
        )  # fmt: skip
        self.picker = self.picker_popup.picker
        self.form = ImageForm()
        self.generate_button = self.job.action
        self.cancel_button = self.job.cancel
        self.progress = self.job.progress
        self.status_label = self.job.status

        left = QWidget()
        left.setObjectName("imageRequestColumn")
        target_row = QHBoxLayout()
        target_row.addWidget(self.target_label, 1)
        target_row.addWidget(self.model_button)
        buttons = self.job.buttons_row()
        column = QVBoxLayout(left)
        column.setContentsMargins(10, 10, 6, 10)
        column.addLayout(target_row)
        column.addWidget(self.form, 1)
        column.addLayout(buttons)
        column.addWidget(self.progress)
        column.addWidget(self.status_label)

        # right: gallery and viewer
        self.model = GalleryModel(ctx.store, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(Qt.ItemDataRole.ToolTipRole)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.view = named(GalleryView(), "galleryView", "Image gallery")
        self.view.setModel(self.proxy)
        self.filter_edit = named(
            QLineEdit(placeholderText="Filter by prompt or model"),
            "galleryFilterEdit",
            "Filter the gallery",
        )
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = named(QLabel(), "galleryCountLabel", "Images in the gallery")
        self.empty_label = note(
            "No images yet. Describe one on the left and press Generate; everything you make "
            "is kept here, also offline.",
            "galleryEmptyLabel",
        )
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details = note("", "imageDetailsLabel")
        self.details.setAccessibleName("Selected image")
        self.open_button = self._action("Open", "openImageButton", "Open the image large")
        self.save_button = self._action("Save PNG…", "saveImageButton", "Save the image as PNG")
        self.copy_button = self._action("Copy", "copyImageButton", "Copy the image")
        self.reuse_button = self._action(
            "Reuse settings", "reuseImageButton", "Reuse the prompt and settings"
        )
        self.delete_button = self._action("Delete", "deleteImageButton", "Delete the image")
        self.viewer = ImageViewer()
        self.viewer_save_button = self._action("Save PNG…", "viewerSaveButton", "Save as PNG")
        self.viewer_copy_button = self._action("Copy", "viewerCopyButton", "Copy the image")
        self.viewer_reuse_button = self._action(
            "Reuse settings", "viewerReuseButton", "Reuse the prompt and settings"
        )
        self.viewer_delete_button = self._action("Delete", "viewerDeleteButton", "Delete")
        for button in (
            self.viewer_save_button,
            self.viewer_copy_button,
            self.viewer_reuse_button,
            self.viewer_delete_button,
        ):
            self.viewer.actions_bar.insertWidget(self.viewer.actions_bar.count() - 1, button)

        gallery = QWidget()
        gallery.setObjectName("galleryPage")
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        actions = QHBoxLayout()
        for button in (
            self.open_button,
            self.save_button,
            self.copy_button,
            self.reuse_button,
            self.delete_button,
        ):
            actions.addWidget(button)
        actions.addStretch(1)
        gallery_layout = QVBoxLayout(gallery)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_layout.addLayout(top)
        gallery_layout.addWidget(self.view, 1)
        gallery_layout.addWidget(self.empty_label, 1)
        gallery_layout.addWidget(self.details)
        gallery_layout.addLayout(actions)
        self.pages = QStackedWidget()
        self.pages.setObjectName("imagePages")
        self.pages.addWidget(gallery)
        self.pages.addWidget(self.viewer)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 10, 10, 10)
        right_layout.addWidget(self.pages)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName("imagesSplitter")
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([340, 760])
        left.setMinimumWidth(280)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self._delete_shortcut = QShortcut(QKeySequence.StandardKey.Delete, self.view)
        self._delete_shortcut.setObjectName("deleteImageShortcut")
        self._delete_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self._unsubscribe = ctx.registry.subscribe(self.on_registry_changed)
        self._connect_signals()
        self.model.fetchMore(QModelIndex())
        self._choose_initial_target()
        self._update_gallery_state()
        self._update_generate_enabled()

    def _action(self, text: str, name: str, accessible: str) -> QPushButton:
        return named(QPushButton(text), name, accessible)

    def _connect_signals(self) -> None:
        self.model_button.clicked.connect(self.on_model_button_clicked)
        self.picker.model_chosen.connect(self.on_picker_model_chosen)
        self.form.submitted.connect(self.on_generate_clicked)
        self.form.validity_changed.connect(lambda _ok: self._update_generate_enabled())
        self.generate_button.clicked.connect(self.on_generate_clicked)
        self.job.busy_changed.connect(self._set_busy)
        self.job.status_changed.connect(self.status_changed)
        self.filter_edit.textChanged.connect(self.on_filter_text_changed)
        self.view.activated.connect(self.on_view_activated)
        self.view.customContextMenuRequested.connect(self.on_view_context_menu_requested)
        self.view.selectionModel().selectionChanged.connect(self.on_selection_changed)
        for signal in (
            self.model.rowsInserted,
            self.model.rowsRemoved,
            self.model.modelReset,
            self.proxy.layoutChanged,
        ):
            signal.connect(self._update_gallery_state)
        self.open_button.clicked.connect(self.on_open_clicked)
        self.save_button.clicked.connect(self.on_save_clicked)
        self.copy_button.clicked.connect(self.on_copy_clicked)
        self.reuse_button.clicked.connect(self.on_reuse_clicked)
        self.delete_button.clicked.connect(self.on_delete_clicked)
        self._delete_shortcut.activated.connect(self.on_delete_clicked)
        self.viewer.back_requested.connect(self.on_viewer_back_requested)
        self.viewer_save_button.clicked.connect(self.on_save_clicked)
        self.viewer_copy_button.clicked.connect(self.on_copy_clicked)
        self.viewer_reuse_button.clicked.connect(self.on_reuse_clicked)
        self.viewer_delete_button.clicked.connect(self.on_delete_clicked)

    # -- public ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.job.busy

    def set_target(self, provider_id: str, model: str) -> None:
        self.target = (provider_id, model)
        profile = self.ctx.registry.get(provider_id)
        name = profile.name if profile is not None else provider_id
        self.target_label.setText(
            f"<b>{html.escape(model)}</b><br><small>{html.escape(name)}</small>"
        )
        self.form.set_options(self._options())
        self._update_generate_enabled()
        if profile is not None and not (
            profile.capabilities.images or model in profile.chat_image_models
        ):
            self._say(f"{name} does not say it makes images; Generate will try anyway.", "warning")

    def show_generation(self, generation_id: int) -> bool:
        """Select a generation's first image and open it (e.g. from a history search hit)."""
        while self.model.row_of(generation_id) < 0 and self.model.canFetchMore(QModelIndex()):
            self.model.fetchMore(QModelIndex())
        row = self.model.row_of(generation_id)
        if row < 0:
            return False
        self.filter_edit.clear()
        index = self.proxy.mapFromSource(self.model.index(row))
        self.view.setCurrentIndex(index)
        self.on_open_clicked()
        return True

    def current_item(self) -> GalleryItem | None:
        if self.pages.currentIndex() == VIEWER_PAGE and self._viewing is not None:
            return self._viewing
        return self.view.current_item()

    async def shutdown(self) -> None:
        """Cancel running work and stop decoding (the window calls this once at close)."""
        await self.tasks.wait_all()
        self.model.loader.stop()
        self._unsubscribe()

    # -- target ------------------------------------------------------------------------------

    def _choose_initial_target(self) -> None:
        """The model of the newest kept image, else the first provider able to draw."""
        for gen in self.ctx.store.list_image_generations(1):
            if gen.provider and gen.model and self.ctx.registry.get(gen.provider) is not None:
                self.set_target(gen.provider, gen.model)
                return
        for profile in self.ctx.registry:
            models = [*profile.chat_image_models, *profile.models]
            if profile.capabilities.images and models:
                self.set_target(profile.id, models[0])
                return
        self.target_label.setText("No image model chosen")
        self.form.set_options(ImageOptions(False, (), (), (), ()))

    def _options(self) -> ImageOptions:
        if self.target is None:
            return ImageOptions(False, (), (), (), ())
        profile = self.ctx.registry.get(self.target[0])
        if profile is None:
            return ImageOptions(False, (), (), (), ())
        return image_options(profile, self.target[1])

    def on_model_button_clicked(self) -> None:
        self.picker_popup.show_below(self.model_button, self.target)
        self.tasks.start("models", self._fetch_missing_models())

    async def _fetch_missing_models(self) -> None:
        """Fill the picker with the lists of providers never fetched (offline: cache only)."""
        if await self.ctx.fetch_model_lists():
            self.picker.refresh()

    def on_picker_model_chosen(self, provider_id: str, model: str) -> None:
        self.picker_popup.hide()
        self.set_target(provider_id, model)

    def on_registry_changed(self, *_args: object) -> None:
        if self.target is not None and self.ctx.registry.get(self.target[0]) is None:
            self.target = None
            self.target_label.setText("No image model chosen")
        self.form.set_options(self._options())
        self._update_generate_enabled()

    # -- generating --------------------------------------------------------------------------

    def on_generate_clicked(self) -> None:
        if self.busy:
            return
        if self.target is None:
            self._say("Choose an image model first (Choose model…).", "error")
            return
        provider_id, model = self.target
        try:
            request = self.form.request(provider_id, model)
        except ImageJobError as exc:
            self._say(exc.user_message, "error")
            return
        profile = self.ctx.registry.get(provider_id)
        price = effective_price(profile, model, self.ctx.models) if profile else None
        job = ImageJob(
            self.ctx.store,
            self.ctx.clients,
            request,
            price=price,
            progress=self.job.phase,
        )
        self.job.phase("Starting…")
        self.job.run(job.run(), self.on_generated, timed=True)

    def on_generated(self, outcome: ImageOutcome) -> None:
        generation = outcome.generation
        self.filter_edit.clear()
        self.model.prepend(generation)
        self.view.setCurrentIndex(self.proxy.mapFromSource(self.model.index(0)))
        self.view.scrollToTop()
        count = len(generation.images)
        seconds = self.job.elapsed()
        saved = f"{count} image{'s' if count != 1 else ''} saved in {seconds:.1f} s."
        if outcome.problems:
            self._say(f"{saved} Some failed: {' '.join(outcome.problems)}", "warning")
        else:
            self._say(saved, "ok")
        self.generated.emit(generation.id)

    def _set_busy(self, busy: bool) -> None:
        self.model_button.setEnabled(not busy)
        self._update_generate_enabled(busy)

    def _update_generate_enabled(self, busy: bool | None = None) -> None:
        busy = self.busy if busy is None else busy
        self.generate_button.setEnabled(
            not busy and self.target is not None and self.form.is_valid()
        )

    # -- gallery ---------------------------------------------------------------------------

    def _update_gallery_state(self, *_args: object) -> None:
        total = gallery.count(self.ctx.store)
        shown = self.model.rowCount()
        empty = shown == 0 and not self.filter_edit.text()
        self.view.setVisible(not empty)
        self.empty_label.setVisible(empty)
        self.count_label.setText(
            f"{shown} image{'s' if shown != 1 else ''}"
            + (" (more as you scroll)" if self.model.canFetchMore(QModelIndex()) else "")
            if total
            else ""
        )
        self.on_selection_changed()

    def on_filter_text_changed(self, text: str) -> None:
        self.proxy.setFilterRegularExpression(re.escape(text.strip()) if text.strip() else "")
        if text.strip():  # filtering covers what is kept, not only what was scrolled to
            while self.model.canFetchMore(QModelIndex()):
                self.model.fetchMore(QModelIndex())
        self._update_gallery_state()

    def on_selection_changed(self, *_args: object) -> None:
        items = self.view.selected_items()
        item = self.view.current_item() if len(items) <= 1 else None
        one = item is not None and len(items) <= 1
        for button in (self.open_button, self.save_button, self.copy_button, self.reuse_button):
            button.setEnabled(one)
        self.delete_button.setEnabled(bool(items) or item is not None)
        self.delete_button.setText(f"Delete {len(items)}" if len(items) > 1 else "Delete")
        if item is not None:
            self.details.setText(describe(item))
        elif len(items) > 1:
            self.details.setText(f"{len(items)} images selected.")
        else:
            self.details.setText("Select an image to see its prompt and settings.")

    def on_view_activated(self, _index: QModelIndex) -> None:
        self.on_open_clicked()

    def on_view_context_menu_requested(self, position: QPoint) -> None:
        if not self.view.indexAt(position).isValid():
            return
        menu = QMenu(self)
        menu.setObjectName("galleryMenu")
        menu.addAction("Open", self.on_open_clicked)
        menu.addAction("Save as PNG…", self.on_save_clicked)
        menu.addAction("Copy", self.on_copy_clicked)
        menu.addAction("Reuse prompt and settings", self.on_reuse_clicked)
        menu.addSeparator()
        menu.addAction("Delete", self.on_delete_clicked)
        menu.popup(self.view.viewport().mapToGlobal(position))

    # -- full view ---------------------------------------------------------------------------

    def on_open_clicked(self) -> None:
        item = self.view.current_item()
        if item is not None:
            self.tasks.start("open", self._open(item))

    async def _open(self, item: GalleryItem) -> None:
        path = self.ctx.store.blob_path(item.ref)
        image = await asyncio.to_thread(read_image, path)  # big pictures decode off the Qt thread
        if image.isNull():
            self._say("The image file is missing or damaged in the data folder.", "error")
            return
        self._viewing = item
        self.viewer.show_pixmap(QPixmap.fromImage(image), describe(item))
        self.pages.setCurrentIndex(VIEWER_PAGE)
        self.viewer.scroll_area.setFocus()

    def on_viewer_back_requested(self) -> None:
        self.pages.setCurrentIndex(GALLERY_PAGE)
        self._viewing = None
        self.view.setFocus()

    # -- save, copy, reuse, delete -------------------------------------------------------------

    def on_save_clicked(self) -> None:
        item = self.current_item()
        if item is None:
            return
        dialog = save_dialog(self, item)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path, it=item: self.on_save_file_selected(it, path))
        dialog.finished.connect(lambda _r: setattr(self, "save_dialog", None))
        self.save_dialog = dialog
        dialog.open()  # non-modal: never a nested event loop

    def on_save_file_selected(self, item: GalleryItem, path: str) -> None:
        self.tasks.start("save", self._save_png(item, Path(path)))

    async def _save_png(self, item: GalleryItem, dest: Path) -> None:
        try:
            await save_png(self.ctx.store.blob_path(item.ref), item.ref.mime, dest)
        except OSError as exc:
            self._say(f"The image could not be saved: {exc.strerror or exc}", "error")
            return
        self._say(f"Saved {dest.name}.", "ok")

    def on_copy_clicked(self) -> None:
        item = self.current_item()
        if item is not None:
            self.tasks.start("copy", self._copy(item))

    async def _copy(self, item: GalleryItem) -> None:
        image = await asyncio.to_thread(read_image, self.ctx.store.blob_path(item.ref))
        if image.isNull():
            self._say("The image file is missing or damaged in the data folder.", "error")
            return
        QGuiApplication.clipboard().setImage(image)
        self._say("Image copied.", "ok")

    def on_reuse_clicked(self) -> None:
        item = self.current_item()
        if item is None:
            return
        request = ImageRequest.from_generation(item.generation)
        if request.provider_id and self.ctx.registry.get(request.provider_id) is not None:
            self.set_target(request.provider_id, request.model)
            self._say("Prompt and settings reused: edit and press Generate.", "ok")
        else:
            self._say(
                f"Prompt reused. Its provider “{request.provider_id}” is not configured any more: "
                "choose a model.",
                "warning",
            )
        self.form.load(request)
        self.form.prompt_edit.setFocus()
        self.on_viewer_back_requested()

    def on_delete_clicked(self) -> None:
        if self.pages.currentIndex() == VIEWER_PAGE and self._viewing is not None:
            items = [self._viewing]
        else:
            items = self.view.selected_items() or [
                i for i in (self.view.current_item(),) if i is not None
            ]
        if not items:
            return
        what = "this image" if len(items) == 1 else f"these {len(items)} images"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete images",
            f"Delete {what} from the gallery? The files are removed from the data folder.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("deleteImageBox")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.accepted.connect(lambda its=items: self.on_delete_confirmed(its))
        box.finished.connect(lambda _r: setattr(self, "delete_box", None))
        self.delete_box = box
        box.open()

    def on_delete_confirmed(self, items: list[GalleryItem]) -> None:
        self.tasks.start("delete", self._delete(items))

    async def _delete(self, items: list[GalleryItem]) -> None:
        refs = [ImageRef(i.generation.id, i.index, i.ref.sha256) for i in items]
        deleted = await gallery.delete_images(self.ctx.store, refs)
        if deleted.error:
            self._say(deleted.error, "error")
        for sha in deleted.removed_files:
            self.model.forget_thumbnail(sha)
        for generation_id, fresh in deleted.generations.items():
            self.model.update_generation(generation_id, fresh)
        if self.pages.currentIndex() == VIEWER_PAGE:
            self.on_viewer_back_requested()
        count = len(items)
        self._say(f"Deleted {count} image{'s' if count != 1 else ''}.", "ok")

    # -- errors and messages -----------------------------------------------------------------

    def _say(self, text: str, tone: str) -> None:
        self.job.say(text, tone)

    def job_failed(self, error: BaseException) -> None:
        """Every other task of the panel (saving, copying, deleting) fails the same way."""
        self.job.show_error(error)
