"""One event loop in a daemon thread, for sync callers of async HTTP code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import Any


class BackgroundLoop:
    """One event loop in a daemon thread: sync callers submit coroutines to it, so the
    HTTP client's connections live on one loop, and a caller inside a running loop
    (a notebook) does not deadlock."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]
