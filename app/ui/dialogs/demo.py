"""A small window that wires the provider and settings UI the way the app does.

Run ``python -m app.ui.dialogs.demo --data-dir /tmp/palaver-demo`` to try the welcome
panel, the providers dialog, the settings dialog and the model picker on a throwaway
profile; ``--screenshots DIR`` saves a PNG of each and exits (used by a test).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QMainWindow, QTabWidget, QWidget

from app.core.keys import KeyStore
from app.core.models_cache import ModelsCache
from app.core.providers import ProviderRegistry
from app.paths import AppPaths
from app.settings import SettingsStore
from app.ui.appearance import apply_appearance
from app.ui.dialogs.common import named
from app.ui.dialogs.providers import ProvidersDialog, default_presets
from app.ui.dialogs.settings import SettingsDialog
from app.ui.dialogs.welcome import WelcomePanel
from app.ui.loop import QtLoop
from app.ui.settings_notifier import SettingsNotifier
from app.ui.widgets.model_picker import ModelPicker


class DemoWindow(QMainWindow):
    """Welcome and model picker as tabs; dialogs opened non-modally on request."""

    def __init__(self, paths: AppPaths) -> None:
        super().__init__()
        self.settings = SettingsStore.load(paths.settings_file)
        self.registry = ProviderRegistry.load(paths.providers_file)
        self.keys = KeyStore()
        self.models = ModelsCache(paths.cache / "models")
        self.presets = default_presets()
        self.notifier = SettingsNotifier(self.settings, self)
        self.welcome = WelcomePanel(self.registry, self.presets)
        self.picker = ModelPicker(self.registry, self.models)
        tabs = named(QTabWidget(), "demoTabs", "Demo")
        tabs.addTab(self.welcome, "Welcome")
        tabs.addTab(self.picker, "Models")
        self.setCentralWidget(tabs)
        self.setWindowTitle("Palaver: providers demo")
        self.resize(960, 640)
        self._dialogs: list[QWidget] = []
        self.closed = asyncio.Event()
        self._connect_signals()
        apply_appearance(self.settings.get())

    def _connect_signals(self) -> None:
        self.welcome.providers_requested.connect(self.open_providers)
        self.welcome.settings_requested.connect(self.open_settings)
        self.picker.model_chosen.connect(self.on_picker_model_chosen)
        self.notifier.changed.connect(self.on_settings_changed)

    def open_providers(self) -> ProvidersDialog:
        dialog = ProvidersDialog(
            self.registry,
            self.keys,
            self,
            presets=self.presets,
            models_cache=self.models,
            settings=self.settings.get(),
        )
        self._dialogs.append(dialog)
        dialog.show()
        return dialog

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self.registry, self.models, self)
        dialog.providers_requested.connect(self.open_providers)
        self._dialogs.append(dialog)
        dialog.show()
        return dialog

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        self.closed.set()

    def on_picker_model_chosen(self, provider_id: str, model: str) -> None:
        self.settings.update(default_provider=provider_id, default_model=model)

    def on_settings_changed(self, settings: object, changed: frozenset[str]) -> None:
        apply_appearance(self.settings.get())
        self.statusBar().showMessage(f"Changed: {', '.join(sorted(changed))}", 3000)


async def _run(paths: AppPaths, screenshots: Path | None) -> int:
    window = DemoWindow(paths)
    window.show()
    try:
        if screenshots is None:
            await window.closed.wait()
            return 0
        await asyncio.sleep(0.3)
        window.grab().save(str(screenshots / "welcome.png"))
        providers = window.open_providers()
        await asyncio.sleep(0.3)
        providers.grab().save(str(screenshots / "providers.png"))
        providers.close()
        settings = window.open_settings()
        await asyncio.sleep(0.1)
        settings.grab().save(str(screenshots / "settings.png"))
        settings.close()
        window.close()
        return 0
    finally:
        window.welcome.tasks.cancel_all()
        window.keys.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="a throwaway profile directory"
    )
    parser.add_argument("--screenshots", type=Path, help="save PNGs here and exit")
    args = parser.parse_args(argv)
    paths = AppPaths.from_root(args.data_dir).ensure()
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])

    def factory() -> QtLoop:
        return QtLoop(qt_app, already_running=False)

    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(_run(paths, args.screenshots))


if __name__ == "__main__":
    raise SystemExit(main())
