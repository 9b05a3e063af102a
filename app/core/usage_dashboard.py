"""The usage dashboard model: what the usage panel shows, as plain data.

:class:`UsageDashboard` is the panel's only door to the ledger. Its reads run on the
store's reader threads; the latency roll-up (``usage_queries.ensure_schema``) is made on
first use. A :class:`Summary` holds the daily roll-up of the widest window the dashboard
needs (the selected range, the last 30 days and this month), so the cards, the charts, the
per-provider totals and the month's spend are all computed from it in memory: changing the
provider filter or the stacking never queries again.

Figures only: formatting (dollars, credits, tokens) is the panel's, with the helpers of
:mod:`app.core.usage`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from app.core.usage import BudgetLevel, Budgets, budget_level, budget_message, month_start
from app.store import UsageAggregate
from app.store import usage_queries as queries
from app.store.usage_queries import LatencyStats

if TYPE_CHECKING:
    import sqlite3

    from app.core.providers import ProviderRegistry
    from app.core.usage import UsageMonitor
    from app.store import Store

__all__ = [
    "CALLS_LIMIT",
    "OTHER",
    "CallPage",
    "CallQuery",
    "CallRow",
    "ChartData",
    "FilterChoices",
    "LatencyStats",
    "ProviderLine",
    "Series",
    "Summary",
    "Totals",
    "UsageDashboard",
    "chart_data",
    "local_midnight",
    "range_days",
]

CALLS_LIMIT = 1000  # recent calls shown; the CSV export has them all
MAX_SERIES = 7  # more stacked colours than this cannot be told apart; the rest is "Other"
OTHER = "Other"


def local_midnight(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time()).timestamp()


def range_days(
    key: str, today: dt.date, custom: tuple[dt.date, dt.date]
) -> tuple[dt.date, dt.date]:
    """First and last local day (inclusive) of a named range (``today``, ``7d``, ``30d``,
    ``month``, ``custom``)."""
    if key == "today":
        return today, today
    if key == "7d":
        return today - dt.timedelta(days=6), today
    if key == "30d":
        return today - dt.timedelta(days=29), today
    if key == "month":
        return month_start(today), today
    first, last = custom
    return (first, last) if first <= last else (last, first)


# --- totals ------------------------------------------------------------------------------


@dataclass(slots=True)
class Totals:
    """Calls, tokens and dollars of a set of roll-up rows."""

    calls: int = 0
    tokens: int = 0
    errors: int = 0
    estimated_calls: int = 0
    unpriced: int = 0
    cost: float = 0.0

    @property
    def estimated(self) -> bool:
        """Some of it was estimated (the provider sent no usage)."""
        return self.estimated_calls > 0

    def add(self, row: UsageAggregate) -> None:
        self.calls += row.calls
        self.tokens += row.prompt_tokens + row.completion_tokens
        self.errors += row.errors
        self.estimated_calls += row.estimated_calls
        self.unpriced += row.unpriced_calls
        self.cost += row.cost

    @classmethod
    def of(cls, rows: Iterable[UsageAggregate]) -> Totals:
        totals = cls()
        for row in rows:
            totals.add(row)
        return totals


def _within(rows: Iterable[UsageAggregate], first: dt.date, last: dt.date) -> list[UsageAggregate]:
    lo, hi = first.isoformat(), last.isoformat()
    return [row for row in rows if lo <= (row.day or "") <= hi]


# --- charts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    estimated: bool


@dataclass(frozen=True)
class ChartData:
    days: list[dt.date]
    cost: list[Series]
    tokens: list[Series]


def _group_key(row: UsageAggregate, group_by: str) -> str:
    value = getattr(row, group_by) or ""
    return value or "(none)"


def _top_series(
    values: dict[str, dict[int, float]], estimated: set[str], n_days: int
) -> list[Series]:
    totals = {name: sum(by_day.values()) for name, by_day in values.items()}
    ranked = sorted((n for n in totals if totals[n] > 0), key=lambda n: -totals[n])
    kept, rest = ranked[:MAX_SERIES], ranked[MAX_SERIES:]
    out = []
    for name in kept:
        row = [0.0] * n_days
        for i, v in values[name].items():
            row[i] = v
        out.append(Series(name, row, name in estimated))
    if rest:
        row = [0.0] * n_days
        for name in rest:
            for i, v in values[name].items():
                row[i] += v
        out.append(Series(OTHER, row, any(n in estimated for n in rest)))
    return out


def chart_data(
    rows: Sequence[UsageAggregate],
    first: dt.date,
    last: dt.date,
    group_by: str,
    name_of: Callable[[str], str] | None = None,
) -> ChartData:
    """Per-day stacks of cost and tokens grouped by ``model``, ``provider`` or ``endpoint``,
    the biggest groups first, the rest as "Other"; ``name_of`` renames the groups."""
    n_days = (last - first).days + 1
    days = [first + dt.timedelta(days=i) for i in range(n_days)]
    index = {d.isoformat(): i for i, d in enumerate(days)}
    cost: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    tokens: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    estimated: set[str] = set()
    for row in rows:
        i = index.get(row.day or "")
        if i is None:
            continue
        key = _group_key(row, group_by)
        if name_of is not None:
            key = name_of(key)
        cost[key][i] += row.cost
        tokens[key][i] += row.prompt_tokens + row.completion_tokens
        if row.estimated_calls:
            estimated.add(key)
    return ChartData(
        days, _top_series(cost, estimated, n_days), _top_series(tokens, estimated, n_days)
    )


# --- one refresh -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """One refresh of the dashboard: daily roll-up rows by provider, model and endpoint
    covering ``days``, the last 30 days and this month; latency over ``days`` (for the
    provider asked for); every (provider, model, endpoint) with calls."""

    days: tuple[dt.date, dt.date]
    today: dt.date
    rows: list[UsageAggregate] = field(default_factory=list)
    latency: list[LatencyStats] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)

    def rows_for(self, provider: str | None = None) -> list[UsageAggregate]:
        """The rows of one provider, or all of them."""
        return [r for r in self.rows if not provider or r.provider == provider]

    def totals(self, first: dt.date, last: dt.date, provider: str | None = None) -> Totals:
        return Totals.of(_within(self.rows_for(provider), first, last))

    def windows(self) -> dict[str, tuple[dt.date, dt.date]]:
        """The cards' windows: ``today``, ``7d``, ``30d`` and the selected ``range``."""
        today = self.today
        return {
            "today": (today, today),
            "7d": (today - dt.timedelta(days=6), today),
            "30d": (today - dt.timedelta(days=29), today),
            "range": self.days,
        }

    def cards(self, provider: str | None = None) -> dict[str, Totals]:
        """Totals per card window (see :meth:`windows`)."""
        return {
            key: self.totals(first, last, provider) for key, (first, last) in self.windows().items()
        }

    def by_provider(self) -> dict[str, Totals]:
        """Totals of the selected range per provider id."""
        totals: dict[str, Totals] = defaultdict(Totals)
        for row in _within(self.rows, *self.days):
            totals[row.provider or ""].add(row)
        return dict(totals)

    def month_spend(self) -> dict[str, float]:
        """Dollars spent this month per provider id."""
        start = month_start(self.today).isoformat()
        spend: dict[str, float] = defaultdict(float)
        for row in self.rows:
            if (row.day or "") >= start:
                spend[row.provider or ""] += row.cost
        return dict(spend)

    def chart(
        self,
        group_by: str,
        provider: str | None = None,
        name_of: Callable[[str], str] | None = None,
    ) -> ChartData:
        """The charts' series over the selected range."""
        return chart_data(self.rows_for(provider), *self.days, group_by, name_of)


