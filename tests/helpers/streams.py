"""Reading a guarded stream the way a caller that stops early does."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any


def read_then_close(stream: Generator[Any, None, None], *, more_than: int) -> str:
    """The text a caller is shown when it reads ``stream`` until it has more than ``more_than`` characters, then
    closes it (the whole text when the stream ends first)."""
    shown = ""
    for chunk in stream:
        shown += str(chunk.content)
        if len(shown) > more_than:
            break
    stream.close()
    return shown
