"""History that is never lost: conversations, messages, media, usage, search (SQLite).

Open with ``store = await Store.open(data_dir)``; see `Store` for the API and
`app.store.errors` for the error tree. No Qt, no `app.api` imports here.

What the rest of the app uses comes from here: the store, its errors and records, and
(loaded on first use, PEP 562, so start-up does not pay for them) the records of the
comparison and usage queries and the deletions core runs through ``Store.write``. The
query modules themselves are core's: panels get their data from core.
"""

import importlib
from typing import TYPE_CHECKING, Any

from app.store.errors import (
    ImportFormatError,
    NotFoundError,
    StoreError,
    StoreOpenError,
    StoreWriteError,
)
from app.store.history import CURRENT_LEAF
from app.store.models import (
    BlobRef,
    ComparisonAnswer,
    ComparisonRun,
    Conversation,
    ImageGeneration,
    ImportReport,
    LedgerEntry,
    Message,
    MessagePage,
    MessageStatus,
    SearchHit,
    SpeechItem,
    StoreOpenReport,
    Transcription,
    Usage,
    UsageAggregate,
)
from app.store.search import SearchFilters
from app.store.store import Store, StorePaths

if TYPE_CHECKING:
    from app.store.audio_queries import delete_speech, delete_transcription
    from app.store.compare_queries import ModelSpeed, RunSummary, VotedAnswer, VotedRun
    from app.store.media import delete_item
    from app.store.prompt_queries import Prompt
    from app.store.usage_queries import CallFilter, LatencyStats

_LAZY = {
    "CallFilter": "usage_queries",
    "LatencyStats": "usage_queries",
    "ModelSpeed": "compare_queries",
    "RunSummary": "compare_queries",
    "VotedAnswer": "compare_queries",
    "VotedRun": "compare_queries",
    "delete_item": "media",
    "Prompt": "prompt_queries",
    "delete_speech": "audio_queries",
    "delete_transcription": "audio_queries",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # next time, a plain module attribute
    return value


__all__ = [
    "CURRENT_LEAF",
    "BlobRef",
    "CallFilter",
    "ComparisonAnswer",
    "ComparisonRun",
    "Conversation",
    "ImageGeneration",
    "ImportFormatError",
    "ImportReport",
    "LatencyStats",
    "LedgerEntry",
    "Message",
    "MessagePage",
    "MessageStatus",
    "ModelSpeed",
    "NotFoundError",
    "Prompt",
    "RunSummary",
    "SearchFilters",
    "SearchHit",
    "SpeechItem",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoreOpenReport",
    "StorePaths",
    "StoreWriteError",
    "Transcription",
    "Usage",
    "UsageAggregate",
    "VotedAnswer",
    "VotedRun",
    "delete_item",
    "delete_speech",
    "delete_transcription",
]
