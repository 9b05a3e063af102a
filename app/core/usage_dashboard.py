"""What the usage panel shows, as plain data: daily totals with latency percentiles, the
recent calls, a CSV export and this month's spend per provider. The panel asks this; the
ledger's SQL stays in ``app.store``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from app.store import Store
from app.store.usage_queries import (
    CALL_COLUMNS,
    CallFilter,
    Dashboard,
    LatencyStats,
    dashboard,
    ensure_schema,
    export_csv,
    recent_calls,
)

__all__ = ["CALL_COLUMNS", "CallFilter", "Dashboard", "LatencyStats", "UsageDashboard"]


class UsageDashboard:
    """The usage figures of one store (its latency tables are made on first use)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._schema_ready = False

    async def _ready(self) -> None:
        if not self._schema_ready:
            await self._store.write(ensure_schema)
            self._schema_ready = True

    async def summary(
        self,
        days: tuple[dt.date, dt.date],
        latency_days: tuple[dt.date, dt.date],
        provider: str | None = None,
    ) -> Dashboard:
        """Daily totals over ``days``, latency percentiles over ``latency_days``."""
        await self._ready()
        return await self._store.read(
            dashboard, days[0].isoformat(), days[1].isoformat(),
            latency_days[0].isoformat(), latency_days[1].isoformat(), provider=provider,
        )  # fmt: skip

    async def calls(self, filters: CallFilter, limit: int) -> list[tuple[Any, ...]]:
        """The newest calls matching ``filters`` (rows in ``CALL_COLUMNS`` order)."""
        await self._ready()
        return await self._store.read(recent_calls, filters, limit)

    async def export_csv(self, path: Path, filters: CallFilter) -> int:
        """Every call matching ``filters`` written to ``path``; returns how many."""
        return await self._store.read(export_csv, path, filters)

    async def spend_by_provider(self, first_day: dt.date) -> dict[str, float]:
        """Cost per provider since ``first_day`` (for budgets)."""
        rows = await self._store.usage_summary(("provider",), first_day=first_day)
        return {r.provider or "": r.cost for r in rows}
