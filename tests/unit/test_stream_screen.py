"""The streaming screen on its own: what it releases, and when."""

from __future__ import annotations

import re
import threading

from guardrails.streaming import StreamScreen
from guardrails.types import Action, Decision, Finding, Stage

_EMPLOYEE_ID = re.compile(r"EMP-\d{6}")


def _check(window: str) -> Decision:
    spans = [Finding("pii", None, 1.0, m.start(), m.end(), label="EMPLOYEE_ID") for m in _EMPLOYEE_ID.finditer(window)]
    return Decision(action=Action.REDACT if spans else Action.ALLOW, stage=Stage.OUTPUT, text="", findings=tuple(spans))


def _redact(segment: str, entities: list[Finding]) -> str:
    for f in sorted(entities, key=lambda f: -(f.start or 0)):
        segment = segment[: f.start] + "<EMPLOYEE_ID>" + segment[f.end :]
    return segment


def test_a_value_longer_than_the_look_back_never_streams_out_whole() -> None:
    answer = "Your badge number is EMP-123456, keep it safe."
    screen = StreamScreen(check=_check, transform=_redact, holdback_chars=4, check_every_chars=1)
    shown = "".join(screen.feed(ch) for ch in answer) + screen.flush()
    assert "EMP-123456" not in shown and "3456" not in shown  # at most the head that preceded recognition
    assert shown.endswith("<EMPLOYEE_ID>, keep it safe.")


def test_a_value_inside_the_look_back_is_redacted_whole() -> None:
    answer = "Your badge number is EMP-123456, keep it safe."
    screen = StreamScreen(check=_check, transform=_redact, holdback_chars=16, check_every_chars=1)
    shown = "".join(screen.feed(ch) for ch in answer) + screen.flush()
    assert shown == "Your badge number is <EMPLOYEE_ID>, keep it safe."


def test_the_streamed_answer_is_summed_up_by_every_check_not_only_the_last() -> None:
    def check(window: str) -> Decision:
        found = _check(window).findings
        medical = "ibuprofen" in window
        return Decision(
            action=Action.REDACT if found else (Action.DISCLAIM if medical else Action.ALLOW),
            stage=Stage.OUTPUT,
            text="",
            findings=found,
            categories=("domain_medical",) if medical else (),
            disclaimer_categories=("domain_medical",) if medical else (),
            disclaimers=("AI-generated; not medical advice.",) if medical else (),
        )

    answer = "EMP-123456 may take ibuprofen. " + "Then rest for a while. " * 20
    screen = StreamScreen(check=check, transform=_redact, holdback_chars=8, check_every_chars=16, window_chars=64)
    for ch in answer:
        screen.feed(ch)
    screen.flush()
    assert screen.last is not None and screen.last.action is Action.ALLOW  # the last window saw neither
    summary = screen.summary
    assert summary is not None and summary.action is Action.REDACT
    assert summary.categories == ("domain_medical",) and summary.disclaimer_categories == ("domain_medical",)
    assert summary.disclaimers == ("AI-generated; not medical advice.",)
    assert [(f.label, f.start) for f in summary.findings] == [("EMPLOYEE_ID", None)]


def test_the_checked_text_is_the_whole_answer_once_flushed_and_ends_where_a_block_stopped_the_checks() -> None:
    answer = "Your badge number is EMP-123456, keep it safe."
    screen = StreamScreen(check=_check, transform=_redact, holdback_chars=8, check_every_chars=4)
    for ch in answer[:30]:
        screen.feed(ch)
    assert answer.startswith(screen.checked_text) and 0 < len(screen.checked_text) <= 30  # what the checks saw
    for ch in answer[30:]:
        screen.feed(ch)
    screen.flush()
    assert screen.checked_text == answer

    def blocking(window: str) -> Decision:
        return Decision(action=Action.BLOCK if "EMP" in window else Action.ALLOW, stage=Stage.OUTPUT, text="")

    stopped = StreamScreen(check=blocking, transform=_redact, holdback_chars=8, check_every_chars=4)
    for ch in answer:
        stopped.feed(ch)
    stopped.flush()
    assert stopped.blocked is not None and "EMP" in stopped.checked_text and not answer.endswith(stopped.checked_text)


def test_a_blocked_answer_is_summed_up_with_every_windows_categories_and_no_window_offsets() -> None:
    def check(window: str) -> Decision:
        medical, weapon = "ibuprofen" in window, "grenade" in window
        findings = tuple(Finding("kw", "weapons", 1.0, window.index("grenade"), window.index("grenade") + 7)
                         for _ in [0] if weapon)  # fmt: skip
        return Decision(
            action=Action.BLOCK if weapon else (Action.DISCLAIM if medical else Action.ALLOW),
            stage=Stage.OUTPUT,
            text="",
            findings=findings,
            categories=("weapons",) if weapon else (("domain_medical",) if medical else ()),
            disclaimer_categories=("domain_medical",) if medical and not weapon else (),
            disclaimers=("AI-generated; not medical advice.",) if medical and not weapon else (),
            refusal="no" if weapon else None,
        )

    answer = "Take ibuprofen. " + "Then rest for a while. " * 10 + "Now the grenade part."
    screen = StreamScreen(check=check, transform=_redact, holdback_chars=8, check_every_chars=16, window_chars=64)
    for ch in answer:
        screen.feed(ch)
    screen.flush()
    summary = screen.summary
    assert summary is not None and summary.action is Action.BLOCK and summary.refusal == "no"
    assert set(summary.categories) == {"domain_medical", "weapons"}  # the earlier window's category is kept
    assert summary.disclaimers == ()  # a blocked answer carries no disclaimer
    assert [(f.category, f.start) for f in summary.findings] == [("weapons", None)]  # offsets into one window only


