"""The images panel driven like a user would, against the local server over loopback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QComboBox, QMessageBox, QWidget

from app.api import ProviderProfile
from app.api.profiles import ModelPrice
from app.core.context import AppContext
from app.paths import AppPaths
from app.ui.panels.images import ImagesPanel
from app.ui.panels.images.gallery import PAGE, THUMB, GalleryItem
from tests.helpers.app_context import open_context
from tests.helpers.openai_server import OpenAIServer, png_bytes
from tests.helpers.waiting import until


def _profiles(server: OpenAIServer) -> list[ProviderProfile]:
    common = {"base_url": server.base_url, "kind": "local", "key_required": False}
    return [
        ProviderProfile.model_validate(
            {
                **common,
                "id": "local",
                "name": "Local",
                "capabilities": {"images": True},
                "models": ["dall-e-test"],
                "prices": {"dall-e-test": ModelPrice(per_image=0.02)},
            }
        ),
        ProviderProfile.model_validate(
            {**common, "id": "chatty", "name": "Chatty", "chat_image_models": ["flux"]}
        ),
        ProviderProfile.model_validate(
            {**common, "id": "starry", "name": "Starry", "image_size_separator": "*"}
        ),
    ]


@pytest.fixture
async def ctx(tmp_path: Path, openai_server: OpenAIServer) -> AsyncIterator[AppContext]:
    context = await open_context(AppPaths.from_root(tmp_path / "profile"))
    for profile in _profiles(openai_server):
        context.registry.add(profile)
    yield context
    await context.close()


async def _panel(qtbot, ctx: AppContext) -> ImagesPanel:  # type: ignore[no-untyped-def]
    panel = ImagesPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1100, 720)
    panel.show()
    return panel


async def _generate(panel: ImagesPanel, prompt: str) -> None:
    panel.form.prompt_edit.setPlainText(prompt)
    assert panel.generate_button.isEnabled()
    panel.generate_button.click()
    assert panel.busy
    await until(lambda: not panel.busy, 20)


def _items(panel: ImagesPanel) -> list[GalleryItem]:
    return list(panel.model.items)


async def _close(panel: ImagesPanel) -> None:
    await panel.shutdown()


# --- generating ----------------------------------------------------------------------------


async def test_generate_b64_fills_the_gallery_with_thumbnails(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    assert panel.target == ("local", "dall-e-test")  # the first provider able to draw
    assert panel.empty_label.isVisible() and not panel.view.isVisible()
    panel.form.count_spin.setValue(2)
    panel.form.size_combo.setCurrentText("64x64")
    panel.form.extra_edit.setPlainText('{"seed": 5, "negative_prompt": "blur"}')
    await _generate(panel, "a lighthouse at dusk")
    assert "2 images saved" in panel.status_label.text()
    assert len(_items(panel)) == 2 and panel.view.isVisible()
    body = openai_server.requests[-1].json
    assert body["size"] == "64x64" and body["n"] == 2 and body["seed"] == 5
    assert body["negative_prompt"] == "blur" and body["response_format"] == "b64_json"
    await until(lambda: all(panel.model.has_thumbnail(i.ref.sha256) for i in _items(panel)))
    icon = panel.proxy.index(0, 0).data(Qt.ItemDataRole.DecorationRole).toImage()
    assert icon.width() == THUMB  # every cell lines up; the picture is centred in it
    assert icon.pixelColor(THUMB // 2, THUMB // 2).alpha() == 255  # decoded, not the placeholder
    assert icon.pixelColor(2, 2).alpha() == 0
    assert "a lighthouse at dusk" in panel.details.text() and "$0.04" in panel.details.text()
    rows = await ctx.store.usage_entries()
    assert [(r["endpoint"], r["images"]) for r in rows] == [("images", 2)]
    await _close(panel)


async def test_url_format_and_the_providers_size_spelling(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.set_target("starry", "dall-e-test?flavor=seed002")
    combo = panel.form.size_combo
    assert "512*512" in [combo.itemText(i) for i in range(combo.count())]
    assert not panel.form.quality_combo.isVisible()  # W*H providers take no quality
    combo.setCurrentText("48*32")
    await _generate(panel, "a cat")
    assert openai_server.requests[-1].json["size"] == "48*32", panel.status_label.text()
    panel.set_target("local", "dall-e-test")
    assert combo.currentText() == "48x32"  # a typed size follows the provider's spelling
    assert panel.form.quality_combo.isVisible()
    panel.form.format_combo.setCurrentIndex(panel.form.format_combo.findData("url"))
    panel.form.quality_combo.setCurrentIndex(panel.form.quality_combo.findData("hd"))
    await _generate(panel, "a dog")
    sent = [r.json for r in openai_server.requests if r.path.endswith("/images/generations")][-1]
    assert sent["response_format"] == "url" and sent["quality"] == "hd"
    assert any(r.path.startswith("/files/") for r in openai_server.requests)
    assert [i.generation.prompt for i in _items(panel)] == ["a dog", "a cat"]
    await _close(panel)


async def test_chat_image_model_works_from_the_panel(
    qtbot, ctx: AppContext, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.picker.model_chosen.emit("chatty", "flux")
    assert panel.target == ("chatty", "flux")
    assert panel.form.via_chat_note.isVisible() and not panel.form.size_combo.isVisible()
    await _generate(panel, "a blue bird")
    assert "1 image saved" in panel.status_label.text(), panel.status_label.text()
    [item] = _items(panel)
    assert item.generation.params["via"] == "chat"
    assert any(r.path.endswith("/chat/completions") for r in openai_server.requests)
    await _close(panel)


@pytest.mark.parametrize(
    ("model", "words"),
    [("dall-e-test?fault=402", "credit"), ("missing-model", "404")],
)
async def test_provider_errors_show_plainly(qtbot, ctx: AppContext, model: str, words: str) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.set_target("local", model)
    await _generate(panel, "anything")
    assert words in panel.status_label.text().lower()
    assert panel.status_label.property("tone") == "error"
    assert panel.generate_button.isEnabled() and not panel.cancel_button.isVisible()
    assert _items(panel) == []
    await _close(panel)


async def test_cancel_stops_the_job(qtbot, ctx: AppContext, openai_server: OpenAIServer) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.set_target("local", "dall-e-test?delay=1.5")
    panel.form.prompt_edit.setPlainText("slow")
    panel.generate_button.click()
    assert panel.cancel_button.isVisible() and panel.progress.isVisible()
    await until(lambda: any(r.path.endswith("/generations") for r in openai_server.requests))
    await until(lambda: " s" in panel.status_label.text())  # the elapsed time shows
    assert "Waiting for Local" in panel.status_label.text()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert not panel.busy and not panel.progress.isVisible()
    assert "Cancelled" in panel.status_label.text()
    assert _items(panel) == [] and ctx.store.list_image_generations() == []
    rows: list[dict[str, object]] = []
    async with asyncio.timeout(10):  # the job writes its "stopped" row as it unwinds
        while not rows:
            rows = await ctx.store.usage_entries()
    assert [(r["endpoint"], r["status"]) for r in rows] == [("images", "stopped")]
    await _close(panel)


async def test_extra_json_is_validated_as_you_type(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    panel.form.prompt_edit.setPlainText("x")
    assert panel.generate_button.isEnabled()
    panel.form.extra_edit.setPlainText('{"seed": ')
    assert not panel.generate_button.isEnabled()
    assert panel.form.extra_status.isVisible()
    assert "not valid JSON" in panel.form.extra_status.text()
    panel.form.extra_edit.setPlainText('{"seed": 3}')
    assert panel.generate_button.isEnabled() and not panel.form.extra_status.isVisible()
    await _close(panel)


# --- the gallery, offline ---------------------------------------------------------------------


async def test_offline_gallery_view_save_copy_reuse_delete(
    qtbot, tmp_path: Path, openai_server: OpenAIServer
) -> None:  # type: ignore[no-untyped-def]
    paths = AppPaths.from_root(tmp_path / "kept")
    first = await open_context(paths)
    for profile in _profiles(openai_server):
        first.registry.add(profile)
    maker = await _panel(qtbot, first)
    maker.form.count_spin.setValue(2)
    maker.form.size_combo.setCurrentText("96x64")
    maker.form.extra_edit.setPlainText('{"seed": 11}')
    await _generate(maker, "a quiet harbour")
    maker.set_target("chatty", "flux")
    maker.form.count_spin.setValue(1)
    await _generate(maker, "a red kite")
    await maker.shutdown()
    await first.close()
    openai_server.stop()  # offline from here

    ctx = await open_context(paths)
    try:
        panel = await _panel(qtbot, ctx)
        prompts = [i.generation.prompt for i in _items(panel)]
        assert prompts == ["a red kite", "a quiet harbour", "a quiet harbour"]
        assert panel.target == ("chatty", "flux")  # the newest image's model
        await until(lambda: all(panel.model.has_thumbnail(i.ref.sha256) for i in _items(panel)))

        # filter by prompt
        panel.filter_edit.setText("harbour")
        assert panel.proxy.rowCount() == 2
        panel.filter_edit.clear()

        # full view with zoom
        panel.view.setCurrentIndex(panel.proxy.index(1, 0))
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
        await until(lambda: panel.pages.currentIndex() == 1)
        viewer = panel.viewer
        assert viewer.canvas.pixmap.width() == 96
        viewer.actual_size()
        assert viewer.zoom == 1.0 and viewer.zoom_label.text() == "100 %"
        viewer.zoom_in_button.click()
        assert viewer.zoom == 1.5 and viewer.canvas.width() == 144
        viewer.zoom_out_button.click()
        viewer.zoom_out_button.click()
        assert viewer.zoom == 0.75
        assert "a quiet harbour" in viewer.caption.text()
        qtbot.keyClick(viewer.scroll_area, Qt.Key.Key_Escape)  # back to the gallery ...
        assert panel.pages.currentIndex() == 0
        panel.on_open_clicked()  # ... and in again
        await until(lambda: panel.pages.currentIndex() == 1)

        # save as PNG through the non-modal dialog
        viewer_save = panel.viewer_save_button
        viewer_save.click()
        dialog = panel.save_dialog
        assert dialog is not None and dialog.isVisible()  # open() returned: no nested loop
        dest = tmp_path / "out.png"
        dialog.fileSelected.emit(str(dest))
        dialog.close()
        await until(lambda: "Saved" in panel.status_label.text())
        assert QImage(str(dest)).width() == 96
        assert "Saved out.png" in panel.status_label.text()

        # copy
        panel.viewer_copy_button.click()
        await until(lambda: "copied" in panel.status_label.text())
        assert QGuiApplication.clipboard().image().width() == 96

        # reuse prompt and settings (back to the gallery, form filled)
        panel.viewer_reuse_button.click()
        assert panel.pages.currentIndex() == 0
        assert panel.target == ("local", "dall-e-test")
        assert panel.form.prompt_edit.toPlainText() == "a quiet harbour"
        assert panel.form.count_spin.value() == 2
        assert panel.form.size_value() == "96x64"
        assert json.loads(panel.form.extra_edit.toPlainText()) == {"seed": 11}

        # delete one image, then the chat one (its file goes too)
        kite = _items(panel)[0]
        kite_file = ctx.store.blob_path(kite.ref)
        assert kite_file.exists()
        panel.view.setCurrentIndex(panel.proxy.index(0, 0))
        panel.view.selectionModel().select(
            panel.proxy.index(0, 0), panel.view.selectionModel().SelectionFlag.ClearAndSelect
        )
        panel.delete_button.click()
        box = panel.delete_box
        assert isinstance(box, QMessageBox)
        box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: len(_items(panel)) == 2)
        assert not kite_file.exists()
        assert [g.prompt for g in ctx.store.list_image_generations()] == ["a quiet harbour"]
        panel.view.selectAll()
        panel.delete_button.click()
        assert panel.delete_button.text() == "Delete 2"
        assert panel.delete_box is not None
        panel.delete_box.button(QMessageBox.StandardButton.Yes).click()
        await until(lambda: not _items(panel))
        assert ctx.store.list_image_generations() == []
        assert panel.empty_label.isVisible()
        await panel.shutdown()
    finally:
        await ctx.close()


async def test_every_interactive_widget_is_named(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    panel = await _panel(qtbot, ctx)
    kinds = ("QPushButton", "QToolButton", "QComboBox", "QLineEdit", "QPlainTextEdit",
             "QSpinBox", "QListView", "GalleryView", "_PromptEdit", "_SearchEdit")  # fmt: skip
    unnamed = [
        f"{w.metaObject().className()} in {w.parent().metaObject().className()}"
        for w in panel.findChildren(QWidget)
        if w.metaObject().className() in kinds
        and not w.objectName().startswith("qt_")  # Qt's own parts (a spin box's line edit)
        and not isinstance(w.parent(), QComboBox)  # an editable combo's line edit
        and w.parent().metaObject().className() != "QComboBoxPrivateContainer"
        and not (w.objectName() and w.accessibleName())
    ]
    assert unnamed == [], unnamed
    await _close(panel)


# --- a picture to look at ---------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``PALAVER_SHOTS`` to keep and look at them, else a tmp dir."""
    out = Path(os.environ.get("PALAVER_SHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


async def test_gallery_screenshot(qtbot, ctx: AppContext, shots: Path) -> None:  # type: ignore[no-untyped-def]
    """Grabs the panel with a few images; set PALAVER_SHOTS=<dir> to keep the PNGs."""
    panel = await _panel(qtbot, ctx)
    for prompt, size in (("a red fox in deep snow at noon", "96x96"), ("city at night", "128x72")):
        panel.form.size_combo.setCurrentText(size)
        panel.form.count_spin.setValue(3)
        await _generate(panel, prompt)
    panel.set_target("chatty", "flux")
    await _generate(panel, "a blue bird on a wire, watercolour")
    await until(lambda: all(panel.model.has_thumbnail(i.ref.sha256) for i in _items(panel)))
    out = shots
    gallery = panel.grab()
    assert gallery.save(str(out / "images-gallery.png"))
    panel.view.setCurrentIndex(panel.proxy.index(1, 0))
    panel.on_open_clicked()
    await until(lambda: panel.pages.currentIndex() == 1)
    assert panel.grab().save(str(out / "images-viewer.png"))
    assert not gallery.toImage().isNull() and gallery.width() == 1100
    await _close(panel)


@pytest.mark.xvfb
@pytest.mark.slow
def test_gallery_screenshot_under_xvfb(tmp_path: Path) -> None:
    """The same grab in a real X server (skipped when xvfb-run is not installed)."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PALAVER_SHOTS": str(tmp_path)}
    result = subprocess.run(
        [
            "xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-m", "pytest",
            "-q", "-p", "no:cacheprovider", f"{__file__}::test_gallery_screenshot",
        ],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert QImage(str(tmp_path / "images-gallery.png")).width() == 1100


async def test_a_long_history_is_paged_in(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ref = await ctx.store.put_blob(png_bytes(8, 8, "tiny"), "image/png")
    for i in range(PAGE * 2 + 5):
        await ctx.store.add_image_generation(
            f"picture number {i}", [ref], provider="local", model="dall-e-test", created_at=i
        )
    panel = await _panel(qtbot, ctx)
    assert len(_items(panel)) == PAGE  # one page read at start, the rest as the view scrolls
    assert "more as you scroll" in panel.count_label.text()
    assert _items(panel)[0].generation.prompt == f"picture number {PAGE * 2 + 4}"
    panel.view.scrollToBottom()
    await until(lambda: len(_items(panel)) > PAGE)
    panel.filter_edit.setText("number 3")  # a filter covers everything kept
    assert len(_items(panel)) == PAGE * 2 + 5
    assert panel.proxy.rowCount() == len([i for i in range(PAGE * 2 + 5) if "3" in str(i)[:1]])
    await _close(panel)


async def test_a_missing_file_says_so(qtbot, ctx: AppContext) -> None:  # type: ignore[no-untyped-def]
    ref = await ctx.store.put_blob(png_bytes(8, 8, "gone"), "image/png")
    await ctx.store.add_image_generation("lost", [ref], provider="local", model="dall-e-test")
    ctx.store.blob_path(ref).unlink()
    panel = await _panel(qtbot, ctx)
    await until(lambda: panel.model.has_thumbnail(ref.sha256))  # the "missing" placeholder
    panel.view.setCurrentIndex(panel.proxy.index(0, 0))
    panel.on_open_clicked()
    await until(lambda: "missing" in panel.status_label.text())
    assert panel.pages.currentIndex() == 0 and panel.status_label.property("tone") == "error"
    await _close(panel)


async def test_a_jpeg_is_saved_as_png(qtbot, ctx: AppContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(Qt.GlobalColor.darkCyan)
    assert picture.save(buffer, "JPEG")  # type: ignore[call-overload]
    ref = await ctx.store.put_blob(bytes(buffer.data().data()), "image/jpeg")
    await ctx.store.add_image_generation("a jpeg", [ref], provider="chatty", model="flux")
    panel = await _panel(qtbot, ctx)
    panel.view.setCurrentIndex(panel.proxy.index(0, 0))
    panel.save_button.click()
    assert panel.save_dialog is not None
    assert panel.save_dialog.selectedFiles()[0].endswith(".png")  # a name from the prompt
    dest = tmp_path / "converted.png"
    panel.save_dialog.fileSelected.emit(str(dest))
    panel.save_dialog.close()
    await until(lambda: "Saved" in panel.status_label.text())
    assert dest.read_bytes().startswith(b"\x89PNG") and QImage(str(dest)).width() == 40
    await _close(panel)
