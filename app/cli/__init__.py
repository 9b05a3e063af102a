"""Palaver from the terminal: ``palaver ask | models | usage | history | providers``.

The same data directory and the same core flows as the window: ``ask`` is the chat
panel's :class:`~app.core.chat.ChatSession`, ``usage`` reads the ledger the dashboard
reads, ``providers test`` is the providers dialog's connection test. No Qt is imported.
Every command takes ``--data-dir D``; a failure prints one plain line on stderr and exits
non-zero; ``--json`` prints one JSON document on stdout with stable, English keys.
"""

from __future__ import annotations

COMMANDS = ("ask", "models", "usage", "history", "providers")
