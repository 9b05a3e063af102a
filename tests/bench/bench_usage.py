"""Usage dashboard benchmark: the 30-day view and a change of grouping over a big ledger.

Run from the repository root: ``python tests/bench/bench_usage.py``. It bulk-generates
1,000,000 ledger rows (half a year of calls ending now, 12 models of 5 providers, every
endpoint, 10 % estimated) straight into a store database in a temporary directory (the real
schema, roll-ups and latency histogram), opens the store and the real `UsagePanel`
offscreen at 1200x800, and measures:

- ``render_30d_ms``: from choosing "Last 30 days" (coming from "Last 7 days") until the
  totals, both charts, the latency table and the recent-calls table are filled and the
  panel has painted (median of 7);
- ``regroup_ms``: from changing "Stack by" until both charts are rebuilt and painted
  (median of 9).

The last line is one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from app.store import Store, ledger, usage_queries

ROWS = 1_000_000
DAYS = 180
MODELS = [
    ("openai", "gpt-4o", "chat"), ("openai", "gpt-4o-mini", "chat"), ("openai", "tts-1", "speech"),
    ("openai", "whisper-1", "transcriptions"), ("openai", "text-embedding-3-small", "embeddings"),
    ("stansa", "stansa-4.0", "chat"), ("stansa", "gpt-4.1-unfiltered", "chat"),
    ("stansa", "stansa-g4", "chat"), ("spafe", "flux", "images"), ("spafe", "llama-3.3-70b", "chat"),
    ("openrouter", "mistral-large", "chat"), ("local", "qwen2.5-7b", "chat"),
]  # fmt: skip


def log(text: str) -> None:
    print(text, flush=True)


def ledger_rows(now: float) -> Iterator[tuple[object, ...]]:
    """Columns drawn with numpy (row-by-row random calls would dominate the run)."""
    g = np.random.default_rng(9)
    n = ROWS
    ts = np.sort(now - g.random(n) * DAYS * 86400).tolist()
    which = g.integers(0, len(MODELS), n)
    endpoint = np.asarray([m[2] for m in MODELS])[which]
    tokens = np.isin(endpoint, ["chat", "embeddings"])
    prompt = np.where(tokens, g.integers(10, 4000, n), 0)
    completion = np.where(endpoint == "chat", g.integers(5, 1500, n), 0)
    chars = np.where(endpoint == "speech", g.integers(10, 900, n), 0).tolist()
    seconds = np.where(endpoint == "transcriptions", g.random(n) * 60, 0.0).tolist()
    images = (endpoint == "images").astype(int).tolist()
    cost = ((prompt * 2.5 + completion * 10) / 1e6 + np.asarray(images) * 0.04).tolist()
    local = np.asarray([m[0] == "local" for m in MODELS])[which].tolist()
    costs = [None if free else c for free, c in zip(local, cost, strict=True)]
    estimated = (g.random(n) < 0.1).astype(int).tolist()
    status = np.where(g.random(n) < 0.02, "error:RateLimitError", "ok").tolist()
    latency = g.lognormal(0.0, 0.6, n).tolist()
    ttft = np.where(endpoint == "chat", g.lognormal(-1.5, 0.5, n), np.nan).tolist()
    ttft = [None if t != t else t for t in ttft]  # NaN -> NULL
    providers = [MODELS[i][0] for i in which.tolist()]
    models = [MODELS[i][1] for i in which.tolist()]
    nothing = [None] * n
    return zip(
        ts, providers, models, endpoint.tolist(), prompt.tolist(), completion.tolist(), chars,
        seconds, images, costs, estimated, status, latency, ttft, nothing, nothing, nothing,
        nothing, strict=True,
    )  # fmt: skip


async def build(data: Path) -> None:
    store = await Store.open(data, daily_backup=False)  # the real schema, then closed
    await store.close()
    conn = sqlite3.connect(data / "palaver.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # a throwaway database being generated
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -400000")
    conn.execute("BEGIN")
    ledger.bulk_insert_rows(conn, ledger_rows(time.time()))
    usage_queries.ensure_schema(conn)  # creates the latency histogram and back-fills it
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


async def measure(root: Path) -> dict[str, float]:
    from PySide6.QtWidgets import QApplication

    from app.api.presets import load_presets
    from app.paths import AppPaths
    from app.ui.panels.usage import UsagePanel
    from tests.helpers.app_context import open_context

    ctx = await open_context(AppPaths.from_root(root))
    for profile in load_presets():
        if profile.id in ("openai", "stansa", "spafe", "openrouter"):
            ctx.registry.add(profile)
    panel = UsagePanel(ctx)
    panel.resize(1200, 800)
    panel.show()
    loaded = asyncio.Event()
    calls = asyncio.Event()
    panel.refreshed.connect(loaded.set)
    panel.calls_loaded.connect(calls.set)

    async def settle(action: object) -> float:
        loaded.clear()
        calls.clear()
        start = time.perf_counter()
        action()  # type: ignore[operator]
        await loaded.wait()
        await calls.wait()
        panel.repaint()  # offscreen: paints synchronously
        return (time.perf_counter() - start) * 1000

    await settle(panel.refresh)  # warm up: first queries, schema check, chart objects
    QApplication.processEvents()
    render = []
    for _ in range(7):
        await settle(lambda: panel.set_range("7d"))
        render.append(await settle(lambda: panel.set_range("30d")))
    log(f"  30-day view: {', '.join(f'{v:.0f}' for v in render)} ms")
    regroup = []
    groups = ["provider", "endpoint", "model"]
    for i in range(9):
        start = time.perf_counter()
        panel.set_group(groups[i % 3])
        panel.repaint()
        regroup.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.01)
    log(f"  regroup: {', '.join(f'{v:.0f}' for v in regroup)} ms")
    rows = len(panel.summary.rows)
    log(
        f"  daily roll-up rows behind the view: {rows:,}; calls shown: {panel.calls_model.rowCount():,}"
    )
    await panel.shutdown()
    await ctx.close()
    return {
        "render_30d_ms": round(statistics.median(render), 1),
        "regroup_ms": round(statistics.median(regroup), 1),
    }


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.ui.loop import loop_factory

    with tempfile.TemporaryDirectory(prefix="palaver-bench-usage-") as tmp:
        root = Path(tmp)
        data = root / "data"
        log(f"Generating {ROWS:,} ledger rows over {DAYS} days into a store in {tmp} ...")
        started = time.perf_counter()
        asyncio.run(build(data))
        size = (data / "palaver.sqlite3").stat().st_size / 1e6
        log(f"  built in {time.perf_counter() - started:.1f} s ({size:.0f} MB)")
        log(
            "Opening the usage panel offscreen (1200x800) and timing the 30-day view and regrouping ..."
        )
        app = QApplication.instance() or QApplication([])
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            result = runner.run(measure(root))
        del app
    print(json.dumps(result))


if __name__ == "__main__":
    main()
