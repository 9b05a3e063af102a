"""The streaming benchmark still runs (tiny size; the real figures come from running it)."""

from __future__ import annotations

from tests.bench.bench_client_stream import main


async def test_benchmark_runs_small() -> None:
    figures = await main(chunks=2000, repeat=1, sdk_repeat=1)
    assert figures["chunks"] == 2003  # role + 2000 tokens + finish + usage
    for key in (
        "raw_chunks_per_s",
        "floor_chunks_per_s",
        "palaver_chunks_per_s",
        "sdk_chunks_per_s",
    ):
        assert figures[key] > 0
