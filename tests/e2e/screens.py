"""Drive the real main window through its main views and save screenshots.

Run by ``test_screens.py`` under Xvfb (a real X server, the ``xcb`` platform), or by hand:
``python -m tests.e2e.screens OUT_DIR``. Look at the PNGs.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from app.core.chat import Target
from app.core.prompts import AssistantSetup
from app.paths import AppPaths
from app.ui.appearance import apply_appearance
from app.ui.loop import QtLoop
from app.ui.main_window import LAZY_PANELS, MainWindow
from tests.helpers.app_context import local_provider, open_context
from tests.helpers.openai_server import OpenAIServer
from tests.helpers.waiting import until

PROMPTS = ("Explain Python decorators with an example", "And a table of pros and cons?")


def save(widget: QWidget, out: Path, name: str) -> None:
    widget.grab().save(str(out / f"{name}.png"))
    print(out / f"{name}.png")


async def tour(out: Path) -> None:
    ctx = await open_context(AppPaths.from_root(Path(tempfile.mkdtemp(prefix="palaver-screens-"))))
    apply_appearance(ctx.settings.get())
    window = MainWindow(ctx)
    window.resize(1280, 800)
    window.show()
    await asyncio.sleep(0.4)
    save(window, out, "01-welcome")
    with OpenAIServer() as server:
        ctx.registry.add(local_provider(server, name="Local server"))
        ctx.settings.update(default_provider="local", default_model="gpt-test?tokens=300&rate=3000")
        window.chat.refresh_providers()
        for prompt in PROMPTS:
            window.chat.composer.set_text(prompt)
            window.chat.composer.on_send_clicked()
            await until(lambda: not window.chat.composer.busy, 20)
        await asyncio.sleep(0.3)
        save(window, out, "02-chat")
        window.chat.params_button.click()
        await asyncio.sleep(0.2)
        save(window, out, "03-chat-parameters")
        window.chat.params_button.click()
        window.chat.set_target(Target("local", "gpt-test?fault=402"))
        window.chat.composer.set_text("One more?")
        window.chat.composer.on_send_clicked()
        await until(lambda: not window.chat.composer.busy, 20)
        await asyncio.sleep(0.3)
        save(window, out, "04-chat-error")
        window.chat.set_target(Target("local", "gpt-test?fault=429&times=1&retry_after=20"))
        window.chat.composer.set_text("Worth the wait?")
        window.chat.composer.on_send_clicked()
        await until(window.chat.wait_notice.isVisible, 20)
        await asyncio.sleep(0.3)
        save(window, out, "04-chat-waiting")
        window.chat.wait_notice.retry_button.click()
        await until(lambda: not window.chat.composer.busy, 20)
        window.chat.set_target(Target("local", "gpt-test?math=12"))
        window.chat.composer.set_text("Show me the maths")
        window.chat.composer.on_send_clicked()
        await until(lambda: not window.chat.composer.busy, 20)
        await asyncio.sleep(0.3)
        save(window, out, "04-chat-math")
        await ctx.prompts.save_prompt("Summarise", "Summarise this in three bullet points:")
        await ctx.prompts.save_prompt("Explain like I'm five", "Explain this simply:")
        await ctx.prompts.save_assistant(
            "Python tutor",
            AssistantSetup("You teach Python patiently.", {}, "local", "gpt-test"),
        )
        window.chat.composer.input.setFocus()
        window.chat.composer.set_text("/")
        await asyncio.sleep(0.3)
        save(window, out, "04-chat-prompt-menu")
        window.chat.composer.set_text("")
        window.chat.model_button.click()
        await asyncio.sleep(0.5)
        save(window.chat.picker_popup, out, "04-chat-model-picker")
        window.chat.picker_popup.hide()
        ctx.settings.update(theme="dark")
        await asyncio.sleep(0.3)
        save(window, out, "05-chat-dark")
        window.chat.composer.set_text("/")
        await asyncio.sleep(0.3)
        save(window, out, "05-chat-prompt-menu-dark")
        window.chat.composer.set_text("")
        window.sidebar.search.setText("decorators")
        await asyncio.sleep(0.6)
        save(window, out, "06-search")
        ctx.settings.update(theme="light")
        for number, (key, _title) in enumerate(LAZY_PANELS, start=7):
            window.show_panel(key)
            await asyncio.sleep(0.5)
            save(window, out, f"{number:02d}-{key}")
    await window.shutdown()
    await ctx.close()


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with asyncio.Runner(loop_factory=lambda: QtLoop(app, already_running=False)) as runner:
        runner.run(tour(out))
    print(f"platform={QApplication.platformName()}")


if __name__ == "__main__":
    main()
