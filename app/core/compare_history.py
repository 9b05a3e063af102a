"""What the compare panel shows besides a live run: past runs, the leaderboard with model
speeds, and the models chosen last time (``compare-models.json``), as plain data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app import log
from app.core.chat import Target
from app.core.compare import ColumnSpec
from app.core.leaderboard import Standing, leaderboard
from app.settings import write_atomic
from app.store import Store
from app.store.compare_queries import (
    ModelSpeed,
    RunSummary,
    model_speeds,
    run_summaries,
    voted_runs,
)

__all__ = [
    "MODELS_FILE",
    "Board",
    "ModelSpeed",
    "RunSummary",
    "board",
    "load_models",
    "recent_runs",
    "save_models",
]

_log = log.get("core.compare")

MODELS_FILE = "compare-models.json"


@dataclass(frozen=True, slots=True)
class Board:
    """The leaderboard of a period: standings from votes, speeds from every answer."""

    standings: list[Standing]
    speeds: list[ModelSpeed]
    voted_runs: int


def recent_runs(store: Store, limit: int) -> list[RunSummary]:
    """The newest runs, newest first (a quick indexed read, fine on the Qt thread)."""
    return store.read_now(run_summaries, limit)


async def board(store: Store, since: float | None) -> Board:
    """Standings and speeds of the runs since ``since`` (a timestamp; None: all time)."""
    runs = await store.read(voted_runs, since)
    speeds = await store.read(model_speeds, since)
    return Board(leaderboard(runs), speeds, len(runs))


def save_models(config_dir: Path, specs: list[ColumnSpec]) -> None:
    """Keep the chosen models with their overrides for the next time (a full disk logs)."""
    data = [
        {
            "provider": s.target.provider_id,
            "model": s.target.model,
            "params": s.params,
            "system_prompt": s.system_prompt,
        }
        for s in specs
    ]
    try:
        write_atomic(config_dir / MODELS_FILE, json.dumps(data, indent=1))
    except OSError as exc:
        _log.warning("compare models not saved: %s", exc)


def load_models(config_dir: Path) -> list[ColumnSpec]:
    """The models saved last time (none when the file is missing or unreadable)."""
    try:
        data = json.loads((config_dir / MODELS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        _log.warning("compare models not read: %s", exc)
        return []
    if not isinstance(data, list):
        return []
    return [
        ColumnSpec(
            Target(str(d["provider"]), str(d["model"])),
            dict(d.get("params") or {}),
            d.get("system_prompt"),
        )
        for d in data
        if isinstance(d, dict) and d.get("model")
    ]
