"""Full-text search: snippets, ranking, filters, titles, transcripts and image prompts."""

from __future__ import annotations

import sqlite3

import pytest

from app.store import SearchFilters, Store, search
from app.store.search import build_match


def test_build_match_is_safe() -> None:
    assert build_match("sort list") == '"sort" "list"*'
    assert build_match('"stable sort" python ') == '"stable sort" "python"'
    assert build_match("so") == '"so"'  # no prefix search below 3 letters
    assert build_match("x-ray") == '"x ray"*'
    assert build_match("  ") is None
    assert build_match("()") is None
    # Whatever a user types is a valid query: FTS5 syntax is never interpreted.
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
    conn.execute("INSERT INTO t VALUES ('near or not, c++ and x-ray')")
    for typed in [
        'NEAR(a b) OR -x "',
        "c++",
        'x-ray "unclosed',
        "a AND OR NOT",
        "*",
        "col:x",
        "^start",
        "é ü 東京",
    ]:
        match = build_match(typed)
        if match is not None:
            conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (match,)).fetchone()
    assert (
        conn.execute("SELECT count(*) FROM t WHERE t MATCH ?", (build_match("x-ray"),)).fetchone()[
            0
        ]
        == 1
    )


async def test_snippets_rank_and_filters(store: Store) -> None:
    py = await store.create_conversation("Python sorting", model="gpt-4o", provider="openai")
    await store.add_message(py.id, "user", "How do I sort a list of dicts by a key?")
    await store.add_message(
        py.id,
        "assistant",
        "Use sorted with a key function; sorting is stable.",
        model="gpt-4o",
        provider="openai",
    )
    other = await store.create_conversation("Cooking")
    await store.add_message(other.id, "user", "A recipe for <b>bread</b> that uses sorted flour")
    await store.add_message(
        other.id, "assistant", "Bread needs flour.", model="llama3", provider="local"
    )

    hits = await store.search("sorted", SearchFilters(kinds=("message",)))
    assert {h.kind for h in hits} == {"message"}
    assert len(hits) == 3  # stemming: sort, sorted, sorting
    top = hits[0]
    assert any(hit and text.lower().startswith("sort") for text, hit in top.fragments)
    assert "<b>sorted</b>" in top.snippet_html() or "<b>Sorted</b>" in top.snippet_html()
    escaped = next(h for h in await store.search("bread") if h.role == "user").snippet_html()
    assert (
        escaped == "A recipe for &lt;b&gt;<b>bread</b>&lt;/b&gt; that uses sorted flour"
    )  # text escaped

    # Porter stemming: "sorting" finds "sort", and titles are searched too.
    kinds = {h.kind for h in await store.search("sorting")}
    assert kinds == {"message", "conversation"}

    only_local = await store.search("flour", SearchFilters(provider="local"))
    assert [h.role for h in only_local] == ["assistant"]
    only_user = await store.search("flour", SearchFilters(role="user"))
    assert [h.conversation_id for h in only_user] == [other.id] and only_user[0].role == "user"
    assert await store.search("flour", SearchFilters(model="gpt-4o")) == []
    assert await store.search("flour", SearchFilters(since=4_000_000_000)) == []
    assert len(await store.search("flour", SearchFilters(until=4_000_000_000))) == 2
    in_py = await store.search("sort", SearchFilters(conversation_id=py.id, kinds=("message",)))
    assert {h.conversation_id for h in in_py} == {py.id}
    # Prefix search while typing.
    assert await store.search("recip")


async def test_streaming_text_is_indexed_once_finished(store: Store) -> None:
    conv = await store.create_conversation("Stream")
    msg = await store.start_message(conv.id)
    store.update_streaming(msg.id, "quasar partial")
    await store.flush_streaming()
    assert await store.search("quasar") == []
    await store.finish_message(msg.id, "quasar complete answer")
    hits = await store.search("quasar")
    assert [h.id for h in hits] == [msg.id]
    assert "complete" in hits[0].snippet
    # Edits of a finished message keep the index consistent (old words gone).
    await store.finish_message(msg.id, "nebula now")
    assert await store.search("quasar") == []
    assert [h.id for h in await store.search("nebula")] == [msg.id]
    await store.delete_conversation(conv.id)
    assert await store.search("nebula") == []
    assert await store.check() == "ok"


async def test_transcripts_and_image_prompts_are_searchable(store: Store) -> None:
    audio = await store.put_blob(b"RIFF....WAVE", "audio/wav")
    await store.add_transcription(
        "The quarterly meeting starts at noon",
        audio,
        segments=[{"start": 0.0, "end": 2.0}],
        model="whisper-1",
    )
    png = await store.put_blob(b"\x89PNG fake", "image/png")
    await store.add_image_generation("A lighthouse at dusk, oil painting", [png], model="dall-e-3")
    assert [h.kind for h in await store.search("quarterly")] == ["transcription"]
    image_hits = await store.search("lighthouse")
    assert [h.kind for h in image_hits] == ["image"] and image_hits[0].title.startswith("Image: ")
    assert await store.search("lighthouse", SearchFilters(model="whisper-1")) == []


async def test_common_words_rank_the_newest_matches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "RANKED_CANDIDATES", 5)
    conv = await store.create_conversation("Many")
    ids = [
        (await store.add_message(conv.id, "user", f"common word number {i}")).id for i in range(12)
    ]
    hits = await store.search("common", SearchFilters(kinds=("message",)), limit=50)
    assert sorted(h.id for h in hits) == ids[-5:]
    # With a filter, the newest five that pass the filter are ranked.
    for i in range(3):
        await store.add_message(conv.id, "assistant", f"common answer {i}")
    users = await store.search("common", SearchFilters(role="user"), limit=50)
    assert sorted(h.id for h in users) == ids[-5:]


async def test_snippets_read_as_words_not_markdown(store: Store) -> None:
    chat = await store.create_conversation("Notes")
    await store.add_message(
        chat.id, "assistant", "## Result\n- [x] **Quokka** is in [the zoo](https://zoo.test)"
    )
    (hit,) = await store.search("quokka", SearchFilters(kinds=("message",)))
    assert hit.snippet == "Result Quokka is in the zoo"
    assert [text for text, marked in hit.fragments if marked] == ["Quokka"]