def test_a_screen_read_mid_check_says_a_window_is_unjudged_and_holds_neither_its_decision_nor_its_text() -> None:
    started, release = threading.Event(), threading.Event()

    def slow(window: str) -> Decision:
        if "second" in window:
            started.set()
            assert release.wait(10)
        return _check(window)

    screen = StreamScreen(check=slow, transform=_redact, holdback_chars=8, check_every_chars=1)
    first = "The first part is EMP-123456 and more. "
    shown = screen.feed(first)
    worker = threading.Thread(target=screen.feed, args=("The second part.",))
    worker.start()
    assert started.wait(10)
    summary, text, unjudged = screen.state()
    assert unjudged and text == first and summary is not None and summary.action is Action.REDACT
    release.set()
    worker.join(10)
    summary, text, unjudged = screen.state()
    assert not unjudged and text == first + "The second part." and len(screen.decisions) == 2
    assert "second" not in shown


def test_a_screens_repr_never_shows_the_answers_words() -> None:
    screen = StreamScreen(check=_check, transform=_redact, holdback_chars=4, check_every_chars=1)
    screen.feed("Call Maria Lopez now")
    assert "Maria" not in repr(screen) and "Maria" in screen.buffer


def test_the_cut_never_falls_inside_a_value_when_two_values_overlap() -> None:
    answer = "Hello there, Maria Lopez Street 5 is my address, write to me."
    values = {"Maria Lopez": "PERSON", "Lopez Street 5": "LOCATION"}  # overlapping: "Lopez" is in both

    def check(window: str) -> Decision:
        spans = [
            Finding("pii", None, 1.0, m.start(), m.end(), label=label)
            for value, label in values.items()
            for m in re.finditer(re.escape(value), window)
        ]
        return Decision(action=Action.REDACT, stage=Stage.OUTPUT, text="", findings=tuple(spans))

    ends: list[int] = []

    def transform(segment: str, entities: list[Finding]) -> str:
        ends.append(sum(len(s) for s in cuts) + len(segment))
        cuts.append(segment)
        return segment

    cuts: list[str] = []
    screen = StreamScreen(check=check, transform=transform, holdback_chars=16, check_every_chars=1)
    for ch in answer:
        screen.feed(ch)
    screen.flush()
    person = answer.index("Maria Lopez")
    assert not [e for e in ends if person < e < person + len("Maria Lopez")]


def test_text_a_check_has_not_settled_is_held_back_until_a_later_check_or_the_end() -> None:
    calls: list[tuple[bool, str, str]] = []

    def part(window: str, *, partial: bool, head: str) -> Decision:
        calls.append((partial, head, window))
        return _check(window)

    answer = "A plain sentence about the garden goes here. " * 12
    screen = StreamScreen(
        check=_check,
        check_part=part,
        settled=lambda so_far: max(0, len(so_far) - 60),
        transform=_redact,
        holdback_chars=8,
        check_every_chars=16,
        window_chars=256,
    )
    shown = ""
    for ch in answer:
        shown += screen.feed(ch)
        assert len(shown) <= max(0, screen.checked - 60)  # never past what the last check settled
    shown += screen.flush()

    assert shown == answer
    assert calls[0][:2] == (True, "")  # the answer so far, from its start
    assert all(head + window == answer[: len(head + window)] for _, head, window in calls)  # told what came before
    assert any(head for _, head, _ in calls)  # later checks read its last 256 characters
    assert calls[-1][0] is False and calls[-1][1] + calls[-1][2] == answer  # the last one: the finished answer


def test_checks_come_every_check_every_chars_while_unsettled_text_is_held_back() -> None:
    calls: list[int] = []

    def check(window: str) -> Decision:
        calls.append(len(window))
        return _check(window)

    answer = "x" * 1000
    screen = StreamScreen(
        check=check,
        settled=lambda window: max(0, len(window) - 200),
        transform=_redact,
        holdback_chars=8,
        check_every_chars=16,
    )
    for ch in answer:
        screen.feed(ch)
    screen.flush()

    assert len(calls) <= len(answer) // 16 + 2  # not one check per chunk once 200 characters are held back


def test_checks_that_can_release_nothing_come_less_and_less_often() -> None:
    calls: list[int] = []

    def check(window: str) -> Decision:
        calls.append(len(window))
        return _check(window)

    answer = "x" * 20_000
    screen = StreamScreen(
        check=check, settled=lambda so_far: 0, transform=_redact, holdback_chars=8, check_every_chars=16
    )
    for ch in answer:
        screen.feed(ch)
    shown = screen.flush()

    assert shown == answer
    longer = [n for n in calls if n > 2000]  # past window_chars, each check reads all the unreleased text
    assert len(longer) <= 12  # doubling intervals: about log2(18,000 / 16), not 1,125 checks of the whole text
    assert sum(longer) <= 4 * len(answer)  # a multiple of the length, not its square (1,125 x ~11,000)


def test_checks_that_read_the_whole_answer_so_far_come_at_most_every_sixteenth_of_it() -> None:
    reads: list[int] = []

    def part(window: str, *, partial: bool, head: str) -> Decision:
        reads.append(len(head) + len(window))
        return _check(window)

    answer = "A plain sentence about the garden goes here. " * 1300  # 58,500 characters
    screen = StreamScreen(check=_check, check_part=part, transform=_redact, holdback_chars=8, check_every_chars=16)
    shown = "".join(screen.feed(ch) for ch in answer) + screen.flush()

    assert shown == answer
    assert sum(reads) <= 20 * len(answer)  # a multiple of the length (every 16 characters: some 3,600 times it)
