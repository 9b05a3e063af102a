"""Benchmark of the compare panel (run from the repo root: python tests/bench/bench_compare.py).

Six models each stream 2,000 tokens at 500 tokens/s from the local OpenAI-compatible test
server (a subprocess, niced: it stands in for remote providers) into the real
``ComparePanel`` (offscreen, 1280 x 800, a 3 x 2 grid), through the app's own store, client
pool and chat flow on the qasync loop.

Three rounds, each:

1. alone: two of the six streams, one after the other, through the chat flow
   (``ChatSession.send``) into one conversation view; each one's wall time from send to the
   saved final answer (over the rounds every model is measured alone once).
2. together: all six as one comparison run; wall time from Run to the last column saved.
   A 5 ms heartbeat timer records the longest gap on the Qt thread, and how much of that
   gap was the Qt thread's own CPU (the rest is waiting: other processes on the cores).

``max_stall_ms`` = the median over the rounds of each run's longest stall (target < 50);
``wall_ratio`` = the median run wall time / the slowest single stream measured alone
(target <= 1.1). Per-round figures are printed and kept in the JSON (``stalls_ms``,
``wall_ratios``). The last line printed is one JSON object.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.api import ProviderProfile  # noqa: E402
from app.core.chat import AnswerDelta, AnswerFinished, ChatSession, MessageSaved, Target  # noqa: E402
from app.core.compare import ColumnSpec  # noqa: E402
from app.paths import AppPaths  # noqa: E402
from app.ui.chat.message_view import ConversationView  # noqa: E402
from app.ui.chat.messages import DisplayMessage, Role, Status  # noqa: E402
from app.ui.panels.compare import ComparePanel  # noqa: E402
from tests.helpers.app_context import open_context  # noqa: E402
from tests.helpers.bench_tools import Heartbeat, start_server  # noqa: E402
from tests.helpers.waiting import until  # noqa: E402

COLUMNS = 6
TOKENS = 2_000
RATE = 500
ROUNDS = 3
MODELS = [f"model-{i}?tokens={TOKENS}&rate={RATE}" for i in range(COLUMNS)]


async def alone(ctx, view: ConversationView, model: str) -> float:  # type: ignore[no-untyped-def]
    """One stream through the chat flow into one view, as the chat panel does it."""
    session = ChatSession(ctx.store, ctx.clients)
    t = time.perf_counter()
    answer_id = ""
    async for event in session.send("Stream a long answer.", Target("local", model)):
        if isinstance(event, AnswerDelta):
            view.append_delta(answer_id, event.text)
        elif isinstance(event, MessageSaved) and event.message.role == "assistant":
            answer_id = str(event.message.id)
            view.set_messages([DisplayMessage(answer_id, Role.ASSISTANT, status=Status.STREAMING)])
            view.start_stream(answer_id)
        elif isinstance(event, AnswerFinished):
            final = DisplayMessage(answer_id, Role.ASSISTANT, event.message.text, model=model)
            view.finish_stream(answer_id, final)
    return time.perf_counter() - t


async def run(app: QApplication, base_url: str, data: Path) -> dict[str, Any]:
    ctx = await open_context(AppPaths.from_root(data))
    ctx.registry.add(
        ProviderProfile(
            id="local", name="Local", base_url=base_url, kind="local", key_required=False
        )
    )
    try:
        panel = ComparePanel(ctx)
        panel.resize(1280, 800)
        panel.show()
        for model in MODELS:
            panel.add_model(Target("local", model))
        await (await ctx.clients.get("local")).list_models()  # a warm connection, as after start-up
        view = ConversationView()
        view.resize(420, 700)
        view.show()
        await asyncio.sleep(1.0)  # idle warm-up (lexers) as before anyone has typed
        gc.collect()
        gc.freeze()  # start-up objects are long-lived: keep them out of full GC passes

        alone_s: list[float] = []
        runs: list[tuple[float, float, float]] = []  # wall time, longest stall, its CPU
        per_round = COLUMNS // ROUNDS
        for r in range(ROUNDS):
            # Interleaved rounds: a machine whose load changes affects both sides alike.
            print(f"round {r + 1}/{ROUNDS}")
            mine = MODELS[r * per_round : (r + 1) * per_round]
            print(f"  1. {len(mine)} streams alone ({TOKENS:,} tokens at {RATE}/s), one by one ...")
            for model in mine:
                alone_s.append(await alone(ctx, view, model))
            print("     " + ", ".join(f"{s:.2f}" for s in alone_s[-len(mine) :]) + " s")
            print(f"  2. all {COLUMNS} at once in the compare panel (3 x 2 grid at 1280 px) ...")
            beat = Heartbeat()
            beat.start()
            t = time.perf_counter()
            panel.start("Stream a long answer.", [ColumnSpec(Target("local", m)) for m in MODELS])
            await until(lambda: panel.comparison is not None and not panel.busy, 60)
            together = time.perf_counter() - t
            await asyncio.sleep(0.1)  # the last frames
            stall = beat.stop()
            comparison = panel.comparison
            assert comparison is not None
            tokens = [c.figures().tokens for c in comparison.columns]
            statuses = {c.status.value for c in comparison.columns}
            print(f"     {together:.2f} s; tokens per column {tokens}; statuses {sorted(statuses)}")
            print(
                f"     longest Qt-thread stall (5 ms heartbeat gap) {stall:.1f} ms, of which "
                f"Qt-thread CPU {beat.worst_cpu:.1f} ms; {beat.beats} beats, "
                f"{beat.over_50} gaps >= 50 ms"
            )
            runs.append((together, stall, beat.worst_cpu))
        view.close()
        await panel.shutdown()
        panel.close()
        slowest = max(alone_s)
        return {
            "max_stall_ms": statistics.median(r[1] for r in runs),
            "wall_ratio": statistics.median(r[0] for r in runs) / slowest,
            "stall_cpu_ms": statistics.median(r[2] for r in runs),
            "stalls_ms": [round(r[1], 1) for r in runs],
            "wall_ratios": [round(r[0] / slowest, 3) for r in runs],
        }
    finally:
        await ctx.close()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    from app.ui.loop import QtLoop

    server, base_url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            loop = QtLoop(app, already_running=False)
            asyncio.set_event_loop(loop)
            try:
                figures = loop.run_until_complete(run(app, base_url, Path(tmp)))
            finally:
                loop.close()
                asyncio.set_event_loop(None)
    finally:
        server.kill()
        server.wait()
    print(
        f"  wall ratio {figures['wall_ratio']:.3f} (target <= 1.1), "
        f"max stall {figures['max_stall_ms']:.1f} ms (target < 50)"
    )
    figures["max_stall_ms"] = round(figures["max_stall_ms"], 1)
    figures["stall_cpu_ms"] = round(figures["stall_cpu_ms"], 1)
    figures["wall_ratio"] = round(figures["wall_ratio"], 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
