"""Blobs, comparison runs, images, speech and transcriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import NotFoundError, Store


async def test_blobs_are_content_addressed(store: Store, tmp_path: Path) -> None:
    ref = await store.put_blob(b"hello image", "image/png")
    path = store.blob_path(ref)
    assert path.read_bytes() == b"hello image"
    assert path.parent.name == ref.sha256[:2] and path.name == ref.sha256[2:]
    again = await store.put_blob(b"hello image", "image/png")
    assert again == ref
    source = tmp_path / "clip.wav"
    source.write_bytes(b"x" * 3_000_000)
    big = await store.put_blob(source, "audio/wav")
    assert big.size == 3_000_000 and store.blob_path(big).read_bytes() == source.read_bytes()
    assert not list(store.paths.blobs.rglob(".tmp-*"))
    with pytest.raises(ValueError):
        store.blob_path("../../etc/passwd")


async def test_comparison_run(store: Store) -> None:
    conv = await store.create_conversation("Compare")
    answer = await store.add_message(conv.id, "assistant", "Answer A", model="a")
    run = await store.add_comparison(
        "Which is faster?",
        [
            {"model": "a", "provider": "p1", "message_id": answer.id},
            {"model": "b", "metadata": {"latency_s": 1.2}},
        ],
        params={"temperature": 0},
    )
    assert [a.model for a in run.answers] == ["a", "b"] and run.answers[1].metadata == {
        "latency_s": 1.2
    }
    await store.update_comparison_answer(run.answers[1].id, metadata={"latency_s": 1.3})
    await store.vote_comparison(run.id, {"winner": run.answers[0].id})
    saved = store.get_comparison(run.id)
    assert saved.vote == {"winner": run.answers[0].id} and saved.answers[1].metadata == {
        "latency_s": 1.3
    }
    assert [r.id for r in store.list_comparisons()] == [run.id]
    with pytest.raises(NotFoundError):
        await store.vote_comparison(999, None)


async def test_images_speech_transcriptions(store: Store) -> None:
    png = await store.put_blob(b"png-bytes", "image/png")
    image = await store.add_image_generation(
        "a red fox", [png], model="img-1", params={"size": "1024x1024"}
    )
    assert image.images == [png] and image.params == {"size": "1024x1024"}
    mp3 = await store.put_blob(b"mp3-bytes", "audio/mpeg")
    speech = await store.add_speech("Hello", mp3, voice="alloy", format="mp3", cost=0.0001)
    assert speech.audio == mp3 and speech.voice == "alloy"
    wav = await store.put_blob(b"wav-bytes", "audio/wav")
    tr = await store.add_transcription(
        "hello world", wav, segments=[{"start": 0, "end": 1, "text": "hello"}]
    )
    assert tr.source == wav and tr.segments[0]["text"] == "hello"
    assert [i.id for i in store.list_image_generations()] == [image.id]
    assert [i.id for i in store.list_speech()] == [speech.id]
    assert [i.id for i in store.list_transcriptions()] == [tr.id]
