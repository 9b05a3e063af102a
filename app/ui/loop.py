"""The qasync event loop, with the async-generator hooks asyncio's own loops install.

qasync 0.28 never calls ``sys.set_asyncgen_hooks``: an async generator left unfinished
(httpx's line iterator after an SSE ``[DONE]``) is then finalised with no running loop
and raises ``RuntimeError: no running event loop``. Installing the hooks while the loop
runs lets the loop close such generators itself, as asyncio's own loops do.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import qasync


class QtLoop(qasync.QEventLoop):
    def run_forever(self) -> Any:
        old_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,
            finalizer=self._asyncgen_finalizer_hook,
        )
        try:
            return super().run_forever()
        finally:
            sys.set_asyncgen_hooks(*old_hooks)


def loop_factory() -> asyncio.AbstractEventLoop:
    """A new :class:`QtLoop` on the running ``QApplication``."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    return QtLoop(app, already_running=False)
