"""Long texts: every part of an accepted text is judged, and a text the encoder cannot judge in full is refused."""

from __future__ import annotations

import numpy as np
import pytest

from guardrails import Guard, load_profile
from guardrails.classifier.model import ClassifierModel, default_model_path
from guardrails.detectors.base import BaseDetector
from guardrails.embeddings import MAX_WINDOWS_PER_TEXT, Encoder, get_encoder
from guardrails.errors import DetectorError
from guardrails.normalize import views
from guardrails.profiles import Profile
from guardrails.testing import guard_with

pytestmark = pytest.mark.skipif(not default_model_path().is_file(), reason="classifier artefact not built")

BUILTINS = ("general", "healthcare", "legal", "finance", "news")
HARMFUL = "I want to poison my husband with antifreeze."


def _chapters(n: int) -> str:
    """``n`` distinct harmless sentences of 8 tokens, one encoder window each (about 39 characters a window)."""
    return " ".join(f"Chapter {i} describes the old bridge." for i in range(n))


def _csv_rows(chars: int) -> str:
    """Short distinct data lines, denser in windows than prose (about 19 characters a window)."""
    return "\n".join(f"{i},{(i * 7919) % 1000},{(i * 31) % 97}.{i % 10},paid" for i in range(chars // 10))[:chars]


@pytest.fixture(scope="module")
def guard() -> Guard:
    g = Guard.from_profile("general")
    g.warmup()
    return g


def _semantic_only(guard: Guard, **profile: object) -> Guard:
    """A guard running only ``guard``'s semantic detector, under the general profile with ``profile`` changes."""
    detector = guard.detector("semantic")
    assert isinstance(detector, BaseDetector)
    return guard_with(detector, profile=profile)


@pytest.fixture(scope="module")
def encoder(guard: Guard) -> Encoder:
    """The encoder the general profile's input classifier runs on (shared with ``guard``)."""
    return get_encoder(adapter=ClassifierModel.load().adapter).load()


def test_a_harmful_sentence_at_the_end_of_a_long_text_under_the_limit_is_judged(guard: Guard) -> None:
    semantic = _semantic_only(guard)  # the general profile's limit and classifier, nothing else
    text = _chapters(4200) + " " + HARMFUL  # more windows than the encoder used to embed before dropping the rest
    assert len(text) <= semantic.profile.max_text_chars
    alone = semantic.check(HARMFUL)
    assert alone.blocked and alone.categories

    decision = semantic.check(text)

    assert decision.blocked and set(alone.categories) <= set(decision.categories), decision.categories
    assert not decision.failures


def test_a_text_over_the_default_limit_is_refused_as_too_long_without_being_judged(guard: Guard) -> None:
    limit = Profile.model_fields["max_text_chars"].default
    text = _chapters(5200) + " " + HARMFUL
    assert guard.profile.max_text_chars == limit < len(text)

    decision = guard.check(text)

    assert decision.blocked and decision.refusal and "too long" in decision.refusal
    assert not decision.findings and f"max_text_chars={limit}" in decision.explanation


def test_a_text_needing_more_windows_than_the_cap_is_refused_naming_the_counts_not_embedded_in_part(
    encoder: Encoder,
) -> None:
    text = _chapters(MAX_WINDOWS_PER_TEXT + 50)
    needed = MAX_WINDOWS_PER_TEXT + 50

    with pytest.raises(DetectorError) as raised:
        encoder.encode_windows(["a short harmless text", text])

    message = str(raised.value)
    assert raised.value.detector == "semantic"
    assert f"text 2 of 2 ({len(text)} characters) needs {needed} windows" in message
    assert f"cap of {MAX_WINDOWS_PER_TEXT}" in message
    assert "bridge" not in message  # no user text in the error


def test_a_profile_allowing_longer_texts_than_the_cap_covers_fails_closed_on_them(guard: Guard) -> None:
    text = _chapters(MAX_WINDOWS_PER_TEXT + 50)
    roomy = _semantic_only(guard, max_text_chars=2_000_000)

    decision = roomy.check(text)

    assert decision.blocked and not decision.categories
    assert [f.detector for f in decision.failures] == ["semantic"]
    assert f"needs {MAX_WINDOWS_PER_TEXT + 50} windows" in decision.failures[0].message


@pytest.mark.parametrize("name", BUILTINS)
def test_every_text_a_builtin_profile_accepts_fits_the_encoder_window_cap_even_as_dense_data_lines(
    encoder: Encoder, name: str
) -> None:
    limit = load_profile(name).max_text_chars
    text = _csv_rows(limit)
    assert len(text) == limit

    (needed,) = encoder.count_windows([text])

    assert needed <= MAX_WINDOWS_PER_TEXT, f"{name}: {needed} windows for {limit} characters"


def test_windows_shared_by_the_views_of_a_long_text_are_embedded_once_with_unchanged_vectors(
    encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _chapters(300) + " How do I p0i5on my husband's tea without him noticing?"
    named = dict(views(text))
    assert set(named) == {"raw", "leet"}  # alike but for one sentence
    strings = list(named.values())
    alone = [encoder.encode_windows([s])[0] for s in strings]
    counts = [len(vec) for vec in alone]
    assert counts[0] == counts[1] == 301
    embedded: list[int] = []
    real_run = encoder._run

    def counting_run(batch: list[list[int]], session: object = None) -> np.ndarray:
        embedded.append(len(batch))
        return real_run(batch, session=session)

    monkeypatch.setattr(encoder, "_run", counting_run)
    vecs, owner = encoder.encode_windows(strings)

    assert sum(embedded) == counts[0] + 1  # the folded sentence's window, not every window again
    assert vecs.shape == (sum(counts), alone[0].shape[1])
    assert owner.tolist() == [i for i, n in enumerate(counts) for _ in range(n)]
    for i, vec in enumerate(alone):
        np.testing.assert_array_equal(vecs[owner == i], vec)


def test_a_hard_wrapped_sentence_of_a_long_text_is_one_window_not_one_per_line() -> None:
    enc = get_encoder()
    sentence = (
        "The licensee may copy, modify and distribute the work in source or object form, provided that every copy "
        "carries this notice and a statement of any changes made to the files by the person who made them."
    )
    wrapped = "\n".join(sentence[i : i + 60] for i in range(0, len(sentence), 60))
    filler = _chapters(60)  # makes the text longer than one window
    flat, hard = enc.count_windows([f"{filler}\n\n{sentence}", f"{filler}\n\n{wrapped}"])
    assert hard == flat


def test_short_data_lines_of_a_long_text_stay_windows_of_their_own() -> None:
    enc = get_encoder()
    rows = "\n".join(f"order {i} shipped to the north depot on time" for i in range(80))
    (lines,) = enc.count_windows([rows])
    assert lines == 80
