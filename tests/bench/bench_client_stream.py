"""Streaming throughput: 100,000 chat chunks from the local test server, consumed four ways.

    python tests/bench/bench_client_stream.py [--chunks N] [--repeat R]

1. raw: httpx ``aiter_lines`` (information: no parsing at all)
2. floor: httpx ``aiter_lines`` + ``json.loads`` of each chunk (the least a correct client does)
3. palaver: ``ApiClient.stream_chat`` (deltas, accumulation, usage, metadata)
4. sdk: the official ``openai`` SDK's ``AsyncOpenAI`` streaming

Each way streams the same request (same server, same pre-encoded bytes, loopback); the best
of ``--repeat`` runs counts (the SDK runs once unless ``--sdk-repeat`` says otherwise).
Targets: palaver >= 0.8x floor and >= 10x sdk. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from app.api import ApiClient, ProviderProfile  # noqa: E402
from tests.helpers.openai_server import OpenAIServer  # noqa: E402

MESSAGES = [{"role": "user", "content": "benchmark"}]


def payload(model: str) -> dict:
    return {
        "model": model,
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def run_raw(url: str, model: str, parse: bool) -> tuple[int, float]:
    loads = json.loads
    async with httpx.AsyncClient(timeout=60) as client:
        start = time.perf_counter()
        count = 0
        async with client.stream("POST", url, json=payload(model)) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    if parse:
                        loads(data)
                    count += 1
        return count, time.perf_counter() - start


async def run_palaver(base_url: str, model: str) -> tuple[int, float]:
    profile = ProviderProfile(id="bench", name="Bench", base_url=base_url)
    async with ApiClient(profile, "sk-bench") as client:
        start = time.perf_counter()
        async with client.stream_chat({"model": model, "messages": MESSAGES}) as stream:
            async for _delta in stream:
                pass
        elapsed = time.perf_counter() - start
        result = stream.result
        assert result.usage.completion_tokens > 0 and len(result.text) > 0
    return -1, elapsed


async def run_sdk(base_url: str, model: str) -> tuple[int, float]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    try:
        start = time.perf_counter()
        count = 0
        stream = await client.chat.completions.create(
            model=model, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        async for _chunk in stream:
            count += 1
        return count, time.perf_counter() - start
    finally:
        await client.close()


async def main(chunks: int, repeat: int, sdk_repeat: int) -> dict:
    model = f"gpt-bench?tokens={chunks}"
    with OpenAIServer() as server:
        url = server.base_url + "/chat/completions"
        total, _ = await run_raw(url, model, False)  # warm the server's pre-encoded stream
        best: dict[str, float] = {}
        for _ in range(repeat):
            for name, coro in (
                ("raw", lambda: run_raw(url, model, False)),
                ("floor", lambda: run_raw(url, model, True)),
                ("palaver", lambda: run_palaver(server.base_url, model)),
            ):
                _, elapsed = await coro()
                best[name] = min(best.get(name, float("inf")), elapsed)
        for _ in range(sdk_repeat):
            _, elapsed = await run_sdk(server.base_url, model)
            best["sdk"] = min(best.get("sdk", float("inf")), elapsed)
    rates = {name: total / seconds for name, seconds in best.items()}
    for name in ("raw", "floor", "palaver", "sdk"):
        print(
            f"{name:>8}: {rates[name]:>12,.0f} chunks/s  ({best[name]:.3f} s for {total:,} chunks)"
        )
    vs_floor = rates["palaver"] / rates["floor"]
    vs_sdk = rates["palaver"] / rates["sdk"]
    print(
        f"palaver / floor = {vs_floor:.2f}x (target >= 0.8x); palaver / sdk = {vs_sdk:.1f}x (target >= 10x)"
    )
    return {
        "chunks": total,
        "raw_chunks_per_s": round(rates["raw"]),
        "floor_chunks_per_s": round(rates["floor"]),
        "palaver_chunks_per_s": round(rates["palaver"]),
        "sdk_chunks_per_s": round(rates["sdk"]),
        "palaver_vs_floor": round(vs_floor, 3),
        "palaver_vs_sdk": round(vs_sdk, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sdk-repeat", type=int, default=1)
    args = parser.parse_args()
    figures = asyncio.run(main(args.chunks, args.repeat, args.sdk_repeat))
    print(json.dumps(figures))
