"""Branch positions ("2/3") for a page, and replacing a message's parts."""

from __future__ import annotations

from pathlib import Path

from app.store import Store


async def test_branch_positions_and_parts(tmp_path: Path) -> None:
    store = await Store.open(tmp_path, daily_backup=False)
    try:
        conversation = await store.create_conversation("t")
        question = await store.add_message(conversation.id, "user", "q")
        first = await store.add_message(conversation.id, "assistant", "a1", parent_id=question.id)
        second = await store.add_message(conversation.id, "assistant", "a2", parent_id=question.id)
        third = await store.add_message(conversation.id, "assistant", "a3", parent_id=question.id)
        other_root = await store.add_message(conversation.id, "user", "q2", parent_id=None)
        positions = store.branch_positions(
            [question.id, first.id, second.id, third.id, other_root.id]
        )
        assert positions[first.id] == (0, 3) and positions[third.id] == (2, 3)
        assert positions[question.id] == (0, 2) and positions[other_root.id] == (1, 2)
        assert store.branch_positions([]) == {}
        part = {
            "type": "remote_image",
            "url": "https://x/y.png",
            "blob": {"sha256": "ab", "mime": "image/png", "size": 1},
        }
        updated = await store.set_message_parts(second.id, [part])
        assert updated.parts == [part] and updated.text == "a2"
        assert store.get_message(second.id).parts == [part]
    finally:
        await store.close()
