"""The client on the app's own qasync loop (the loop the UI runs it on)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.api import ApiClient, ProviderProfile, StreamInterruptedError
from tests.helpers.openai_server import OpenAIServer

HELLO = [{"role": "user", "content": "Hi from Qt"}]


async def test_streams_on_the_qasync_loop(qapp: Any, openai_server: OpenAIServer) -> None:
    assert type(asyncio.get_running_loop()).__name__ == "QtLoop"
    profile = ProviderProfile(id="q", name="Q", base_url=openai_server.base_url)
    async with ApiClient(profile) as client:
        async with client.stream_chat(
            {"model": "gpt-test?tokens=300", "messages": HELLO}
        ) as stream:
            count = sum([1 async for d in stream if d.content])
        assert count == 300 and stream.result.usage.completion_tokens == 300
        # leaving early, and a dropped stream, both close cleanly on this loop
        async with client.stream_chat(
            {"model": "gpt-test?tokens=300", "messages": HELLO}
        ) as stream:
            async for _delta in stream:
                break
        with pytest.raises(StreamInterruptedError):
            async with client.stream_chat(
                {"model": "gpt-test?fault=drop", "messages": HELLO}
            ) as stream:
                async for _delta in stream:
                    pass
        assert (await client.chat({"model": "gpt-test", "messages": HELLO})).text
