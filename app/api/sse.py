"""A fast, incremental Server-Sent Events decoder (bytes in, events out).

Follows the WHATWG event-stream rules that matter for OpenAI-style streams: lines end
with LF, CRLF or a lone CR (also split across reads); an event is dispatched at a blank
line; ``data:`` lines of one event are joined with ``\\n``; an event whose data is empty
(a blank ``data:`` line) is not dispatched; ``:`` lines are comments; ``event:``, ``id:``
and ``retry:`` are kept; unknown fields are ignored. At the end of the input, ``flush()``
dispatches a last event that was not followed by a blank line (lenient: some servers end
with ``data: [DONE]\\n``).

Hot path: input is split on ``\\n\\n`` and a block that is exactly one ``data: ...`` line
(the shape of every OpenAI chunk) is sliced without further parsing. Partial input costs
nothing until an event boundary arrives (no re-scanning of a growing buffer).
"""

from __future__ import annotations

__all__ = ["SSEDecoder", "SSEEvent"]

SSEEvent = tuple[str | None, bytes]
"""``(event type or None, data)``; data is bytes (decode or parse it as you like)."""

_EMPTY: list[SSEEvent] = []


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events that became complete."""

    __slots__ = ("_held_cr", "_last_nl", "_parts", "last_event_id", "retry_ms")

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._last_nl = False
        self._held_cr = False
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._held_cr:
            chunk = b"\r" + chunk
            self._held_cr = False
        if b"\r" in chunk:
            if chunk[-1] == 13:  # a CR at the end may be the first half of CRLF
                chunk = chunk[:-1]
                self._held_cr = True
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if not chunk:
            return _EMPTY
        parts = self._parts
        if b"\n\n" not in chunk and not (self._last_nl and chunk[0] == 10):
            parts.append(chunk)
            self._last_nl = chunk[-1] == 10
            return _EMPTY
        if parts:
            parts.append(chunk)
            chunk = b"".join(parts)
            parts.clear()
        blocks = chunk.split(b"\n\n")
        rest = blocks.pop()
        if rest:
            parts.append(rest)
            self._last_nl = rest[-1] == 10
        else:
            self._last_nl = False
        out: list[SSEEvent] = []
        append = out.append
        for block in blocks:
            if block[:6] == b"data: " and b"\n" not in block:
                if len(block) > 6:
                    append((None, block[6:]))
            elif block:
                event = self._parse_block(block)
                if event is not None:
                    append(event)
        return out

    def flush(self) -> list[SSEEvent]:
        """End of input: the last event, if the stream did not end with a blank line."""
        held = b"\n" if self._held_cr else b""
        self._held_cr = False
        data = b"".join(self._parts) + held
        self._parts.clear()
        self._last_nl = False
        block = data.strip(b"\n")
        if not block:
            return []
        event = self._parse_block(block)
        return [event] if event is not None else []

    def _parse_block(self, block: bytes) -> SSEEvent | None:
        data: list[bytes] = []
        event: str | None = None
        for line in block.split(b"\n"):
            if not line or line[0] == 58:  # blank (leading) or ":" comment
                continue
            name, sep, value = line.partition(b":")
            if sep and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value.decode("utf-8", "replace") or None
            elif name == b"id":
                if b"\0" not in value:
                    self.last_event_id = value.decode("utf-8", "replace")
            elif name == b"retry" and value.isdigit():
                self.retry_ms = int(value)
        if not data:
            return None
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        if not payload:
            return None
        return (event, payload)
