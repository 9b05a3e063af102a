"""The providers dialog, driven like a user would, against the local test server."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QTabBar,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.api import ApiClient
from app.api.profiles import Capabilities, Endpoint, ModelPrice, ProviderProfile
from app.core.connection import check_connection
from app.core.keys import KeyStore
from app.core.models_cache import ModelsCache
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.settings import Settings
from app.ui.dialogs.providers import ProvidersDialog, client_factory_for
from tests.helpers.fixtures import TEST_API_KEY
from tests.helpers.memory_keyring import MemoryKeyring
from tests.helpers.openai_server import OpenAIServer

NOT_A_KEY = "sk-test-not-a-real-key-5678"


async def until(condition: Callable[[], object], seconds: float = 10.0) -> None:
    """Poll the running qasync loop until ``condition()`` holds (no qtbot.waitUntil in async tests)."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - Qt state has no asyncio.Event to wait on
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), seconds)


@pytest.fixture
def paths(data_dir: Path) -> AppPaths:
    return AppPaths.from_root(data_dir).ensure()


@pytest.fixture
def keys(memory_keyring: MemoryKeyring) -> Iterator[KeyStore]:
    store = KeyStore()
    yield store
    store.close()


def presets_for(server: OpenAIServer) -> list[ProviderProfile]:
    return [
        ProviderProfile(
            id="testsrv",
            name="Test Server",
            base_url=server.base_url,
            prices={"gpt-4o-mini": ModelPrice(input_per_m=0.15, output_per_m=0.6)},
            dashboard_url="https://example.org/keys?a=1&b=<2>",
        ),
        ProviderProfile(
            id="localsrv",
            name="Local Server",
            base_url=server.base_url,
            kind="local",
            key_required=False,
        ),
        ProviderProfile(
            id="nolist",
            name="No List",
            base_url=server.base_url,
            capabilities=Capabilities(model_list=False),
            models=["gpt-4o", "o1-mini"],
        ),
    ]


def fast_client(profile: ProviderProfile, key: str | None) -> ApiClient:
    return ApiClient(profile, key, timeout=1.0, max_retries=0)


@pytest.fixture
def make_dialog(qtbot: QtBot, paths: AppPaths, keys: KeyStore) -> Callable[..., ProvidersDialog]:
    def make(server: OpenAIServer, store: KeyStore | None = None) -> ProvidersDialog:
        registry = ProviderRegistry.load(paths.providers_file)
        dialog = ProvidersDialog(
            registry,
            store or keys,
            presets=presets_for(server),
            models_cache=ModelsCache(paths.cache / "models"),
            client_factory=fast_client,
        )
        qtbot.addWidget(dialog)
        dialog.show()
        return dialog

    return make


def all_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def files_containing(files: list[Path], secret: str) -> list[Path]:
    return [p for p in files if secret.encode() in p.read_bytes()]


async def add_with_key(dialog: ProvidersDialog, key: str) -> str:
    profile = dialog.add_preset("testsrv")
    assert profile is not None
    await until(lambda: not dialog.tasks.running("load-key"))
    dialog.editor.key_edit.setText(key)
    saved: list[tuple[str, str]] = []
    dialog.key_saved.connect(lambda pid, where: saved.append((pid, where)))
    dialog.save_button.click()
    await until(lambda: saved)
    assert saved == [(profile.id, "keyring")]
    return profile.id


async def run_test_connection(dialog: ProvidersDialog) -> tuple[bool, str]:
    results: list[tuple[bool, str]] = []
    dialog.connection_tested.connect(lambda pid, ok, headline: results.append((ok, headline)))
    dialog.editor.test_button.click()
    await until(lambda: results)
    return results[0]


