"""What a stream may release of an answer so far: the guard asks its detectors, and holds everything back when one
cannot say."""

from __future__ import annotations

from typing import ClassVar

import pytest

from guardrails.detectors.base import DetectContext
from guardrails.testing import KeywordDetector, guard_with
from guardrails.types import Finding, StreamPart

ANSWER = "Water matters more than food on a long walk. Take two litres and a filter for stream water."


class _Settling(KeywordDetector):
    """Vouches for all but the last ``held`` characters of an answer so far, and notes how it was asked to read."""

    name: ClassVar[str] = "settling"

    def __init__(self, held: int, *, fails: bool = False) -> None:
        super().__init__({"grenade": "weapons"})
        self.held = held
        self.fails = fails
        self.partial: list[bool | None] = []

    def settled_chars(self, text: str) -> int:
        if self.fails:
            raise RuntimeError("the encoder could not be loaded")
        return max(0, len(text) - self.held)

    def detect(self, text: str, ctx: DetectContext) -> list[Finding]:
        self.partial.append(None if ctx.stream is None else ctx.stream.partial)
        return super().detect(text, ctx)


def test_a_guard_whose_detectors_read_no_windows_settles_the_whole_answer_so_far() -> None:
    assert guard_with(KeywordDetector({"grenade": "weapons"})).settled_chars(ANSWER) == len(ANSWER)


def test_the_detector_that_settles_least_decides() -> None:
    guard = guard_with(_Settling(30), KeywordDetector({"grenade": "weapons"}))

    assert guard.settled_chars(ANSWER) == len(ANSWER) - 30


def test_a_detector_that_cannot_say_what_it_settled_holds_the_whole_answer_so_far_back() -> None:
    assert guard_with(_Settling(30, fails=True)).settled_chars(ANSWER) == 0


def test_a_partial_check_tells_the_detectors_the_answer_is_not_finished() -> None:
    det = _Settling(30)
    guard = guard_with(det)

    guard.evaluate(ANSWER, "output", stream=StreamPart(partial=True))
    guard.evaluate(ANSWER, "output")

    assert det.partial == [True, None]


def test_a_users_turn_is_never_checked_as_a_partial_answer() -> None:
    with pytest.raises(ValueError, match="stream: only an answer"):
        guard_with(_Settling(30)).evaluate(ANSWER, "input", stream=StreamPart(partial=True))


@pytest.mark.parametrize("bad", [True, "partial", {"partial": True}])
def test_a_stream_part_that_is_not_one_is_refused_naming_its_type(bad: object) -> None:
    with pytest.raises(TypeError, match="stream must be a StreamPart"):
        guard_with(_Settling(30)).evaluate(ANSWER, "output", stream=bad)  # type: ignore[arg-type]


def test_a_stream_parts_repr_shows_no_text_of_the_answer() -> None:
    part = StreamPart(partial=True, head="Call Jane Roe on 555-0100", memo={"semantic:windows": "kept"})

    assert repr(part) == "StreamPart(partial=True, head=25 characters)"
    with pytest.raises(TypeError, match="partial must be a bool"):
        StreamPart(partial="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="head must be a str"):
        StreamPart(head=None)  # type: ignore[arg-type]
