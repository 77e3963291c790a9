"""Encoded text spread out, one separator between every two characters (``a G 9 3 I G R v``, ``6-8-6-f-7-7``):
the characters joined, so base64 and hex written so are decoded like any other."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from guardrails.normalize._segments import _Segment

#: characters a spread run joins: base64's (hex digits are among them)
_SPREAD_CHAR = "[A-Za-z0-9+/=]"
#: a run needs this many characters: as many as an unspread base64 candidate (16) or hex one (8 bytes)
_MIN_SPREAD_CHARS = 16
# a run of single characters with the same one separator between every two (a space, a tab, a line break or punctuation
# that is no base64 character, so the run's end is never in doubt and a failed match costs one step back);
# not inside a word
_SPREAD = re.compile(
    rf"(?<!{_SPREAD_CHAR}){_SPREAD_CHAR}([ \t\n.,:;|*~\-_\u00b7\u2022])"
    rf"(?:{_SPREAD_CHAR}\1){{{_MIN_SPREAD_CHARS - 2},}}{_SPREAD_CHAR}(?!{_SPREAD_CHAR})"
)
#: of a run that does not decode, this many stray characters are dropped at either end and the rest tried
#: again (a one-letter word such as "a" or "I" spread like the run beside it)
_MAX_STRAY = 1

_L = TypeVar("_L")


def _spread(decode: Callable[[str, _L], list[_Segment]]) -> Callable[[str, _L], list[_Segment]]:
    """``decode`` (of a base64 or hex candidate) made to read a spread run (:data:`_SPREAD`): it decodes the
    run's characters joined (without a stray character at either end when the whole does not decode), and its
    segments are put back at the run's offsets."""

    def read(seg: str, layer: _L) -> list[_Segment]:
        joined = seg[::2]  # one separator after every character
        n = len(joined)
        for start in range(_MAX_STRAY + 1):
            for end in range(n, n - _MAX_STRAY - 1, -1):
                if end - start < _MIN_SPREAD_CHARS:
                    continue
                found = decode(joined[start:end], layer)
                if found:
                    return [(2 * (start + s), 2 * (start + e) - 1, text) for s, e, text in found]
        return []

    return read