@dataclass(frozen=True, slots=True)
class FilterChoices:
    """What the filter menus offer: provider ids (with calls or configured), models, endpoints."""

    providers: list[str]
    models: list[str]
    endpoints: list[str]


@dataclass(frozen=True, slots=True)
class ProviderLine:
    """One provider's row of the providers table: the selected range's totals, this month's
    spend against its monthly budget."""

    provider_id: str
    name: str
    totals: Totals
    month_spend: float
    budget: float | None
    level: BudgetLevel

    @property
    def warning(self) -> str | None:
        """The budget warning to show, if the spend reached 80 % of the budget."""
        if self.budget and self.level in ("warning", "over"):
            return budget_message(self.name, self.level, self.month_spend, self.budget)
        return None


# --- recent calls ------------------------------------------------------------------------


class CallRow(NamedTuple):
    """One ledger row of the recent-calls list, in ``usage_queries.CALL_COLUMNS`` order (a
    tuple: a thousand cost nothing)."""

    id: int
    ts: float
    provider: str
    model: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    characters: int
    audio_seconds: float
    images: int
    cost: float | None
    estimated: int
    status: str
    latency_s: float | None
    ttft_s: float | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class CallQuery:
    """Which calls: local days ``first..last`` (inclusive) and optional exact provider,
    model and endpoint; ``only`` is ``errors`` or ``estimated``."""

    first: dt.date
    last: dt.date
    provider: str | None = None
    model: str | None = None
    endpoint: str | None = None
    only: str | None = None

    def filter(self) -> queries.CallFilter:
        return queries.CallFilter(
            since=local_midnight(self.first),
            until=local_midnight(self.last + dt.timedelta(days=1)),
            provider=self.provider,
            model=self.model,
            endpoint=self.endpoint,
            only=self.only,
        )


