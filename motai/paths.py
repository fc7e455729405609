"""Where motai keeps its files: `$MOTAI_HOME`, else the user's cache folder."""

from __future__ import annotations

import os
from pathlib import Path


def motai_home() -> Path:
    """`$MOTAI_HOME`, else `$XDG_CACHE_HOME/motai`, else `~/.cache/motai`."""
    home = os.environ.get("MOTAI_HOME")
    if home:
        return Path(home)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "motai"
