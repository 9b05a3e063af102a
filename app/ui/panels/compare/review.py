"""What a comparison shows of itself: answers as labelled rows, live figures, titles, and
the words around the vote. Pure functions of the run; no widgets."""

from __future__ import annotations

from dataclasses import replace

from app.core.compare import Column, ColumnFigures, Comparison
from app.store import Message
from app.ui.chat.messages import DisplayMessage
from app.ui.stream_presenter import display_message


def answer_row(
    comparison: Comparison, index: int, message: Message | None = None
) -> DisplayMessage:
    """Column ``index``'s answer (``message``, else its saved one) as this run labels it:
    its blind letter or model name, no cost while hidden, its error if it failed."""
    column = comparison.columns[index]
    message = message or column.message
    assert message is not None
    shown = display_message(message)
    shown.model = comparison.label(column)
    if comparison.hidden:  # a price can give the model away
        shown.usage = replace(shown.usage, cost=None)
    if column.error is not None and not shown.error:
        shown.error = column.error.message
    return shown


def figures(comparison: Comparison, index: int) -> ColumnFigures:
    """Column ``index``'s live figures (no cost while the names are hidden)."""
    shown = comparison.columns[index].figures()
    return replace(shown, cost=None) if comparison.hidden else shown


def column_title(comparison: Comparison, column: Column, provider: str) -> str:
    """``B: model (Provider)`` once revealed, the letter alone while hidden."""
    label = comparison.label(column)
    if comparison.hidden:
        return label
    label = f"{label}  ({provider})"
    return f"{chr(ord('A') + column.slot)}: {label}" if comparison.blind else label


def can_vote(comparison: Comparison | None) -> bool:
    return (
        comparison is not None
        and not comparison.running
        and not (comparison.vote or {}).get("skipped")
        and any(c.text for c in comparison.columns)
    )


def vote_hint(comparison: Comparison | None) -> str:
    """What the bar says about the vote of the shown run."""
    if comparison is None:
        return ""
    if comparison.running:
        return "Streaming…"
    vote = comparison.vote or {}
    if vote.get("winner") is not None:
        return "Voted. Change your mind? Click ★ Best on another answer."
    if vote.get("tie"):
        return "Voted a tie."
    if vote.get("skipped"):
        return "Revealed without a vote."
    return "Which answer is best? Click ★ Best, or Tie."
