"""One mapping from a failure to the words a user sees, for every panel and dialog."""

from __future__ import annotations

from app.store import StoreError


def failure_text(error: BaseException) -> str:
    """Plain words for ``error``: its own ``user_message`` when it has one (API, provider and
    job errors), what the history could not do, or a generic line naming the error."""
    text = getattr(error, "user_message", None)
    if isinstance(text, str) and text:
        return text
    if isinstance(error, StoreError):
        return f"The history could not be read or saved: {error}"
    return f"Something went wrong: {error}"