async def test_add_preset_save_key_and_test_connection(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    memory_keyring: MemoryKeyring,
    paths: AppPaths,
) -> None:
    dialog = make_dialog(openai_server_with_key)
    await until(lambda: "system keyring" in dialog.keyring_banner.text())
    assert dialog.pages.currentWidget() is dialog.empty_page

    provider_id = await add_with_key(dialog, TEST_API_KEY)
    assert memory_keyring.passwords == {("Palaver", provider_id): TEST_API_KEY}
    assert dialog.registry.get(provider_id) is not None
    assert "system keyring" in dialog.status_label.text()

    ok, headline = await run_test_connection(dialog)
    assert ok, dialog.editor.test_result.text()
    assert headline.startswith("Connected:")
    assert dialog.editor.test_models.isVisibleTo(dialog) and dialog.editor.test_models.count() > 0
    assert openai_server_with_key.requests[-1].headers["authorization"] == f"Bearer {TEST_API_KEY}"
    cached = ModelsCache(paths.cache / "models").get(provider_id)
    assert cached is not None and cached.ids

    # The listing carries prices (OpenRouter style): one click copies them into the table.
    assert dialog.editor.copy_prices_button.isEnabled()
    dialog.editor.copy_prices_button.click()
    dialog.save_button.click()
    profile = dialog.registry.get(provider_id)
    assert profile is not None and len(profile.prices) > 1
    assert profile.prices["gpt-4o-mini"].input_per_m == 0.15  # the preset's own price is kept


async def test_a_stored_key_is_loaded_masked_and_can_be_revealed(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    provider_id = await add_with_key(dialog, NOT_A_KEY)
    dialog.close()
    again = make_dialog(openai_server)
    assert again.current_profile_id == provider_id
    await until(lambda: again.editor.key_edit.text() == NOT_A_KEY)
    assert again.editor.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert "system keyring" in again.editor.key_source_label.text()
    again.editor.reveal_button.click()
    assert again.editor.key_edit.echoMode() == QLineEdit.EchoMode.Normal
    assert again.editor.reveal_button.accessibleName() == "Hide the API key"
    again.editor.reveal_button.click()
    assert again.editor.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert not again.dirty  # loading a key is not an edit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _HtmlHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def html_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    listener.close()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong key", "Wrong key"),
        ("wrong path", "Wrong path"),
        ("offline", "Offline or refused"),
        ("tls", "TLS error"),
        ("timeout", "Timed out"),
        ("html", "Not an OpenAI-compatible answer"),
        ("no key", "No key yet"),
    ],
)
async def test_test_connection_failures_are_explained(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    html_server: str,
    silent_server: str,
    case: str,
    expected: str,
) -> None:
    server = openai_server_with_key
    dialog = make_dialog(server)
    dialog.add_preset("testsrv")
    await until(lambda: not dialog.tasks.running("load-key"))
    port = server.base_url.split(":")[2].split("/")[0]
    base_urls = {
        "wrong path": server.origin + "/nowhere",
        "offline": f"http://127.0.0.1:{_free_port()}/v1",
        "tls": f"https://127.0.0.1:{port}/v1",
        "timeout": silent_server,
        "html": html_server,
    }
    if case in base_urls:
        dialog.editor.base_url_edit.setText(base_urls[case])
    if case != "no key":
        dialog.editor.key_edit.setText("sk-test-wrong-key" if case == "wrong key" else TEST_API_KEY)
    ok, headline = await run_test_connection(dialog)
    assert not ok
    assert headline.startswith(expected), headline
    shown = dialog.editor.test_result.text()
    assert shown.startswith(expected)
    assert dialog.editor.test_result.property("tone") == "error"
    assert "<" not in shown  # never raw HTML
    assert dialog.editor.test_button.isEnabled()
    assert TEST_API_KEY not in shown


