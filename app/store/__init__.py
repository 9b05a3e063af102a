"""History that is never lost: conversations, messages, media, usage, search (SQLite).

Open with ``store = await Store.open(data_dir)``; see `Store` for the API and
`app.store.errors` for the error tree. No Qt, no `app.api` imports here.
"""

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

__all__ = [
    "CURRENT_LEAF",
    "BlobRef",
    "ComparisonAnswer",
    "ComparisonRun",
    "Conversation",
    "ImageGeneration",
    "ImportFormatError",
    "ImportReport",
    "LedgerEntry",
    "Message",
    "MessagePage",
    "MessageStatus",
    "NotFoundError",
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
]
