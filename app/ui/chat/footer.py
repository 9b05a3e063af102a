"""Plain-text lines the view paints under messages (no Qt: easy to test)."""

from __future__ import annotations

import math
from datetime import datetime

from app.ui.chat.messages import DisplayMessage, Role, Status

_STATUS_WORDS = {
    Status.STREAMING: "Streaming…",
    Status.STOPPED: "Stopped",
    Status.INTERRUPTED: "Interrupted",
    Status.ERROR: "Failed",
}


def footer_text(msg: DisplayMessage) -> str:
    """``model · 1,204 in · ≈380 out · $0.0031 · first token 420 ms · 52.1 tok/s · Stopped``."""
    if msg.role is not Role.ASSISTANT:
        return msg.note
    u = msg.usage
    approx = "≈" if u.estimated else ""
    parts: list[str] = []
    if msg.model:
        parts.append(msg.model)
    if u.tokens_in is not None:
        parts.append(f"{approx}{u.tokens_in:,} in")
    if u.tokens_out is not None:
        parts.append(f"{approx}{u.tokens_out:,} out")
    if u.cost is not None:
        parts.append(
            f"{approx}{u.currency}{u.cost:.4f}" if u.cost < 1 else f"{u.currency}{u.cost:.2f}"
        )
    if u.ttft_ms is not None:
        parts.append(f"first token {u.ttft_ms:,.0f} ms")
    if u.tokens_per_s is not None:
        parts.append(f"{u.tokens_per_s:.1f} tok/s")
    word = _STATUS_WORDS.get(msg.status)
    if msg.status is Status.STREAMING and not msg.text and not msg.tool_calls:
        word = "Waiting for the answer…"  # nothing streams yet (connecting, queued, a wait)
    if word:
        parts.append(word)
    if msg.note:
        parts.append(msg.note)
    return " · ".join(parts)


def error_text(msg: DisplayMessage, now: datetime | None = None) -> str:
    """The error box's words, with a live countdown while ``retry_at`` is ahead."""
    if msg.status is Status.INTERRUPTED:
        base = msg.error or "The connection dropped before the answer finished."
    else:
        base = msg.error or "The request failed."
    if msg.retry_at is not None:
        now = now or datetime.now(msg.retry_at.tzinfo)
        left = math.ceil((msg.retry_at - now).total_seconds())
        if left > 0:
            return f"{base} You can retry in {left} s."
        return f"{base} You can retry now."
    return base


def countdown_running(msg: DisplayMessage, now: datetime | None = None) -> bool:
    if msg.retry_at is None:
        return False
    now = now or datetime.now(msg.retry_at.tzinfo)
    return msg.retry_at > now
