"""What each endpoint (base URL + model) supports, remembered between runs: the
structured-output strategy that worked, whether it returns logprobs."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from motai.paths import motai_home


class EndpointMemory:
    """What each endpoint (base URL + model) supports, in a small JSON file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else motai_home() / "endpoints.json"
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def get(self, key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._load().get(key, {}))

    def update(self, key: str, **values: Any) -> None:
        with self._lock:
            data = self._load()
            data.setdefault(key, {}).update(values)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
            tmp.replace(self.path)
