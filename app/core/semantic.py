"""Search history by meaning: embed messages in the background, answer queries by cosine.

- :class:`VectorIndex` keeps one model's vectors in memory as a normalised float32 matrix
  (grown by doubling, rows replaced in place when a message is re-embedded); a query is one
  matrix-vector product and an ``argpartition`` for the top k (exact cosine).
- :class:`SemanticSearch` owns an index per embeddings model (loaded from the store once,
  then updated as the background job saves vectors), embeds queries, and runs the job:
  batched, paced, cancellable (cancel the task), resumable and skipping what is embedded
  (what is pending is read from the store each batch), re-embedding edited messages and
  everything when the model changes (vectors are tagged ``provider/model``).
- :func:`merge_hits` fuses full-text and meaning hits (reciprocal rank fusion).

Every embeddings call goes through the usage ledger. numpy is imported inside functions:
this module is loaded with the main window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app import log
from app.store import SearchHit
from app.store import embeddings as queries

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from app.api.types import EmbeddingResult
    from app.core.clients import ClientPool
    from app.core.models_cache import ModelsCache
    from app.settings import SettingsStore
    from app.store import Store

_log = log.get("core.semantic")

MAX_CHARS = 6000
"""Longer messages are embedded by their beginning (about 1,500 tokens: within every
common embeddings model's input limit)."""
BATCH_SIZE = 64
PACE_S = 0.2
"""Pause between batches, so a big history does not hog the provider's rate limit."""
SNIPPET_CHARS = 160
LOAD_PAGE = 20_000
AUTO_LIMIT = 200
"""New messages are embedded by themselves up to this many at once; more wait for Start."""
RRF_K = 60
DELETED_SLACK = 10


class SemanticUnavailable(Exception):
    """Search by meaning cannot run (no model chosen); ``user_message`` says why."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True, slots=True)
class EmbeddingChoice:
    """The embeddings provider and model; ``key`` tags the stored vectors."""

    provider_id: str
    model: str

    @property
    def key(self) -> str:
        return f"{self.provider_id}/{self.model}"

    def prefix(self, kind: str) -> str:
        """E5 models expect ``query: `` / ``passage: `` in front of the text."""
        return f"{kind}: " if "e5" in self.model.lower() else ""


@dataclass(frozen=True, slots=True)
class EmbedProgress:
    """Where the background job is: messages embedded now, of the total pending at start."""

    done: int
    total: int
    tokens: int = 0
    cost: float | None = 0.0
    finished: bool = False


@dataclass(frozen=True, slots=True)
class Estimate:
    """What embedding the rest would take: messages, tokens (≈ chars/4) and US dollars."""

    messages: int
    tokens: int
    cost: float | None
    """None when the model's price is unknown."""


class VectorIndex:
    """One model's vectors in memory, normalised, for exact cosine top-k."""

    def __init__(self, dims: int, capacity: int = 0) -> None:
        import numpy as np

        self.dims = dims
        self._count = 0
        self._ids: npt.NDArray[np.int64] = np.empty(capacity, dtype=np.int64)
        self._matrix: npt.NDArray[np.float32] = np.empty((capacity, dims), dtype=np.float32)
        self._rows: dict[int, int] = {}

    def __len__(self) -> int:
        return self._count

    def __contains__(self, message_id: int) -> bool:
        return message_id in self._rows

    def add(self, ids: Sequence[int], vectors: Any) -> None:
        """Add (or replace) rows; ``vectors`` is anything numpy reads as ``(n, dims)``."""
        import numpy as np

        block = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dims)
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block = (block / np.where(norms == 0, 1.0, norms)).astype(np.float32, copy=False)
        fresh: list[int] = []
        for i, message_id in enumerate(ids):
            row = self._rows.get(message_id)
            if row is None:
                fresh.append(i)
            else:
                self._matrix[row] = block[i]
        if not fresh:
            return
        need = self._count + len(fresh)
        if need > len(self._ids):
            # Grow by doubling: adding batch after batch stays linear overall.
            capacity = max(need, 2 * len(self._ids), 1024)
            matrix = np.empty((capacity, self.dims), dtype=np.float32)
            matrix[: self._count] = self._matrix[: self._count]
            ids_array = np.empty(capacity, dtype=np.int64)
            ids_array[: self._count] = self._ids[: self._count]
            self._matrix, self._ids = matrix, ids_array
        start = self._count
        self._matrix[start:need] = block[fresh]
        self._ids[start:need] = np.asarray([ids[i] for i in fresh], dtype=np.int64)
        for offset, i in enumerate(fresh):
            self._rows[ids[i]] = start + offset
        self._count = need

    def snapshot(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Views of the current rows, to query off the loop thread (later additions go to
        rows past the views, or to a new buffer)."""
        return self._ids[: self._count], self._matrix[: self._count]

    def top_k(self, query: Any, k: int) -> list[tuple[int, float]]:
        return top_k(*self.snapshot(), query, k)


def top_k(ids: Any, matrix: Any, query: Any, k: int) -> list[tuple[int, float]]:
    """The ``k`` rows nearest ``query`` by cosine as ``(id, score)``, best first (rows are
    normalised already)."""
    import numpy as np

    if len(ids) == 0 or k <= 0:
        return []
    q = np.asarray(query, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(q))
    if norm == 0.0:
        return []
    scores = matrix @ (q / norm)
    k = min(k, len(scores))
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best])]
    return [(int(ids[i]), float(scores[i])) for i in best]


def to_blob(vector: Sequence[float]) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def estimate(pending: queries.PendingCount, input_per_m: float | None) -> Estimate:
    tokens = (pending.characters + 3) // 4
    cost = None if input_per_m is None else tokens * input_per_m / 1e6
    return Estimate(pending.messages, tokens, cost)


def _snippet(text: str) -> tuple[tuple[str, bool], ...]:
    flat = " ".join(text.split())
    if len(flat) > SNIPPET_CHARS:
        flat = flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"
    return ((flat, False),)


def merge_hits(
    text_hits: Sequence[SearchHit], meaning_hits: Sequence[SearchHit], limit: int
) -> list[SearchHit]:
    """Full-text and meaning hits fused by reciprocal rank (a message found both ways
    rises; the full-text hit, which has highlighted words, is the one kept)."""
    scores: dict[tuple[str, int], float] = {}
    chosen: dict[tuple[str, int], SearchHit] = {}
    for hits in (text_hits, meaning_hits):
        for rank, hit in enumerate(hits):
            key = (hit.kind, hit.id)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            chosen.setdefault(key, hit)
    order = sorted(scores, key=lambda key: -scores[key])
    return [chosen[key] for key in order[:limit]]


class SemanticSearch:
    """Embeddings of the history for one app: indexes per model, the query, the job."""

    def __init__(
        self,
        store: Store,
        clients: ClientPool,
        settings: SettingsStore,
        models: ModelsCache | None = None,
    ) -> None:
        self._store = store
        self._clients = clients
        self._settings = settings
        self._models = models
        self._indexes: dict[str, VectorIndex | None] = {}
        self._lock = asyncio.Lock()
        self._schema_ready = False
        self._jobs = 0  # embedding runs under way
        self._arrivals: dict[str, list[tuple[list[int], Any]]] = {}
        self._loads: dict[str, asyncio.Task[VectorIndex | None]] = {}

    # -- choice and estimate -----------------------------------------------------------------

    def choice(self) -> EmbeddingChoice | None:
        """The embeddings model from the settings, or None when none is chosen."""
        s = self._settings.get()
        if not s.embeddings_provider or not s.embeddings_model:
            return None
        return EmbeddingChoice(s.embeddings_provider, s.embeddings_model)

    def require(self) -> EmbeddingChoice:
        choice = self.choice()
        if choice is None:
            raise SemanticUnavailable(
                "Choose an embeddings model (Edit › Semantic search and moderation…) to search by meaning."
            )
        if self._clients.registry_profile(choice.provider_id) is None:
            raise SemanticUnavailable(
                f"The embeddings provider “{choice.provider_id}” is not configured any more."
            )
        return choice

    def price_per_m(self, choice: EmbeddingChoice) -> float | None:
        from app.core.models_cache import effective_price

        profile = self._clients.registry_profile(choice.provider_id)
        price = effective_price(profile, choice.model, self._models) if profile else None
        return price.input_per_m if price is not None else None

    async def ensure_schema(self) -> None:
        if not self._schema_ready:
            await self._store.write(queries.ensure_schema)
            self._schema_ready = True

    async def estimate(self, choice: EmbeddingChoice | None = None) -> Estimate:
        """What embedding every pending message with ``choice`` would take."""
        choice = choice or self.require()
        await self.ensure_schema()
        pending = await self._store.read(queries.count_pending, choice.key, MAX_CHARS)
        return estimate(pending, self.price_per_m(choice))

    async def stored_counts(self) -> dict[str, int]:
        await self.ensure_schema()
        return await self._store.read(queries.stored_models)

    async def forget_other_models(self) -> int:
        """Delete the vectors of every model but the chosen one; returns how many."""
        choice = self.require()
        forgotten = 0
        for key in await self.stored_counts():
            if key != choice.key:
                forgotten += await self._store.write(queries.drop_model, key)
                self._indexes.pop(key, None)
        return forgotten

    # -- embedding ---------------------------------------------------------------------------

    async def _embed(self, choice: EmbeddingChoice, texts: list[str]) -> EmbeddingResult:
        """One embeddings call, accounted in the ledger whether it works or not."""
        from app.core.metered import metered

        async with metered(
            self._store, self._clients, choice.provider_id, "embeddings", choice.model,
            models=self._models,
        ) as meter:  # fmt: skip
            result = await meter.client.embeddings(choice.model, texts)
            meter.ok(result)
        if len(result.data) != len(texts):
            from app.api.errors import MalformedResponseError

            raise MalformedResponseError(
                f"asked for {len(texts)} embeddings, got {len(result.data)}"
            )
        return result

    async def index(self, choice: EmbeddingChoice) -> VectorIndex | None:
        """The in-memory index of ``choice``, loaded from the store the first time (None
        while nothing is embedded with it). The load is shared and shielded: a search
        replaced by the next keystroke does not throw away seconds of loading."""
        current = self._indexes.get(choice.key)
        if current is not None:
            return current
        task = self._loads.get(choice.key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(choice))
            self._loads[choice.key] = task
        return await asyncio.shield(task)

    def cancel(self) -> None:
        """Stop loading (at shutdown, before the store closes)."""
        for task in self._loads.values():
            task.cancel()

    async def _load(self, choice: EmbeddingChoice) -> VectorIndex | None:
        import numpy as np

        async with self._lock:
            # Batches saved while the pages are read may land behind the page cursor:
            # they are kept aside and added once the load is done.
            arrivals: list[tuple[list[int], Any]] = []
            self._arrivals[choice.key] = arrivals
            try:
                await self.ensure_schema()
                # One model's matrix at a time in memory (200,000 x 1,024 is 800 MB).
                self._indexes.clear()
                stored = (await self._store.read(queries.stored_models)).get(choice.key, 0)
                index: VectorIndex | None = None
                after = 0
                while True:  # pages: never one 800 MB bytes object plus its copy
                    page = await self._store.read(
                        queries.load_vectors, choice.key, after, LOAD_PAGE
                    )
                    if not page.ids:
                        break
                    if index is None:
                        index = VectorIndex(page.dims, capacity=stored)
                    if page.dims == index.dims:
                        # Normalising a page takes tens of ms: off the Qt thread. Nobody
                        # else sees this index before it is complete (published below).
                        block = np.frombuffer(page.data, dtype="<f4")
                        await asyncio.to_thread(index.add, page.ids, block)
                    after = page.ids[-1]
            finally:
                del self._arrivals[choice.key]
                self._loads.pop(choice.key, None)
            self._indexes[choice.key] = index
            for ids, vectors in arrivals:
                self._remember(choice, ids, vectors)
            _log.info("loaded %d vectors of %s", len(index or ()), choice.key)
            return self._indexes[choice.key]

    def _remember(self, choice: EmbeddingChoice, ids: list[int], vectors: Any) -> None:
        if choice.key in self._arrivals:
            self._arrivals[choice.key].append((ids, vectors))
            return
        if choice.key not in self._indexes:
            return  # not loaded: a later load reads these from the store
        index = self._indexes.get(choice.key)
        dims = len(vectors[0])
        if index is None or index.dims != dims:
            index = VectorIndex(dims)  # a first vector, or the model changed its size
            self._indexes[choice.key] = index
        index.add(ids, vectors)

    async def embed_pending(
        self,
        progress: Callable[[EmbedProgress], None] | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        pace_s: float = PACE_S,
    ) -> EmbedProgress:
        """Embed every message lacking a current vector for the chosen model. Cancel the
        task to stop; a later run resumes where this one stopped. API errors propagate
        (after the client's own retries); what was saved stays saved."""
        choice = self.require()
        self._jobs += 1
        try:
            return await self._embed_pending(choice, progress, batch_size, pace_s)
        finally:
            self._jobs -= 1

    async def embed_new(self, limit: int = AUTO_LIMIT) -> int:
        """Keep an embedded history current: with search by meaning on, embed the few new
        messages once the chosen model has vectors (the first, maybe costly, run is the
        user's Start). Never raises an API error; returns how many were embedded."""
        from app.api import ApiError
        from app.core.clients import ProviderUnavailable

        choice = self.choice()
        if self._jobs or choice is None or not self._settings.get().semantic_search:
            return 0
        try:
            await self.ensure_schema()
            if not (await self._store.read(queries.stored_models)).get(choice.key):
                return 0
            pending = await self._store.read(queries.count_pending, choice.key, MAX_CHARS)
            if not pending.messages or pending.messages > limit or self._jobs:
                return 0
            return (await self.embed_pending()).done
        except (ApiError, ProviderUnavailable, SemanticUnavailable) as exc:
            _log.info("new messages not embedded: %s", exc)
            return 0

    async def _embed_pending(
        self,
        choice: EmbeddingChoice,
        progress: Callable[[EmbedProgress], None] | None,
        batch_size: int,
        pace_s: float,
    ) -> EmbedProgress:
        # The index is not loaded for this: a history never searched by meaning never
        # fills memory with its matrix. A loaded one gets each batch as it is saved.
        await self.ensure_schema()
        total = (await self._store.read(queries.count_pending, choice.key, MAX_CHARS)).messages
        price = self.price_per_m(choice)
        done = tokens = 0
        cost: float | None = 0.0
        after = 0
        report = EmbedProgress(0, total)
        if progress:
            progress(report)
        while True:
            batch = await self._store.read(queries.pending, choice.key, batch_size, after)
            if not batch:
                break
            after = batch[-1][0]
            prefix = choice.prefix("passage")
            texts = [prefix + text[:MAX_CHARS] for _, _, text in batch]
            result = await self._embed(choice, texts)
            vectors = result.vectors
            ids = [message_id for message_id, _, _ in batch]
            rows = [
                (message_id, updated, to_blob(vector))
                for (message_id, updated, _), vector in zip(batch, vectors, strict=True)
            ]
            await self._store.write(queries.store_batch, choice.key, len(vectors[0]), rows)
            self._remember(choice, ids, vectors)
            done += len(batch)
            tokens += result.usage.prompt_tokens
            cost = None if price is None or cost is None else tokens * price / 1e6
            report = EmbedProgress(min(done, max(total, done)), max(total, done), tokens, cost)
            if progress:
                progress(report)
            if pace_s:
                await asyncio.sleep(pace_s)
        report = EmbedProgress(done, max(total, done), tokens, cost, finished=True)
        if progress:
            progress(report)
        return report

    # -- query -------------------------------------------------------------------------------

    async def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """The messages nearest ``query`` in meaning, best first. Raises
        `SemanticUnavailable` (no model) and the API's errors (offline: `ApiConnectionError`)."""
        choice = self.require()
        index = await self.index(choice)
        if index is None or not len(index):
            return []
        result = await self._embed(choice, [choice.prefix("query") + query[:MAX_CHARS]])
        return await self.nearest(index, result.vectors[0], limit)

    async def nearest(
        self, index: VectorIndex, vector: Sequence[float], limit: int
    ) -> list[SearchHit]:
        """The hits nearest an embedded query (what `search` does once the embedding is back)."""
        if len(vector) != index.dims:
            return []
        ids, matrix = index.snapshot()
        started = time.perf_counter()
        # Tens of ms over a big history: off the Qt thread (numpy releases the GIL).
        # A little more than asked: rows of messages deleted since are dropped by `hits`.
        nearest = await asyncio.to_thread(top_k, ids, matrix, vector, limit + DELETED_SLACK)
        _log.debug("nearest of %d in %.1f ms", len(ids), (time.perf_counter() - started) * 1e3)
        return (await self.hits(nearest))[:limit]

    async def hits(self, nearest: Sequence[tuple[int, float]]) -> list[SearchHit]:
        """Search hits (with a snippet) for ``(message id, score)`` pairs, in that order;
        messages deleted since they were embedded are left out."""
        rows = await self._store.read(queries.message_rows, [i for i, _ in nearest])
        by_id = {row[0]: row for row in rows}
        hits: list[SearchHit] = []
        for message_id, score in nearest:
            row = by_id.get(message_id)
            if row is None:
                continue
            _, conversation_id, role, model, provider, text, created_at, title = row
            hits.append(
                SearchHit(
                    kind="message",
                    id=message_id,
                    conversation_id=conversation_id,
                    title=title or "",
                    fragments=_snippet(text),
                    rank=-score,
                    created_at=created_at,
                    role=role,
                    model=model,
                    provider=provider,
                )
            )
        return hits


async def meaning_search(
    semantic: SemanticSearch, query: str, limit: int
) -> tuple[list[SearchHit], str]:
    """Hits by meaning and ``""``, or no hits and a sentence saying why full-text search
    stands alone (no model chosen, offline, the provider failed). Never raises an API error."""
    from app.api import ApiConnectionError, ApiError, ApiTimeoutError
    from app.core.clients import ProviderUnavailable

    fallback = "showing full-text matches only."
    try:
        hits = await semantic.search(query, limit)
    except (SemanticUnavailable, ProviderUnavailable) as exc:
        return [], f"{exc.user_message} Meanwhile, {fallback}"
    except (ApiConnectionError, ApiTimeoutError):
        return [], f"Offline (the embeddings provider cannot be reached): {fallback}"
    except ApiError as exc:
        return [], f"Search by meaning failed ({exc.user_message}): {fallback}"
    if not hits:
        estimate = await semantic.estimate()
        if estimate.messages:
            return [], (
                f"{estimate.messages:,} messages are not embedded yet "
                f"(Edit › Semantic search and moderation…): {fallback}"
            )
    return hits, ""
