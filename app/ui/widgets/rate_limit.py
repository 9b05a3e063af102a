"""The status-bar view of the provider's limits: requests left this minute and today, when
the window resets, a 429's Retry-After countdown, running out of credits, budget warnings.

Fed by the :class:`~app.core.usage.UsageMonitor` (``ctx.clients.usage``); a one-second
timer runs only while there is a countdown to show.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QWidget

from app.core.context import AppContext
from app.core.usage import (
    BudgetCrossed,
    CreditsExhausted,
    LimitsChanged,
    ProviderLimits,
    UsageEvent,
)
from app.ui.dialogs.common import set_tone

BUDGET_NOTICE_S = 60.0


def countdown(seconds: float) -> str:
    """``42 s``, ``3:05``, ``2 h 10 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def describe_limits(name: str, limits: ProviderLimits, now: float) -> tuple[str, str]:
    """Status text and tone (``plain``, ``warning``, ``error``) for one provider's limits."""
    retry = limits.retry_in(now)
    if limits.credits_out_at is not None:
        return f"{name}: out of credits (402)", "error"
    if retry is not None:
        return f"{name}: rate limited (429) · retry in {countdown(retry)}", "warning"
    status = limits.status
    if status is None:
        return "", "plain"
    parts: list[str] = []
    remaining = limits.requests_remaining(now)
    if remaining is not None:
        text = f"{remaining:,}"
        if status.limit_requests:
            text += f"/{status.limit_requests:,}"
        parts.append(f"{text} req/min")
        reset = limits.requests_reset_at
        if reset is not None and reset > now:
            parts.append(f"resets {countdown(reset - now)}")
    if status.remaining_requests_day is not None:
        text = f"{status.remaining_requests_day:,}"
        if status.limit_requests_day:
            text += f"/{status.limit_requests_day:,}"
        parts.append(f"{text} today")
    if status.remaining_tokens is not None and not parts:
        parts.append(f"{status.remaining_tokens:,} tokens left")
    if not parts:
        return "", "plain"
    low = (
        remaining is not None
        and status.limit_requests
        and remaining <= max(1, status.limit_requests // 10)
    )
    return f"{name}: " + " · ".join(parts), "warning" if low else "plain"


class RateLimitIndicator(QLabel):
    """The latest provider's limits, live; hidden until a call reported some."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.monitor = ctx.clients.usage
        self.setObjectName("rateLimitIndicator")
        self.setAccessibleName("Rate limits")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self._budget_notice: tuple[str, str, float] | None = None  # text, tone, until
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self.hide()
        self._connect_signals()

    def _connect_signals(self) -> None:
        self._timer.timeout.connect(self.refresh)
        self.linkActivated.connect(self.on_link_activated)
        self._unsubscribe = self.monitor.subscribe(self.on_usage_event)
        self.destroyed.connect(lambda *_: self._unsubscribe())

    def on_usage_event(self, event: UsageEvent) -> None:
        if isinstance(event, BudgetCrossed):
            tone = "error" if event.level == "over" else "warning"
            self._budget_notice = (event.message, tone, time.time() + BUDGET_NOTICE_S)
        if isinstance(event, LimitsChanged | CreditsExhausted | BudgetCrossed):
            self.refresh()

    def on_link_activated(self, link: str) -> None:
        url = QUrl(link)
        if url.scheme() in ("http", "https"):  # never file: or javascript:
            QDesktopServices.openUrl(url)

    def refresh(self) -> None:
        now = time.time()
        provider_id = self.monitor.last_provider
        text, tone = "", "plain"
        limits = self.monitor.limits.get(provider_id) if provider_id else None
        profile = self.ctx.registry.get(provider_id) if provider_id else None
        if limits is not None and provider_id:
            text, tone = describe_limits(profile.name if profile else provider_id, limits, now)
            if limits.credits_out_at is not None and profile and profile.dashboard_url:
                text += f' — <a href="{profile.dashboard_url}">add credits</a>'
        notice = self._budget_notice
        if notice is not None and notice[2] > now:
            text = f"{notice[0]}  |  {text}" if text else notice[0]
            tone = notice[1] if tone == "plain" or notice[1] == "error" else tone
        elif notice is not None:
            self._budget_notice = None
        self.setText(text)
        self.setToolTip(self._tooltip(limits))
        set_tone(self, tone)
        self.setVisible(bool(text))
        ticking = (
            bool(text)
            and limits is not None
            and (
                limits.retry_in(now) is not None
                or (limits.requests_reset_at or 0) > now
                or self._budget_notice is not None
            )
        )
        if ticking and not self._timer.isActive():
            self._timer.start()
        elif not ticking:
            self._timer.stop()

    def _tooltip(self, limits: ProviderLimits | None) -> str:
        if limits is None or limits.status is None:
            return "Rate limits reported by the provider's last answer."
        s = limits.status
        lines = ["Rate limits from the provider's last answer (X-RateLimit-* headers):"]
        if s.limit_requests is not None:
            lines.append(f"Requests per minute: {s.remaining_requests} of {s.limit_requests} left")
        if s.limit_requests_day is not None:
            lines.append(
                f"Requests per day: {s.remaining_requests_day} of {s.limit_requests_day} left"
            )
        if s.limit_tokens is not None:
            lines.append(f"Tokens per minute: {s.remaining_tokens} of {s.limit_tokens} left")
        day_reset = limits.day_reset_at
        if day_reset is not None:
            lines.append(f"Daily window resets in {countdown(day_reset - time.time())}")
        return "\n".join(lines)

    def is_ticking(self) -> bool:
        return self._timer.isActive()