async def test_custom_provider_needs_a_valid_url(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    dialog.start_custom()
    assert dialog.editor.base_url_edit.text() == ""
    dialog.editor.base_url_edit.setText("ftp://example.invalid")
    dialog.save_button.click()
    assert len(dialog.registry) == 0
    assert dialog.status_label.text().startswith("Base URL:")
    assert dialog.status_label.property("tone") == "error"

    dialog.editor.base_url_edit.setText(openai_server.base_url)
    dialog.editor.name_edit.setText("My llama box")
    dialog.editor.key_required_check.setChecked(False)
    dialog.save_button.click()
    (profile,) = dialog.registry.all()
    assert (profile.name, profile.kind, profile.key_required) == ("My llama box", "custom", False)
    assert dialog.provider_list.currentItem().text() == "My llama box"
    ok, _ = await run_test_connection(dialog)
    assert ok


async def test_edit_paths_headers_capabilities_and_prices(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    profile = dialog.add_preset("localsrv")
    assert profile is not None
    editor = dialog.editor
    editor.name_edit.setText("Renamed")
    editor.name_edit.textEdited.emit("Renamed")
    editor.path_edits[Endpoint.CHAT].setText("/api/v1/chat/completions")
    editor.path_edits[Endpoint.CHAT].textEdited.emit("/api/v1/chat/completions")
    assert "/api/v1/chat/completions" in editor.url_preview.text()
    editor.add_header_button.click()
    editor.headers_table.setItem(0, 0, QTableWidgetItem("X-Title"))
    editor.headers_table.setItem(0, 1, QTableWidgetItem("Palaver"))
    editor.capability_checks["images"].click()
    editor.add_model_button.click()
    editor.prices_table.setItem(0, 0, QTableWidgetItem("my-model"))
    editor.prices_table.setItem(0, 1, QTableWidgetItem("$1.5"))
    editor.prices_table.setItem(0, 2, QTableWidgetItem("2,25"))
    assert dialog.dirty
    dialog.save_button.click()
    saved = dialog.registry.get(profile.id)
    assert saved is not None
    assert saved.name == "Renamed"
    assert saved.paths == {Endpoint.CHAT: "/api/v1/chat/completions"}
    assert saved.url(Endpoint.CHAT) == openai_server.origin + "/api/v1/chat/completions"
    assert saved.headers == {"X-Title": "Palaver"}
    assert saved.capabilities == Capabilities(images=True)
    assert saved.models == ["my-model"]
    assert (saved.prices["my-model"].input_per_m, saved.prices["my-model"].output_per_m) == (
        1.5,
        2.25,
    )
    assert not dialog.dirty
    assert dialog.provider_list.currentItem().text() == "Renamed"

    # A price that is not a number, or a header that would carry a key, is refused in words.
    editor.prices_table.setItem(0, 1, QTableWidgetItem("cheap"))
    dialog.save_button.click()
    assert "not a number" in dialog.status_label.text()
    editor.prices_table.setItem(0, 1, QTableWidgetItem("1"))
    editor.add_header_button.click()
    editor.headers_table.setItem(1, 0, QTableWidgetItem("Authorization"))
    editor.headers_table.setItem(1, 1, QTableWidgetItem("Bearer " + NOT_A_KEY))
    dialog.save_button.click()
    assert "would carry a secret" in dialog.status_label.text()
    assert NOT_A_KEY not in dialog.registry.path.read_text(encoding="utf-8")
    # Revert brings back what is saved.
    dialog.revert_button.click()
    assert editor.headers_table.rowCount() == 1 and not dialog.dirty


async def test_switching_providers_commits_valid_edits_and_keeps_invalid_ones_on_screen(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    first = dialog.add_preset("testsrv")
    second = dialog.add_preset("localsrv")
    assert first is not None and second is not None
    dialog.editor.name_edit.setText("Second, renamed")
    dialog.editor.name_edit.textEdited.emit("Second, renamed")
    dialog.provider_list.setCurrentRow(0)
    assert dialog.registry.get(second.id).name == "Second, renamed"  # type: ignore[union-attr]
    assert dialog.current_profile_id == first.id

    dialog.editor.base_url_edit.setText("not a url")
    dialog.editor.base_url_edit.textEdited.emit("not a url")
    dialog.provider_list.setCurrentRow(1)
    assert dialog.current_profile_id == first.id  # stayed to show the problem
    assert dialog.provider_list.currentRow() == 0
    assert "Base URL" in dialog.status_label.text()


async def test_remove_asks_inline_then_forgets_profile_key_and_cache(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server: OpenAIServer,
    memory_keyring: MemoryKeyring,
    paths: AppPaths,
) -> None:
    dialog = make_dialog(openai_server)
    provider_id = await add_with_key(dialog, NOT_A_KEY)
    ok, _ = await run_test_connection(dialog)
    assert ok and (paths.cache / "models" / f"{provider_id}.json").exists()
    removed: list[str] = []
    dialog.provider_removed.connect(removed.append)

    dialog.remove_button.click()
    assert dialog.confirm_bar.isVisibleTo(dialog)
    dialog.cancel_remove_button.click()
    assert provider_id in dialog.registry

    dialog.remove_button.click()
    dialog.confirm_remove_button.click()
    assert removed == [provider_id]
    assert provider_id not in dialog.registry
    assert dialog.pages.currentWidget() is dialog.empty_page
    await until(lambda: not memory_keyring.passwords)
    assert not (paths.cache / "models" / f"{provider_id}.json").exists()
    assert ProviderRegistry.load(paths.providers_file).all() == []


async def test_no_file_under_the_profile_contains_the_key(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    data_dir: Path,
) -> None:
    dialog = make_dialog(openai_server_with_key)
    await add_with_key(dialog, TEST_API_KEY)
    ok, _ = await run_test_connection(dialog)
    assert ok
    dialog.editor.name_edit.setText("Edited after the key")
    dialog.editor.name_edit.textEdited.emit("Edited after the key")
    dialog.close()  # commits the edit
    files = all_files(data_dir)
    assert any(p.name == "providers.json" for p in files)
    assert any(p.parent.name == "models" for p in files)
    assert files_containing(files, TEST_API_KEY) == []


async def test_without_a_real_keyring_the_dialog_says_so_and_keeps_keys_in_memory(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    data_dir: Path,
) -> None:
    store = KeyStore(backend=fail.Keyring())
    checked: list[bool] = []
    try:
        dialog = make_dialog(openai_server_with_key, store)
        dialog.keyring_checked.connect(checked.append)
        await until(lambda: "memory only" in dialog.keyring_banner.text())
        assert dialog.keyring_banner.property("tone") == "warning"
        profile = dialog.add_preset("testsrv")
        assert profile is not None
        await until(lambda: not dialog.tasks.running("load-key"))
        saved: list[str] = []
        dialog.key_saved.connect(lambda pid, where: saved.append(where))
        dialog.editor.key_edit.setText(TEST_API_KEY)
        dialog.save_button.click()
        await until(lambda: saved)
        assert saved == ["memory"]
        assert "memory only" in dialog.status_label.text()
        assert dialog.status_label.property("tone") == "warning"
        # Test connection with an empty field still finds the in-memory key.
        dialog.editor.key_edit.clear()
        ok, _ = await run_test_connection(dialog)
        assert ok
        assert files_containing(all_files(data_dir), TEST_API_KEY) == []
    finally:
        store.close()


async def test_key_from_an_environment_variable(
    make_dialog: Callable[..., ProvidersDialog], openai_server_with_key: OpenAIServer
) -> None:
    store = KeyStore(backend=fail.Keyring(), environ={"TEST_SERVER_KEY": TEST_API_KEY})
    try:
        dialog = make_dialog(openai_server_with_key, store)
        dialog.add_preset("testsrv")
        dialog.editor.key_env_edit.setText("TEST_SERVER_KEY")
        dialog.editor.key_env_edit.textEdited.emit("TEST_SERVER_KEY")
        dialog.save_button.click()
        dialog.provider_list.setCurrentRow(0)
        dialog._show(dialog.current_profile_id)  # reload, as reopening would
        await until(lambda: "$TEST_SERVER_KEY" in dialog.editor.key_source_label.text())
        assert dialog.editor.key_edit.text() == ""  # used, never shown or copied
        assert TEST_API_KEY not in dialog.editor.key_source_label.text()
        ok, _ = await run_test_connection(dialog)
        assert ok
    finally:
        store.close()


def _interactive(widget: QWidget) -> bool:
    """Widgets a user operates, leaving out the inner parts of composite Qt widgets
    (a combo's popup list, a tab bar's scroll arrows, a table's cell editor)."""
    if isinstance(widget, QHeaderView):
        return False
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox | QTabBar | QLineEdit | QAbstractItemView):
            return False
        parent = parent.parentWidget()
    return isinstance(
        widget, QAbstractButton | QLineEdit | QComboBox | QAbstractItemView | QTabWidget
    )


def unnamed_widgets(root: QWidget) -> tuple[int, list[str]]:
    """(how many interactive widgets, those missing an objectName or accessible name)."""
    widgets = [w for w in root.findChildren(QWidget) if _interactive(w)]
    missing = [
        f"{type(w).__name__}({w.objectName()!r}, {w.accessibleName()!r})"
        for w in widgets
        if not w.objectName() or not w.accessibleName()
    ]
    return len(widgets), missing


async def test_every_interactive_widget_is_named(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    dialog.add_preset("testsrv")
    dialog.editor.add_header_button.click()
    count, missing = unnamed_widgets(dialog)
    assert count > 30
    assert missing == []


@pytest.mark.keyring
async def test_keys_reach_the_real_secret_service(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    data_dir: Path,
) -> None:
    """Run under packaging/with-test-services.sh (dbus + unlocked gnome-keyring)."""
    import uuid

    from app.core.keys import is_real_backend

    try:
        backend = keyring.core.load_keyring("keyring.backends.SecretService.Keyring")
        backend.get_password("Palaver-probe", "probe")
    except Exception as error:
        pytest.skip(
            f"no Secret Service available ({type(error).__name__}); run under packaging/with-test-services.sh"
        )
    keyring.set_keyring(backend)  # the memory_keyring fixture restores the old one
    assert is_real_backend(backend)
    service = f"Palaver-test-{uuid.uuid4().hex[:8]}"
    store = KeyStore(service)
    try:
        dialog = make_dialog(openai_server_with_key, store)
        await until(lambda: dialog.keyring_banner.property("tone") == "plain")
        provider_id = await add_with_key(dialog, TEST_API_KEY)
        assert backend.get_password(service, provider_id) == TEST_API_KEY
        dialog.editor.key_edit.clear()
        ok, _ = await run_test_connection(dialog)
        assert ok
        assert files_containing(all_files(data_dir), TEST_API_KEY) == []
        dialog.remove_button.click()
        dialog.confirm_remove_button.click()
        # Wait for the worker thread; reading the item while it is deleted races in D-Bus.
        await until(lambda: not dialog.key_tasks.running(f"delete-key:{provider_id}"))
        assert backend.get_password(service, provider_id) is None
    finally:
        store.close()


async def test_add_menu_lists_presets_by_kind_and_a_custom_entry(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    names = [a.objectName() for a in dialog.add_menu.actions() if a.objectName()]
    assert names == [
        "addPreset_testsrv",
        "addPreset_nolist",
        "addPreset_localsrv",
        "addCustomProvider",
    ]
    sections = [a.text() for a in dialog.add_menu.actions() if a.isSeparator() and a.text()]
    assert sections == ["Hosted services", "Local servers"]
    dialog.empty_add_button.click()  # the empty page offers the same menu
    assert dialog.add_menu.isVisible()
    dialog.add_menu.hide()
    custom = next(a for a in dialog.add_menu.actions() if a.objectName() == "addCustomProvider")
    custom.trigger()
    assert dialog.editor.base_url_edit.hasFocus() or dialog.editor.base_url_edit.text() == ""
    assert dialog.dirty
    dialog.revert_button.click()
    assert not dialog.dirty and len(dialog.registry) == 0
    assert dialog.editor.key_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.windowModality() == Qt.WindowModality.NonModal


async def test_a_provider_without_a_model_list_is_checked_with_one_token(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    dialog.add_preset("nolist")
    assert dialog.editor.test_button.text() == "Test with one token"
    assert "may bill" in dialog.editor.test_button.toolTip()
    ok, headline = await run_test_connection(dialog)
    assert ok and headline.startswith("The key works: gpt-4o answered"), headline
    [sent] = openai_server.requests
    assert sent.path.endswith("/chat/completions") and sent.json["max_tokens"] == 1
    assert sent.json["model"] == "gpt-4o"


async def test_close_and_escape_hide_the_dialog_and_commit(
    qtbot: QtBot, make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    profile = dialog.add_preset("localsrv")
    assert profile is not None
    dialog.editor.name_edit.setText("Closed with Escape")
    dialog.editor.name_edit.textEdited.emit("Closed with Escape")
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert dialog.registry.get(profile.id).name == "Closed with Escape"  # type: ignore[union-attr]
    dialog.show()
    dialog.close_buttons.rejected.emit()
    assert not dialog.isVisible()


async def test_providers_added_elsewhere_show_up(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    first = dialog.add_preset("testsrv")
    assert first is not None
    dialog.registry.add(
        ProviderProfile(id="elsewhere", name="Added Elsewhere", base_url="http://127.0.0.1:9/v1")
    )
    texts = [dialog.provider_list.item(i).text() for i in range(dialog.provider_list.count())]
    assert texts == ["Test Server", "Added Elsewhere"]
    assert dialog.current_profile_id == first.id
    dialog.registry.remove(first.id)
    assert dialog.current_profile_id == "elsewhere"


async def test_a_locked_keyring_falls_back_to_memory_and_says_so(
    make_dialog: Callable[..., ProvidersDialog], openai_server_with_key: OpenAIServer
) -> None:
    from tests.core.test_keys import LockedKeyring

    store = KeyStore(backend=LockedKeyring())
    try:
        dialog = make_dialog(openai_server_with_key, store)
        dialog.add_preset("testsrv")
        await until(lambda: not dialog.tasks.running("load-key"))
        saved: list[str] = []
        dialog.key_saved.connect(lambda pid, where: saved.append(where))
        dialog.editor.key_edit.setText(TEST_API_KEY)
        dialog.save_button.click()
        await until(lambda: saved)
        assert saved == ["memory"]
        assert (
            "locked" in dialog.status_label.text().lower()
            and "memory" in dialog.status_label.text()
        )
        dialog.editor.key_edit.clear()
        ok, _ = await run_test_connection(dialog)
        assert ok
    finally:
        store.close()


async def test_dashboard_link_is_shown_escaped_and_only_for_http(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer
) -> None:
    dialog = make_dialog(openai_server)
    dialog.add_preset("testsrv")
    link = dialog.editor.dashboard_label
    assert link.isVisibleTo(dialog)
    assert 'href="https://example.org/keys?a=1&amp;b=&lt;2&gt;"' in link.text()
    dialog.add_preset("localsrv")
    assert not link.isVisibleTo(dialog)
    profile = dialog.registry.get("localsrv")
    assert profile is not None
    dialog.editor.load(profile.model_copy(update={"dashboard_url": "javascript:alert(1)"}))
    assert not link.isVisibleTo(dialog) and link.text() == ""


async def test_default_clients_reach_local_servers_directly_despite_a_proxy(
    qtbot: QtBot, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{_free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    make = client_factory_for(Settings(request_timeout=5))
    profile = ProviderProfile(
        id="local", name="Local", base_url=openai_server.base_url, key_required=False
    )
    result = await check_connection(profile, None, make)
    assert result.ok, result.headline


async def test_a_dialog_shown_again_reloads_the_registry_and_the_key(
    make_dialog: Callable[..., ProvidersDialog], openai_server: OpenAIServer, keys: KeyStore
) -> None:
    dialog = make_dialog(openai_server)
    first = dialog.add_preset("testsrv")
    assert first is not None
    dialog.reject()
    assert not dialog.isVisible()
    await keys.set(first.id, NOT_A_KEY)  # e.g. saved by another part of the app
    edited = first.model_copy(update={"name": "Renamed While Hidden"})
    dialog.registry.replace(edited)
    dialog.show()
    assert dialog.provider_list.currentItem().text() == "Renamed While Hidden"
    assert dialog.editor.name_edit.text() == "Renamed While Hidden"
    await until(lambda: dialog.editor.key_edit.text() == NOT_A_KEY)
    assert not dialog.dirty


async def test_connection_tests_are_reported_for_the_usage_ledger(
    make_dialog: Callable[..., ProvidersDialog],
    openai_server_with_key: OpenAIServer,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog = make_dialog(openai_server_with_key)
    calls: list[tuple[str, object, Exception | None]] = []
    dialog.on_call = lambda pid, listing, error: calls.append((pid, listing, error))
    provider_id = await add_with_key(dialog, "sk-test-wrong-key-000000")
    ok, _ = await run_test_connection(dialog)
    assert not ok
    assert calls[-1][0] == provider_id and calls[-1][2] is not None  # the 401, for the ledger
