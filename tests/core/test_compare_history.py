"""The compare panel's plain data from core: past runs, the board, the saved models."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.core.chat import Target
from app.core.compare import ColumnSpec
from app.core.compare_history import MODELS_FILE, board, load_models, recent_runs, save_models
from app.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path, daily_backup=False) as s:
        yield s


async def _run(store: Store, models: list[str], winner: int | None) -> int:
    conversation = await store.create_conversation("c")
    answers = []
    for model in models:
        message = await store.add_message(conversation.id, "assistant", f"answer of {model}")
        answers.append({"model": model, "provider": "p", "message_id": message.id})
    run = await store.add_comparison("prompt", answers)
    if winner is not None:
        await store.vote_comparison(run.id, {"winner": run.answers[winner].id, "tie": False})
    return run.id


async def test_board_and_recent_runs_from_a_real_store(store: Store) -> None:
    first = await _run(store, ["a", "b"], 0)
    second = await _run(store, ["a", "b"], None)  # no vote: listed, not on the board
    data = await board(store, None)
    assert data.voted_runs == 1
    assert data.standings[0].model == "p/a"
    assert [r.run_id for r in recent_runs(store, 10)] == [second, first]
    assert (await board(store, time.time() + 60)).voted_runs == 0


def test_saved_models_round_trip_and_bad_files_give_none(tmp_path: Path) -> None:
    specs = [
        ColumnSpec(Target("p", "a"), {"temperature": 0.2}, "Be brief."),
        ColumnSpec(Target("q", "b"), {}, None),
    ]
    save_models(tmp_path, specs)
    assert load_models(tmp_path) == specs
    (tmp_path / MODELS_FILE).write_text("{not json")
    assert load_models(tmp_path) == []
    (tmp_path / MODELS_FILE).write_text('[{"provider": "p"}, 3, {"provider": "p", "model": "m"}]')
    assert [s.target for s in load_models(tmp_path)] == [Target("p", "m")]
    assert load_models(tmp_path / "missing") == []
