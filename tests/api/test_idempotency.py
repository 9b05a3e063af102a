"""Keys of unanswered calls: kept for the same request within the window, else new."""

from __future__ import annotations

from app.api.idempotency import UnsettledKeys


def test_an_unanswered_call_keeps_its_key_for_the_same_request_only() -> None:
    keys = UnsettledKeys(window_s=3600)
    same, other = keys.digest("u", b"{}"), keys.digest("u", b'{"a":1}')
    first = keys.key_for(same)
    keys.unsettled(same, first)
    assert keys.key_for(same) == first and keys.key_for(other) != first
    keys.settled(same)  # answered at last: the next request is a new one
    assert keys.key_for(same) != first


def test_past_the_window_or_without_a_body_a_key_is_never_reused() -> None:
    expired = UnsettledKeys(window_s=0)
    digest = expired.digest("u", b"{}")
    key = expired.key_for(digest)
    expired.unsettled(digest, key)
    assert expired.key_for(digest) != key
    assert UnsettledKeys.digest("u", None) is None
