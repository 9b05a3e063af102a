"""Run by test_crash.py in a subprocess: writes into a store until it is SIGKILLed.

Prints ``READY``, ``COMPLETE <id>`` after each committed message, ``STREAM <id>`` when a
streamed answer starts, and ``FLUSHED <id> <chars>`` each time streamed text is known to be
committed. Texts are deterministic so the parent can check what survived.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from app.store import Store


def complete_text(run: int, index: int) -> str:
    return f"run {run} message {index}: " + "complete sentence. " * 40


def chunk(index: int) -> str:
    return f"chunk{index:05d} "


async def main(data: Path, run: int, completes: int) -> None:
    store = await Store.open(data, stream_interval=0.02, daily_backup=False)
    print("READY", flush=True)
    conv = await store.create_conversation(f"run {run}")
    for index in range(completes):
        msg = await store.add_message(
            conv.id, "user" if index % 2 == 0 else "assistant", complete_text(run, index)
        )
        print(f"COMPLETE {msg.id}", flush=True)
    msg = await store.start_message(conv.id, model="m")
    print(f"STREAM {msg.id}", flush=True)
    text = ""
    index = 0
    while True:
        text += chunk(index)
        index += 1
        store.update_streaming(msg.id, text)  # throttled writes in between
        if index % 10 == 0:
            await store.flush_streaming(msg.id)
            print(f"FLUSHED {msg.id} {len(text)}", flush=True)
        await asyncio.sleep(0.001)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
