"""Start-up and the once-only, ordered shutdown of the Qt application."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from app import APP_NAME, __version__, log
from app.core.context import AppContext
from app.paths import AppPaths, resource_path
from app.store import StoreOpenError
from app.ui.appearance import application_args, apply_appearance
from app.ui.collector import GarbageCollector
from app.ui.loop import QtLoop
from app.ui.main_window import MainWindow

_log = log.get("ui.app")


def run(args: argparse.Namespace) -> int:
    """Create the QApplication, run the qasync loop until the window closes, return an exit code."""
    started = time.perf_counter()
    paths = (AppPaths.from_root(args.data_dir) if args.data_dir else AppPaths.default()).ensure()
    log.setup(paths.logs, logging.DEBUG if args.debug else logging.INFO)
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationDisplayName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setOrganizationName(APP_NAME)
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        qt_app = existing
    else:
        qt_app = QApplication(application_args(sys.argv[:1]))
    qt_app.setWindowIcon(QIcon(str(resource_path("icons", "palaver.svg"))))
    QGuiApplication.setDesktopFileName("org.palaver.Palaver")  # Wayland matches windows to it
    # The loop ends when _main returns, after the ordered shutdown; Qt quitting on its own
    # when the window closes would stop the loop mid-shutdown.
    qt_app.setQuitOnLastWindowClosed(False)

    def factory() -> QtLoop:
        return QtLoop(qt_app, already_running=False)

    collector = GarbageCollector(qt_app)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_main(paths, smoke_test=args.smoke_test, started=started))
    finally:
        collector.stop()


async def _smoke_test(window: MainWindow, started: float) -> None:
    """Say when the window is interactive (painted, loop idle: benchmarks time this line) and
    when the engine has loaded behind it, with the longest the Qt thread went unanswered
    meanwhile; then leave through the normal, ordered path."""
    QTimer.singleShot(0, lambda: print("palaver: interactive", flush=True))
    gaps = [0.0]
    last = time.perf_counter()

    def beat() -> None:
        nonlocal last
        now = time.perf_counter()
        gaps.append(now - last)
        last = now

    heartbeat = QTimer(window, interval=5)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    await window.engine_ready.wait()
    heartbeat.stop()
    ready_ms = (time.perf_counter() - started) * 1000
    print(f"palaver: ready {ready_ms:.0f} ms, longest stall {max(gaps) * 1000:.0f} ms", flush=True)
    await asyncio.sleep(0.05)
    window.close()


async def _main(paths: AppPaths, *, smoke_test: bool, started: float) -> int:
    try:
        ctx = await AppContext.open(paths)
    except StoreOpenError as exc:
        _log.error("cannot open the history: %s", exc)
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, APP_NAME, f"Palaver cannot open its history folder.\n\n{exc}")
        return 1
    try:
        apply_appearance(ctx.settings.get())
        window = MainWindow(ctx)
        closed = asyncio.Event()
        window.closed.connect(closed.set)
        window.show()
        _log.info("window shown %.0f ms after start", (time.perf_counter() - started) * 1000)
        window.tasks.start("finish-start", window.finish_start())
        if smoke_test:
            window.tasks.start("smoke-test", _smoke_test(window, started))
        await closed.wait()
        await window.shutdown()
    finally:
        await ctx.close()
    _log.info("shut down cleanly")
    return 0
