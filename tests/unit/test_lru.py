"""The bounded LRU map behind every in-memory memo (judged prompts, earlier-turn scores, refused turns)."""

from __future__ import annotations

import pytest

from guardrails._lru import LRU


def test_the_least_recently_used_entry_goes_first_and_reading_counts_as_use() -> None:
    memo: LRU[str, int] = LRU(2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # "b" is now the least recent
    memo.put("c", 3)
    assert list(memo) == ["a", "c"] and "b" not in memo and len(memo) == 2


@pytest.mark.parametrize("size", [0, -1, True, 2.5])
def test_a_size_that_holds_no_entry_is_refused_naming_it(size: object) -> None:
    with pytest.raises(ValueError, match=repr(size)):
        LRU(size)  # type: ignore[arg-type]


def test_pop_removes_an_entry_and_returns_its_value_or_none() -> None:
    memo: LRU[str, int] = LRU(2)
    memo.put("a", 1)
    assert memo.pop("a") == 1 and "a" not in memo and len(memo) == 0
    assert memo.pop("a") is None