@dataclass(frozen=True, slots=True)
class CallPage:
    """The newest calls of a query, at most ``limit``."""

    rows: list[CallRow]
    limit: int

    @property
    def truncated(self) -> bool:
        """There may be more calls than shown (the export has them all)."""
        return len(self.rows) >= self.limit


def _recent(conn: sqlite3.Connection, filters: queries.CallFilter, limit: int) -> list[CallRow]:
    return [CallRow._make(row) for row in queries.recent_calls(conn, filters, limit)]


# --- the model ---------------------------------------------------------------------------


class UsageDashboard:
    """The dashboard's reads, budgets and figures over the store, the providers and the
    live monitor (whose rate limits add providers to the table)."""

    def __init__(
        self,
        store: Store,
        registry: ProviderRegistry,
        monitor: UsageMonitor,
        budgets: Budgets,
    ) -> None:
        self.store = store
        self.registry = registry
        self.monitor = monitor
        self.budgets = budgets
        self._schema_ready = False

    async def _ensure_schema(self) -> None:
        if not self._schema_ready:
            await self.store.write(queries.ensure_schema)
            self._schema_ready = True

    async def summary(
        self,
        days: tuple[dt.date, dt.date],
        provider: str | None = None,
        today: dt.date | None = None,
    ) -> Summary:
        """Read what the dashboard shows for the local days ``days`` (latency for
        ``provider`` if given), in one trip to a reader thread."""
        await self._ensure_schema()
        today = today or dt.date.today()
        first = min(days[0], today - dt.timedelta(days=29), month_start(today))
        last = max(days[1], today)
        data = await self.store.read(
            queries.dashboard, first.isoformat(), last.isoformat(),
            days[0].isoformat(), days[1].isoformat(), provider=provider,
        )  # fmt: skip
        return Summary(days, today, data.rows, data.latency, data.keys)

    async def calls(self, query: CallQuery, limit: int = CALLS_LIMIT) -> CallPage:
        """The newest calls matching ``query``."""
        await self._ensure_schema()
        return CallPage(await self.store.read(_recent, query.filter(), limit), limit)

    async def export_csv(self, path: Path, query: CallQuery) -> int:
        """Write every call matching ``query`` (oldest first) to ``path``; returns how many."""
        return await self.store.read(queries.export_csv, path, query.filter())

    async def month_spend(self) -> dict[str, float]:
        """Dollars spent this month per provider id (for budgets, without a summary)."""
        rows = await self.store.usage_summary(("provider",), first_day=month_start())
        return {r.provider or "": r.cost for r in rows}

    # -- figures

    def provider_name(self, provider_id: str) -> str:
        profile = self.registry.get(provider_id)
        return profile.name if profile else provider_id

    def filter_choices(self, summary: Summary) -> FilterChoices:
        keys = summary.keys
        return FilterChoices(
            providers=sorted({k[0] for k in keys} | {p.id for p in self.registry.all()}),
            models=sorted({k[1] for k in keys if k[1]}),
            endpoints=sorted({k[2] for k in keys}),
        )

    def budget_providers(self) -> list[str]:
        """Providers a budget can be set for: the configured ones and those with a budget."""
        return sorted({p.id for p in self.registry.all()} | set(self.budgets.all()))

    def provider_lines(self, summary: Summary, selected: str | None = None) -> list[ProviderLine]:
        """The providers table: every provider with calls, a budget or live limits (only
        ``selected`` when given), sorted by id."""
        seen = {r.provider or "" for r in summary.rows}
        seen.update(self.budgets.all())
        seen.update(p for p, lim in self.monitor.limits.items() if lim.status or lim.retry_until)
        ids = sorted(p for p in seen if p and (not selected or p == selected))
        totals = summary.by_provider()
        month = summary.month_spend()
        lines = []
        for provider_id in ids:
            budget = self.budgets.get(provider_id)
            spent = month.get(provider_id, 0.0)
            line = ProviderLine(
                provider_id,
                self.provider_name(provider_id),
                totals.get(provider_id) or Totals(),
                spent,
                budget,
                budget_level(spent, budget),
            )
            lines.append(line)
        return lines

    def announce_budgets(self, spend: dict[str, float]) -> list[str]:
        """Tell the monitor of budgets newly crossed by ``spend`` (per provider, this month);
        returns the messages (each level once a month)."""
        messages = []
        for provider_id, level, spent, budget in self.budgets.crossed(spend):
            message = budget_message(self.provider_name(provider_id), level, spent, budget)
            self.monitor.budget_crossed(provider_id, level, message)
            messages.append(message)
        return messages
