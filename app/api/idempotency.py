"""One Idempotency-Key per logical request, kept across the user's own "Retry".

Automatic retries inside one call already send the same key. A call that ended without an
answer (a time-out, a dropped connection) may still have been done and charged by the
provider; when the person retries the very same request (same endpoint, same body) within
the provider's idempotency window, it goes with the same key, so the provider answers from
its cache instead of charging twice. A call that got an answer, even an error status, is
settled: its key is forgotten and a new request gets a new key (a provider may cache the
error too, and the person retries to get past it).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import OrderedDict

__all__ = ["UnsettledKeys"]

_MAX_KEPT = 64  # a person retries a handful of calls, not thousands


class UnsettledKeys:
    """Keys of calls whose outcome is unknown, by a digest of what was sent."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._clock = time.monotonic
        self._keys: OrderedDict[str, tuple[str, float]] = OrderedDict()

    @staticmethod
    def digest(url: str, body: bytes | None) -> str | None:
        """None when there is no body to compare (multipart uploads): never reused."""
        if body is None:
            return None
        return hashlib.blake2b(url.encode() + b"\0" + body, digest_size=16).hexdigest()

    def key_for(self, digest: str | None) -> str:
        """The unsettled key of this very request while the window lasts, else a new one."""
        if digest is not None:
            kept = self._keys.get(digest)
            if kept is not None and self._clock() - kept[1] < self.window_s:
                return kept[0]
        return str(uuid.uuid4())

    def unsettled(self, digest: str | None, key: str) -> None:
        """The call ended without an answer: keep its key for a retry."""
        if digest is None:
            return
        first = self._keys.pop(digest, (key, self._clock()))  # the window runs from first use
        self._keys[digest] = (key, first[1] if first[0] == key else self._clock())
        while len(self._keys) > _MAX_KEPT:
            self._keys.popitem(last=False)

    def settled(self, digest: str | None) -> None:
        if digest is not None:
            self._keys.pop(digest, None)
