"""Stream safety: PII split across chunk boundaries never reaches the caller.

For each sample (written for this test), every two-chunk split and seeded random chunkings
into up to 10 chunks are fed through :class:`StreamRedactor`; the concatenated output must
equal the non-streamed redaction and must not contain any raw PII value.
"""

from __future__ import annotations

import random

import pytest

from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import PIIDetector
from guardrails.pii.streaming import StreamRedactor
from guardrails.redaction import RedactionConfig, Redactor
from guardrails.types import Stage

SAMPLES = [
    pytest.param(
        "Sure! You can reach Margaret Ellison at margaret.ellison@example.com or +44 20 7946 0958 tomorrow.",
        ("Margaret Ellison", "margaret.ellison@example.com", "+44 20 7946 0958"),
        id="name-email-phone",
    ),
    pytest.param(
        "The card on file is 4111 1111 1111 1111 and the refund goes to IBAN DE89 3704 0044 0532 0130 00 today.",
        ("4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00"),
        id="card-and-iban",
    ),
    pytest.param(
        "Your SSN 536-22-8745 was verified; the login came from 203.0.113.77 at noon.",
        ("536-22-8745", "203.0.113.77"),
        id="ssn-and-ip",
    ),
    pytest.param(
        "Write to jane dot doe at example dot com, or call +49 30 12345678.",
        ("jane dot doe at example dot com", "+49 30 12345678"),
        id="spoken-email-and-german-phone",
    ),
    pytest.param(
        "Dr. Okafor lives at 742 Evergreen Terrace, Springfield and her number is +33 1 42 68 53 00.",
        ("Okafor", "742 Evergreen Terrace", "+33 1 42 68 53 00"),
        id="honorific-address-french-phone",
    ),
]
HOLDBACK = 64


@pytest.fixture(scope="module")
def detector() -> PIIDetector:
    d = PIIDetector()
    d.warmup()
    return d


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(config=RedactionConfig(), salt=b"stream-test")


def reference(detector: PIIDetector, redactor: Redactor, text: str, conv: str) -> str:
    findings = detector.detect(text, DetectContext(stage=Stage.OUTPUT))
    return redactor.redact(text, findings, stage=Stage.OUTPUT, conversation_id=conv).text


def stream(detector: PIIDetector, redactor: Redactor, chunks: list[str], conv: str) -> list[str]:
    s = StreamRedactor(detector=detector, redactor=redactor, conversation_id=conv, holdback=HOLDBACK)
    out = [s.feed(c) for c in chunks]
    out.append(s.flush())
    return out


@pytest.mark.parametrize(("text", "values"), SAMPLES)
def test_every_two_chunk_split_streams_the_same_redaction(
    detector: PIIDetector, redactor: Redactor, text: str, values: tuple[str, ...]
) -> None:
    expected = reference(detector, redactor, text, "ref-two")
    for v in values:
        assert v not in expected, "the sample's PII must be redacted in the non-streamed answer"
    for cut in range(1, len(text)):
        pieces = stream(detector, redactor, [text[:cut], text[cut:]], f"two-{cut}")
        joined = "".join(pieces)
        assert joined == expected, f"split at {cut}"
        assert not any(v in joined for v in values)


@pytest.mark.parametrize(("text", "values"), SAMPLES)
def test_random_chunkings_into_up_to_ten_chunks_stream_the_same_redaction(
    detector: PIIDetector, redactor: Redactor, text: str, values: tuple[str, ...]
) -> None:
    expected = reference(detector, redactor, text, "ref-random")
    rng = random.Random(f"{len(text)}-{text[:12]}")
    for trial in range(25):
        n_cuts = rng.randint(1, 9)
        cuts = sorted(rng.sample(range(1, len(text)), n_cuts))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        pieces = stream(detector, redactor, chunks, f"random-{trial}")
        assert "".join(pieces) == expected, f"cuts {cuts}"
        # no released piece ever carries a raw value (nor does any prefix of the stream)
        released = ""
        for piece in pieces:
            released += piece
            assert not any(v in released for v in values)


def test_the_stream_holds_back_at_most_the_holdback_plus_a_straddling_entity(
    detector: PIIDetector, redactor: Redactor
) -> None:
    text = "plain words only here " * 20
    s = StreamRedactor(detector=detector, redactor=redactor, holdback=HOLDBACK)
    released = ""
    for i in range(0, len(text), 7):
        released += s.feed(text[i : i + 7])
        fed = min(len(text), i + 7)
        assert fed - len(released) <= HOLDBACK + len("words ")
    assert released + s.flush() == text


def test_stream_redactor_rejects_a_window_smaller_than_the_holdback(detector: PIIDetector, redactor: Redactor) -> None:
    with pytest.raises(ValueError, match="holdback"):
        StreamRedactor(detector=detector, redactor=redactor, holdback=100, window=50)
