"""A conversation showing every kind of content, for screenshots and the demo."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime, timedelta

from app.ui.chat.messages import DisplayMessage, Role, Status, ToolCall, Usage

IMAGE_URL = "https://images.example/cat.png"

ANSWER = """\
## Sorting a list in Python

Use **`sorted()`** for a new list, or `list.sort()` to sort *in place*:

```python
def top_scores(scores: dict[str, int], n: int = 3) -> list[tuple[str, int]]:
    \"\"\"The n best players, best first.\"\"\"
    return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:n]  # a long comment that goes on and on past the edge of the box
```

| Method | Returns | Stable |
|---|---|:-:|
| `sorted(xs)` | a new list | yes |
| `xs.sort()` | `None` | yes |

> Both are stable: equal items keep their order. This matters when you sort by
> several keys one after another.

1. Sort by the secondary key first
2. Then by the primary key
   - nested points work too
   - see [the Python docs](https://docs.python.org/3/howto/sorting.html)

Raw HTML stays text: <b>not bold</b> <script>alert(1)</script>

![A cat](https://images.example/cat.png) ![remote](https://evil.example/pixel.png)
"""

LIVE = 99_999  # the id of the streaming answer in the view tests and the demo


def png(width: int, height: int) -> bytes:
    """A small gradient PNG (no Qt needed)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 255 // width, y * 255 // height, 160)) for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def sample_conversation() -> list[DisplayMessage]:
    return [
        DisplayMessage(1, Role.USER, "How do I sort a dict of scores?\nShow me the top three."),
        DisplayMessage(
            2,
            Role.ASSISTANT,
            ANSWER,
            model="gpt-4o-mini",
            usage=Usage(412, 286, cost=0.00023, ttft_ms=380, tokens_per_s=61.4),
            branch_index=1,
            branch_count=3,
            images={IMAGE_URL: png(160, 90)},
        ),
        DisplayMessage(3, Role.USER, "What's the weather in Paris?"),
        DisplayMessage(
            4,
            Role.ASSISTANT,
            "Let me look that up.",
            model="gpt-4o-mini",
            tool_calls=(
                ToolCall(
                    "get_weather", '{"city": "Paris", "units": "metric", "days": 3}', "call_1"
                ),
            ),
            usage=Usage(96, 31, estimated=True),
        ),
        DisplayMessage(5, Role.USER, "Write me a long story."),
        DisplayMessage(
            6,
            Role.ASSISTANT,
            "Once upon a time, in a land of endless tokens, there lived a",
            model="gpt-4o",
            status=Status.ERROR,
            error="Rate limited: the provider allows 3 requests per minute on this key.",
            retry_at=datetime.now() + timedelta(seconds=42),
            usage=Usage(35, 14, estimated=True, ttft_ms=910),
        ),
        DisplayMessage(7, Role.USER, "Try again, shorter."),
        DisplayMessage(
            8,
            Role.ASSISTANT,
            "Here is a shorter one:\n\nA small robot learned to",
            model="gpt-4o",
            status=Status.STREAMING,
        ),
    ]
