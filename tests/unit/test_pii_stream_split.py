"""Stream safety through the wrapper: PII split across chunk boundaries never reaches the caller.

For each sample (written for this test), every two-chunk split and seeded random chunkings
into up to 10 chunks are streamed by a fake model through ``guard.wrap(model).stream`` with
the real PII detector; the concatenated stream must equal the non-streamed answer
(``invoke``) and no released prefix may contain a raw PII value.
"""

from __future__ import annotations

import random

import pytest

from guardrails import Guard
from guardrails.profiles import DetectorSpec, load_profile
from tests.helpers.spy import chunked_model

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
def guard() -> Guard:
    profile = load_profile("general").model_copy(
        update={
            "detectors": {"pii": DetectorSpec()},
            "streaming": load_profile("general").streaming.model_copy(
                update={"holdback_chars": HOLDBACK, "check_every_chars": 1}
            ),
        }
    )
    g = Guard(profile)
    g.warmup()
    return g


def reference(guard: Guard, text: str, conv: str) -> str:
    out = guard.wrap(chunked_model([text])).invoke("hi", config={"configurable": {"conversation_id": conv}})
    return str(out.content)


def stream(guard: Guard, chunks: list[str], conv: str) -> list[str]:
    chain = guard.wrap(chunked_model(chunks))
    return [str(c.content) for c in chain.stream("hi", config={"configurable": {"conversation_id": conv}})]


@pytest.mark.parametrize(("text", "values"), SAMPLES)
def test_every_two_chunk_split_streams_the_same_redaction(guard: Guard, text: str, values: tuple[str, ...]) -> None:
    tag = str(abs(hash(text)))
    expected = reference(guard, text, f"ref-two-{tag}")
    for v in values:
        assert v not in expected, "the sample's PII must be redacted in the non-streamed answer"
    for cut in range(1, len(text)):
        pieces = stream(guard, [text[:cut], text[cut:]], f"two-{tag}-{cut}")
        joined = "".join(pieces)
        assert joined == expected, f"split at {cut}"
        released = ""
        for piece in pieces:
            released += piece
            assert not any(v in released for v in values)


@pytest.mark.parametrize(("text", "values"), SAMPLES)
def test_random_chunkings_into_up_to_ten_chunks_stream_the_same_redaction(
    guard: Guard, text: str, values: tuple[str, ...]
) -> None:
    tag = str(abs(hash(text)))
    expected = reference(guard, text, f"ref-random-{tag}")
    rng = random.Random(f"{len(text)}-{text[:12]}")
    for trial in range(25):
        n_cuts = rng.randint(1, 9)
        cuts = sorted(rng.sample(range(1, len(text)), n_cuts))
        chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        pieces = stream(guard, chunks, f"random-{tag}-{trial}")
        assert "".join(pieces) == expected, f"cuts {cuts}"
        released = ""
        for piece in pieces:
            released += piece
            assert not any(v in released for v in values)
