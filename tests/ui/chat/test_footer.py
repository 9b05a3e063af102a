"""Footer and error-box wording (plain functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.ui.chat.footer import countdown_running, error_text, footer_text
from app.ui.chat.messages import DisplayMessage, Role, Status, Usage


def test_footer_lists_usage_and_marks_estimates() -> None:
    msg = DisplayMessage(
        1,
        Role.ASSISTANT,
        model="gpt-4o",
        usage=Usage(1204, 380, estimated=True, cost=0.0031, ttft_ms=420, tokens_per_s=52.14),
        status=Status.STOPPED,
    )
    assert footer_text(msg) == (
        "gpt-4o · ≈1,204 in · ≈380 out · ≈$0.0031 · first token 420 ms · 52.1 tok/s · Stopped"
    )


def test_footer_for_exact_usage_and_user_messages() -> None:
    msg = DisplayMessage(1, Role.ASSISTANT, model="m", usage=Usage(10, 20, cost=2.5))
    assert footer_text(msg) == "m · 10 in · 20 out · $2.50"
    assert footer_text(DisplayMessage(21, Role.USER, "hi")) == ""
    waiting = DisplayMessage(19, Role.ASSISTANT, status=Status.STREAMING)
    assert footer_text(waiting) == "Waiting for the answer…"  # not one token yet
    streaming = DisplayMessage(19, Role.ASSISTANT, "Hel", status=Status.STREAMING)
    assert footer_text(streaming) == "Streaming…"


def test_error_text_counts_down_then_says_now() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    msg = DisplayMessage(
        5,
        Role.ASSISTANT,
        status=Status.ERROR,
        error="Rate limited.",
        retry_at=now + timedelta(seconds=9.2),
    )
    assert error_text(msg, now) == "Rate limited. You can retry in 10 s."
    assert countdown_running(msg, now)
    later = now + timedelta(seconds=10)
    assert error_text(msg, later) == "Rate limited. You can retry now."
    assert not countdown_running(msg, later)


def test_error_text_defaults_in_plain_words() -> None:
    dropped = DisplayMessage(5, Role.ASSISTANT, status=Status.INTERRUPTED)
    assert "connection dropped" in error_text(dropped)
    assert (
        error_text(DisplayMessage(5, Role.ASSISTANT, status=Status.ERROR)) == "The request failed."
    )


def test_a_note_shows_under_any_message() -> None:
    from app.ui.chat.footer import footer_text
    from app.ui.chat.messages import DisplayMessage, Role

    user = DisplayMessage(1, Role.USER, "hi", note="⚑ Flagged by moderation: hate 0.91.")
    assert user.has_footer and footer_text(user) == "⚑ Flagged by moderation: hate 0.91."
    assert not DisplayMessage(2, Role.USER, "hi").has_footer
