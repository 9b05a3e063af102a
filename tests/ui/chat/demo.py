"""Show the conversation view with sample content and a fake stream.

    python -m tests.ui.chat.demo [--messages 2000] [--tokens-per-s 200]

Links, images, retry and the other actions are printed instead of acted on (the app
implements them).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from PySide6.QtWidgets import QApplication

from app.ui.chat import ConversationView, DisplayMessage, Role, Status
from app.ui.loop import QtLoop
from tests.ui.chat.sample import ANSWER, LIVE, png, sample_conversation


async def fake_stream(view: ConversationView, rate: float) -> None:
    view.append_message(
        DisplayMessage(LIVE, Role.ASSISTANT, "", model="demo", status=Status.STREAMING)
    )
    view.start_stream(LIVE)
    text = ANSWER * 5
    words = text.split(" ")
    for i, word in enumerate(words):
        view.append_delta(LIVE, word + ("" if i == len(words) - 1 else " "))
        await asyncio.sleep(1 / rate)
    view.finish_stream(LIVE, DisplayMessage(LIVE, Role.ASSISTANT, text, model="demo"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--messages", type=int, default=0, help="extra history rows above the sample"
    )
    parser.add_argument("--tokens-per-s", type=float, default=200)
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    view = ConversationView()
    view.resize(900, 800)
    history = [
        DisplayMessage(i, Role.USER if i % 2 == 0 else Role.ASSISTANT, f"History message {i}")
        for i in range(args.messages)
    ]
    view.set_messages(history + sample_conversation())
    for name in (
        "link_activated",
        "older_requested",
        "delete_requested",
        "read_aloud_requested",
        "edit_requested",
        "regenerate_requested",
        "retry_requested",
        "branch_requested",
        "message_copied",
        "code_copied",
    ):
        getattr(view, name).connect(lambda *a, n=name: print(n, *a))
    view.image_requested.connect(lambda mid, url: view.set_image(url.toString(), png(200, 120)))
    view.show()

    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)

    async def run() -> None:
        await fake_stream(view, args.tokens_per_s)
        await closed.wait()

    with asyncio.Runner(loop_factory=lambda: QtLoop(app, already_running=False)) as runner:
        runner.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
