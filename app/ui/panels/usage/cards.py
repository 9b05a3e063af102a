"""The dashboard's totals cards (today, 7 days, 30 days, the selected range) and its two
banners: credits run out (402) and monthly budgets reached."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from app.api import ProviderProfile
from app.core.usage import (
    ProviderLimits,
    credits_message,
    format_credits,
    format_tokens,
    format_usd,
)
from app.core.usage_dashboard import ProviderLine, Totals
from app.ui.dialogs.common import named, set_tone
from app.ui.panels.usage.cells import ESTIMATED_TIP

CARDS = (("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"),
         ("range", "Selected range"))  # fmt: skip


def card_html(title: str, t: Totals, profile: ProviderProfile | None) -> str:
    """A card's text: the window's title, dollars (and provider units), tokens and calls,
    failures and unpriced calls."""
    estimated = t.estimated
    cost = format_usd(t.cost, estimated=estimated)
    credits = format_credits(profile, t.cost, estimated=estimated)
    lines = [
        f"<span style='font-size:small'>{html.escape(title)}</span>",
        f"<span style='font-size:x-large; font-weight:600'>{cost}</span>"
        + (f" <span style='font-size:small'>{credits}</span>" if credits else ""),
        f"{format_tokens(t.tokens, estimated=estimated)} tokens · "
        f"{t.calls:,} call{'' if t.calls == 1 else 's'}",
    ]
    notes = []
    if t.errors:
        notes.append(f"{t.errors:,} failed")
    if t.unpriced:
        notes.append(f"{t.unpriced:,} without a price")
    if notes:
        lines.append(f"<span style='font-size:small'>{' · '.join(notes)}</span>")
    return "<br>".join(lines)


class TotalsCards(QWidget):
    """One card per window; ``labels`` by window key (``today``, ``7d``, ``30d``, ``range``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.labels: dict[str, QLabel] = {}
        for key, title in CARDS:
            card = named(QLabel(), f"usageCard_{key}", f"Totals: {title}")
            card.setFrameShape(QFrame.Shape.StyledPanel)
            card.setTextFormat(Qt.TextFormat.RichText)
            card.setMargin(8)
            card.setMinimumWidth(150)
            card.setProperty("title", title)
            row.addWidget(card, 1)
            self.labels[key] = card

    def show_totals(
        self,
        totals: Mapping[str, Totals],
        windows: Mapping[str, tuple[dt.date, dt.date]],
        profile: ProviderProfile | None,
    ) -> None:
        """Fill each card; the selected range's card is titled with its days."""
        for key, card in self.labels.items():
            title = str(card.property("title"))
            if key == "range":
                first, last = windows[key]
                title = f"{first:%d %b} – {last:%d %b %Y}" if first != last else f"{first:%d %b %Y}"
            card.setText(card_html(title, totals[key], profile))
            card.setToolTip(ESTIMATED_TIP if totals[key].estimated else "")


def banner(object_name: str, accessible_name: str) -> QLabel:
    """A hidden rich-text notice whose links the panel handles (never opened by Qt)."""
    label = named(QLabel(), object_name, accessible_name)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    label.setOpenExternalLinks(False)
    label.setVisible(False)
    return label


def show_budget_banner(label: QLabel, lines: list[ProviderLine]) -> None:
    """The warnings of providers at 80 % or more of their monthly budget."""
    warnings = [(line.level, line.warning) for line in lines if line.warning]
    label.setVisible(bool(warnings))
    if warnings:
        label.setText("<br>".join(html.escape(text or "") for _, text in warnings))
        set_tone(label, "error" if any(level == "over" for level, _ in warnings) else "warning")


def show_credits_banner(
    label: QLabel,
    limits: Mapping[str, ProviderLimits],
    profile_of: Callable[[str], ProviderProfile | None],
) -> None:
    """Which providers' credits ran out, each with a link to its dashboard."""
    lines = []
    for provider_id, limit in limits.items():
        if limit.credits_out_at is None:
            continue
        profile = profile_of(provider_id)
        text = html.escape(credits_message(profile, provider_id).split(" Add credits at")[0])
        if profile is not None and profile.dashboard_url:
            url = html.escape(profile.dashboard_url, quote=True)
            text += f' <a href="{url}">Add credits on the {html.escape(profile.name)} dashboard</a>'
        lines.append(text)
    label.setVisible(bool(lines))
    if lines:
        label.setText("<br>".join(lines))
        set_tone(label, "error")
