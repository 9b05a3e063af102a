"""The model picker: every provider's models, searchable, with manual entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.api.profiles import Capabilities, ModelPrice, ProviderProfile
from app.core.models_cache import ModelsCache
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.settings import SettingsStore
from app.ui.widgets.model_picker import ModelPicker
from app.ui.widgets.model_rows import HEADER_ROLE, TAGS_ROLE


@pytest.fixture
def sources(data_dir: Path) -> tuple[ProviderRegistry, ModelsCache]:
    paths = AppPaths.from_root(data_dir).ensure()
    registry = ProviderRegistry.load(paths.providers_file)
    registry.add(
        ProviderProfile(
            id="groq",
            name="Groq",
            base_url="https://api.groq.com/openai/v1",
            prices={"llama-3.1-8b-instant": ModelPrice(input_per_m=0.05, output_per_m=0.08)},
        )
    )
    registry.add(
        ProviderProfile(
            id="stapi",
            name="stapi",
            base_url="https://stapi.pw/v1",
            capabilities=Capabilities(model_list=False),
        )
    )
    cache = ModelsCache(paths.cache / "models")
    cache.put("groq", ["llama-3.1-8b-instant", "llama-3.3-70b-versatile", "whisper-large-v3"])
    return registry, cache


def test_lists_every_provider_and_filters_by_all_words(
    qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]
) -> None:
    picker = ModelPicker(*sources)
    qtbot.addWidget(picker)
    assert picker.visible_labels() == [
        "Groq / llama-3.1-8b-instant",
        "Groq / llama-3.3-70b-versatile",
        "Groq / whisper-large-v3",
    ]
    qtbot.keyClicks(picker.search, "groq 70b")
    assert picker.visible_labels() == ["Groq / llama-3.3-70b-versatile"]
    picker.search.clear()
    qtbot.keyClicks(picker.search, "nothing-like-this")
    assert picker.visible_labels() == []
    assert picker.empty_label.isVisibleTo(picker) and "Type it below" in picker.empty_label.text()


def test_prices_are_shown(qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]) -> None:
    picker = ModelPicker(*sources)
    qtbot.addWidget(picker)
    assert picker.proxy.index(0, 0).data(HEADER_ROLE)  # the "Groq" section
    first = picker.proxy.index(1, 0)
    assert first.data(Qt.ItemDataRole.DisplayRole).endswith("$0.05 / $0.08 per 1M")
    assert "price unknown" in picker.proxy.index(2, 0).data(Qt.ItemDataRole.ToolTipRole)


def test_enter_in_search_chooses_the_first_match(
    qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]
) -> None:
    picker = ModelPicker(*sources)
    qtbot.addWidget(picker)
    qtbot.keyClicks(picker.search, "whisper")
    with qtbot.waitSignal(picker.model_chosen) as blocker:
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    assert blocker.args == ["groq", "whisper-large-v3"]


def test_manual_entry_for_a_provider_without_a_list_is_remembered(
    qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]
) -> None:
    registry, cache = sources
    picker = ModelPicker(registry, cache)
    qtbot.addWidget(picker)
    assert not picker.manual_button.isEnabled()
    picker.manual_provider.setCurrentIndex(picker.manual_provider.findData("stapi"))
    qtbot.keyClicks(picker.manual_model, "gpt-4o")
    assert picker.manual_button.isEnabled()
    with qtbot.waitSignal(picker.model_chosen) as blocker:
        picker.manual_button.click()
    assert blocker.args == ["stapi", "gpt-4o"]
    assert "stapi / gpt-4o" in picker.visible_labels()
    assert ProviderRegistry.load(registry.path).get("stapi").models == ["gpt-4o"]  # type: ignore[union-attr]
    assert picker.set_current("stapi", "gpt-4o") and picker.current() == ("stapi", "gpt-4o")


def test_empty_picker_explains_what_to_do(qtbot: QtBot, data_dir: Path) -> None:
    paths = AppPaths.from_root(data_dir)
    picker = ModelPicker(
        ProviderRegistry.load(paths.providers_file), ModelsCache(paths.cache / "models")
    )
    qtbot.addWidget(picker)
    assert picker.visible_labels() == []
    assert "No models yet" in picker.empty_label.text()
    assert picker.manual_provider.count() == 0 and not picker.manual_button.isEnabled()


def test_widgets_are_named(qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]) -> None:
    picker = ModelPicker(*sources)
    qtbot.addWidget(picker)
    for widget in (
        picker.search,
        picker.list_view,
        picker.manual_provider,
        picker.manual_model,
        picker.manual_button,
    ):
        assert widget.objectName() and widget.accessibleName()


def test_grouped_by_provider_with_tags_and_only_the_kinds_a_panel_can_use(
    qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache]
) -> None:
    registry, cache = sources
    registry.add(ProviderProfile(id="o", name="OpenAI", base_url="https://api.openai.com/v1"))
    cache.put("o", ["gpt-4o", "o3-mini", "text-embedding-3-small", "dall-e-3"])
    picker = ModelPicker(registry, cache, kinds=("chat",))
    qtbot.addWidget(picker)
    assert picker.sections() == ["Groq", "OpenAI"]
    assert picker.visible_labels() == [
        "Groq / llama-3.1-8b-instant",
        "Groq / llama-3.3-70b-versatile",
        "OpenAI / gpt-4o",
        "OpenAI / o3-mini",
    ]  # no embedding, image or speech model for chat
    tags = {str(picker.proxy.index(r, 0).data(Qt.ItemDataRole.DisplayRole)).split("    ")[0]:
            picker.proxy.index(r, 0).data(TAGS_ROLE) for r in range(picker.proxy.rowCount())}  # fmt: skip
    assert "vision" in tags["OpenAI / gpt-4o"] and "reasoning" in tags["OpenAI / o3-mini"]
    picker.all_models.click()
    assert "OpenAI / dall-e-3" in picker.visible_labels()
    embed = next(c for c in picker.choices() if c.model == "text-embedding-3-small")
    assert embed.tags == ("embeddings",)
    images = ModelPicker(registry, cache, kinds=("image",))
    qtbot.addWidget(images)
    assert images.visible_labels() == ["OpenAI / dall-e-3"]


def test_favourites_and_recent_models_come_first(
    qtbot: QtBot, sources: tuple[ProviderRegistry, ModelsCache], data_dir: Path
) -> None:
    settings = SettingsStore(AppPaths.from_root(data_dir).settings_file)
    picker = ModelPicker(*sources, settings=settings)
    qtbot.addWidget(picker)
    assert picker.set_current("groq", "whisper-large-v3")
    picker.list_view.setFocus()
    qtbot.keyClick(picker.list_view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert settings.get().favourite_models == ("groq/whisper-large-v3",)
    qtbot.keyClicks(picker.search, "70b")
    with qtbot.waitSignal(picker.model_chosen):
        qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    picker.search.clear()
    picker.refresh()
    assert picker.sections() == ["Favourites", "Recently used", "Groq"]
    assert picker.visible_labels()[:2] == [
        "Groq / whisper-large-v3",
        "Groq / llama-3.3-70b-versatile",
    ]
    assert settings.get().recent_models == ("groq/llama-3.3-70b-versatile",)
