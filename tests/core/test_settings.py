"""Settings: defaults, validation, atomic save, live notification, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.paths import AppPaths
from app.settings import Settings, SettingsError, SettingsStore, write_atomic


@pytest.fixture
def settings_file(data_dir: Path) -> Path:
    return AppPaths.from_root(data_dir).settings_file


def test_missing_file_gives_defaults(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    assert store.get() == Settings()
    assert store.problem is None
    assert (
        store.get().send_key == "enter"
        and store.get().theme == "system"
        and store.get().proxy == "system"
    )


def test_update_saves_human_readable_json_and_reloads(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    store.update(default_provider="groq", default_model="llama-3.1-8b", theme="dark", font_size=13)
    text = settings_file.read_text(encoding="utf-8")
    assert '\n  "theme": "dark"' in text  # indented, one field per line
    again = SettingsStore.load(settings_file).get()
    assert (again.default_provider, again.default_model, again.theme, again.font_size) == (
        "groq",
        "llama-3.1-8b",
        "dark",
        13,
    )


def test_subscribers_hear_only_real_changes(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    heard: list[tuple[Settings, frozenset[str]]] = []
    unsubscribe = store.subscribe(lambda s, changed: heard.append((s, changed)))
    store.update(send_key="ctrl+enter", theme="system")  # theme unchanged
    store.update(send_key="ctrl+enter")  # nothing changed: no call
    assert [changed for _, changed in heard] == [frozenset({"send_key"})]
    assert heard[0][0].send_key == "ctrl+enter"
    unsubscribe()
    store.update(theme="light")
    assert len(heard) == 1


def test_a_failing_subscriber_does_not_silence_the_others(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    heard: list[str] = []

    def broken(settings: Settings, changed: frozenset[str]) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(lambda s, changed: heard.append(s.theme))
    store.update(theme="dark")
    assert heard == ["dark"]


@pytest.mark.parametrize(
    "changes",
    [
        {"send_key": "shift+enter"},
        {"theme": "purple"},
        {"request_timeout": 0},
        {"font_size": 200},
        {"proxy": "ftp://example.invalid"},
        {"proxy": "not a url"},
    ],
)
def test_invalid_values_are_refused_and_nothing_changes(
    settings_file: Path, changes: dict[str, object]
) -> None:
    store = SettingsStore.load(settings_file)
    before = store.get()
    with pytest.raises(SettingsError):
        store.update(**changes)
    assert store.get() == before
    assert not settings_file.exists()


def test_unknown_setting_is_a_type_error(settings_file: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        SettingsStore.load(settings_file).update(colour="red")


@pytest.mark.parametrize(
    ("proxy", "url", "system"),
    [
        ("system", None, True),
        ("none", None, False),
        ("http://proxy.local:3128", "http://proxy.local:3128", False),
    ],
)
def test_proxy_modes(proxy: str, url: str | None, system: bool) -> None:
    settings = Settings(proxy=proxy)
    assert settings.proxy_url == url
    assert settings.use_system_proxy is system


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", json.dumps({"theme": "neon"}), ""])
def test_damaged_file_gives_defaults_keeps_it_aside_and_says_so(
    settings_file: Path, content: str
) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(content, encoding="utf-8")
    store = SettingsStore.load(settings_file)
    assert store.get() == Settings()
    assert store.problem is not None and "defaults" in store.problem
    kept = list(settings_file.parent.glob("settings.json.bad-*"))
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8") == content
    assert kept[0].name in store.problem
    # The next change writes a fresh, valid file.
    store.update(theme="light")
    assert SettingsStore.load(settings_file).get().theme == "light"


def test_unknown_fields_from_a_newer_version_are_ignored(settings_file: Path) -> None:
    settings_file.parent.mkdir(parents=True)
    settings_file.write_text(json.dumps({"theme": "dark", "future_thing": 1}), encoding="utf-8")
    store = SettingsStore.load(settings_file)
    assert store.problem is None and store.get().theme == "dark"


def test_write_atomic_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text(encoding="utf-8") == "two"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_reset_restores_defaults(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    store.update(theme="dark", request_timeout=120)
    assert store.reset() == Settings()


def test_bound_methods_are_held_weakly_plain_functions_strongly(settings_file: Path) -> None:
    store = SettingsStore.load(settings_file)
    heard: list[str] = []

    class Listener:
        def on_changed(self, settings: Settings, changed: frozenset[str]) -> None:
            heard.append(f"method:{settings.theme}")

    listener = Listener()
    store.subscribe(listener.on_changed)
    store.subscribe(lambda settings, changed: heard.append(f"lambda:{settings.theme}"))
    store.update(theme="dark")
    del listener  # nothing else holds it: the store does not keep it alive
    store.update(theme="light")
    assert heard == ["method:dark", "lambda:dark", "lambda:light"]
