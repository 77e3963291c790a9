"""The PII detector: options, the shared engine, batches, windows and bad input."""

from __future__ import annotations

import itertools
import threading

import pytest
from pydantic import ValidationError

from guardrails.detectors import detector_class
from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import LONG_RUN, NER_LIMIT_LABEL, PIIDetector, PIIOptions, _get_engine, windows
from guardrails.errors import DetectorUnavailable
from guardrails.taxonomy import load_taxonomy
from guardrails.types import Finding

CTX = DetectContext()
SAMPLE = "Hi, I'm Oksana Kowalczyk, mail oksana.k@example.com or call +44 20 7946 0958."


@pytest.fixture(scope="module")
def detector() -> PIIDetector:
    d = PIIDetector()
    d.warmup()
    return d


@pytest.fixture(scope="module")
def patterns() -> PIIDetector:
    return PIIDetector(options=PIIOptions(pattern_only=True))


def spans(text: str, findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.label or "", text[f.start or 0 : f.end or 0]) for f in findings]


def test_registry_name_pii_resolves_to_the_detector() -> None:
    cls = detector_class("pii")
    assert cls is PIIDetector
    assert cls.name == "pii" and cls.categories == ()
    det = cls.from_options(cls.Options(), taxonomy=load_taxonomy())
    assert isinstance(det, PIIDetector)


def test_findings_are_pii_entities_with_spans_and_no_category(detector: PIIDetector) -> None:
    found = detector.detect(SAMPLE, CTX)
    assert found
    for f in found:
        assert f.detector == "pii" and f.category is None and f.label
        assert f.start is not None and f.end is not None and 0 <= f.start < f.end <= len(SAMPLE)
    assert ("EMAIL_ADDRESS", "oksana.k@example.com") in spans(SAMPLE, found)
    assert ("PHONE_NUMBER", "+44 20 7946 0958") in spans(SAMPLE, found)
    assert ("PERSON", "Oksana Kowalczyk") in spans(SAMPLE, found)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t ", id="whitespace"),
        pytest.param("\u2028\u3000\u00a0", id="unicode-spaces"),
    ],
)
def test_empty_or_blank_text_has_no_findings(detector: PIIDetector, text: str) -> None:
    assert detector.detect(text, CTX) == []


def test_control_characters_do_not_crash_and_offsets_stay_true(detector: PIIDetector) -> None:
    text = "\x00\x07bell\x1b[0m mail\u200b\ufeff bob@example.com \x7f\u2029 end \ud800"
    found = detector.detect(text, CTX)
    assert ("EMAIL_ADDRESS", "bob@example.com") in spans(text, found)


def test_pattern_only_mode_runs_no_ner_model(patterns: PIIDetector) -> None:
    found = spans(SAMPLE, patterns.detect(SAMPLE, CTX))
    assert ("EMAIL_ADDRESS", "oksana.k@example.com") in found
    engine = _get_engine(patterns.config)
    assert engine.has_ner is False and "ner" not in engine.nlp.pipe_names
    assert patterns.describe()["ner_model"] is None
    # names are still found by their cues ("my name is", honorifics), not by a model
    assert ("PERSON", "Dr. Okafor") in spans("ask Dr. Okafor", patterns.detect("ask Dr. Okafor", CTX))


def test_organisations_dates_and_nationalities_are_not_pii_by_default(detector: PIIDetector) -> None:
    text = "Microsoft and the ATM team met in 2019; the French delegation arrived on March 3rd."
    assert detector.detect(text, CTX) == []


def test_they_are_reported_when_a_profile_asks_for_them() -> None:
    det = PIIDetector(options=PIIOptions(entities=("ORGANIZATION", "DATE_TIME")))
    labels = {f.label for f in det.detect("Microsoft opened an office on March 3rd, 2021.", CTX)}
    assert labels == {"ORGANIZATION", "DATE_TIME"}


def test_allow_listed_terms_are_never_reported() -> None:
    det = PIIDetector(options=PIIOptions(allow_list=("support@example.com",), pattern_only=True))
    text = "Write to support@example.com or to ana@example.com."
    assert spans(text, det.detect(text, CTX)) == [("EMAIL_ADDRESS", "ana@example.com")]


def test_per_entity_threshold_is_a_noise_floor() -> None:
    text = "phone: 555 0142"
    low = PIIDetector(options=PIIOptions(pattern_only=True))
    high = PIIDetector(options=PIIOptions(pattern_only=True, thresholds={"PHONE_NUMBER": 0.95}))
    assert [f.label for f in low.detect(text, CTX)] == ["PHONE_NUMBER"]
    assert high.detect(text, CTX) == []


def test_custom_yaml_recognizers_regex_with_context_and_deny_list() -> None:
    opts = PIIOptions.model_validate(
        {
            "pattern_only": True,
            "recognizers": [
                {
                    "name": "employee",
                    "entity": "EMPLOYEE_ID",
                    "patterns": [{"regex": r"\bEMP-\d{6}\b", "score": 0.4}],
                    "context": ["employee"],
                },
                {"name": "codenames", "entity": "CODENAME", "deny_list": ["Nightjar"]},
            ],
        }
    )
    det = PIIDetector(options=opts)
    with_context = "The employee badge EMP-123456 opens Nightjar."
    without = "Ticket EMP-123456 is closed."
    assert sorted(spans(with_context, det.detect(with_context, CTX))) == [
        ("CODENAME", "Nightjar"),
        ("EMPLOYEE_ID", "EMP-123456"),
    ]
    assert det.detect(without, CTX) == []  # 0.4 without its context word is under the 0.5 floor


def test_a_yaml_pattern_with_a_value_group_redacts_only_that_group() -> None:
    opts = PIIOptions.model_validate(
        {
            "pattern_only": True,
            "recognizers": [
                {
                    "name": "ticket",
                    "entity": "TICKET_ID",
                    "patterns": [{"regex": r"\bticket\s*(?:no\.?|#)?\s*(?P<value>\d{6})\b", "score": 0.7}],
                }
            ],
        }
    )
    text = "Ticket no. 123456 is still open; ticket #654321 too."
    assert spans(text, PIIDetector(options=opts).detect(text, CTX)) == [
        ("TICKET_ID", "123456"),
        ("TICKET_ID", "654321"),
    ]


def test_recognizer_file_from_configs_loads(tmp_path: object) -> None:
    from guardrails._paths import configs_dir

    path = configs_dir() / "pii" / "examples" / "custom_recognizers.yaml"
    det = PIIDetector(options=PIIOptions(pattern_only=True, recognizer_files=(str(path),)))
    assert "EMPLOYEE_ID" in det.entities and "CODENAME" in det.entities


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"entities": ["PERSON", "SHOE_SIZE"]}, "SHOE_SIZE", id="unknown-entity"),
        pytest.param({"preset": "nope"}, "nope", id="unknown-preset"),
        pytest.param({"thresholds": {"ORGANIZATION": 0.5}}, "ORGANIZATION", id="threshold-for-absent-entity"),
    ],
)
def test_semantic_option_errors_name_the_bad_value(options: dict[str, object], message: str) -> None:
    opts = PIIOptions.model_validate(options)
    with pytest.raises(ValueError, match=message):
        PIIDetector.check_options(opts, taxonomy=load_taxonomy())


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"entitys": ["PERSON"]}, id="unknown-key"),
        pytest.param({"thresholds": {"PERSON": 1.5}}, id="threshold-out-of-range"),
        pytest.param(
            {"recognizers": [{"name": "x", "entity": "lower_case", "deny_list": ["a"]}]}, id="bad-entity-name"
        ),
        pytest.param({"recognizers": [{"name": "x", "entity": "X_ID", "patterns": [{"regex": "("}]}]}, id="bad-regex"),
        pytest.param({"recognizers": [{"name": "x", "entity": "X_ID"}]}, id="nothing-to-match"),
        pytest.param(
            {
                "recognizers": [
                    {"name": "x", "entity": "X_ID", "patterns": [{"regex": "M\\d{7}"}], "context": ["member number"]}
                ]
            },
            id="context-phrase",
        ),
    ],
)
def test_invalid_options_are_rejected(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PIIOptions.model_validate(options)


def test_a_missing_ner_model_is_reported_as_unavailable() -> None:
    det = PIIDetector(options=PIIOptions(ner_model="no_such_spacy_model_xyz"))
    with pytest.raises(DetectorUnavailable, match="no_such_spacy_model_xyz"):
        det.detect("Hello Maria Lopez", CTX)


def test_the_engine_is_built_once_per_configuration(detector: PIIDetector) -> None:
    other = PIIDetector()
    assert _get_engine(other.config) is _get_engine(detector.config)
    patterns = PIIDetector(options=PIIOptions(pattern_only=True))
    assert _get_engine(patterns.config) is not _get_engine(detector.config)


def test_threads_share_the_detector_and_get_the_same_answers(detector: PIIDetector) -> None:
    texts = [SAMPLE, "card 4111 1111 1111 1111 for Maria Lopez", "nothing here", "IBAN GB29 NWBK 6016 1331 9268 19"] * 4
    expected = [detector.detect(t, CTX) for t in texts]
    results: dict[int, list[Finding]] = {}

    def work(i: int) -> None:
        results[i] = detector.detect(texts[i], CTX)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(len(texts))] == expected


def test_detect_batch_equals_detect_one_by_one(detector: PIIDetector) -> None:
    texts = [SAMPLE, "", "Dr. Okafor lives at 12 Baker Street, London.", "no pii at all", "SSN 536-22-8745"]
    batch = detector.detect_batch(texts, [CTX] * len(texts))
    assert batch == [detector.detect(t, CTX) for t in texts]


def test_detect_batch_rejects_mismatched_contexts(detector: PIIDetector) -> None:
    with pytest.raises(ValueError, match="2 texts but 1 contexts"):
        detector.detect_batch(["a", "b"], [CTX])


def test_windows_overlap_and_cover_the_text() -> None:
    text = ("word " * 1000).strip()
    cuts = windows(text, 1000, 100)
    assert cuts[0][0] == 0 and cuts[-1][1] == len(text)
    for (s1, e1), (s2, _e2) in itertools.pairwise(cuts):
        assert s2 < e1 and e1 - s2 >= 100 and e1 - s1 <= 1000


def test_a_long_stretch_without_whitespace_is_cut_into_short_overlapping_windows() -> None:
    text = "intro words " + "x:1:" * 5_000 + " tail words"  # 20,000 characters in one stretch
    cuts = windows(text, 20_000, 256)
    assert len(cuts) > 1 and cuts[0][0] == 0 and cuts[-1][1] == len(text)
    for start, end in cuts:
        assert max(len(run) for run in text[start:end].split()) <= LONG_RUN
    for (_s1, e1), (s2, _e2) in itertools.pairwise(cuts):
        assert e1 - s2 >= 256


def test_ordinary_text_of_one_window_stays_one_window() -> None:
    text = "a normal sentence with spaces " * 600
    assert windows(text, 20_000, 256) == [(0, len(text))]


def test_an_email_inside_a_long_stretch_without_whitespace_is_still_found(patterns: PIIDetector) -> None:
    text = "-" * 3_000 + "&write.to.me@example.org&" + "-" * 3_000
    found = [text[f.start or 0 : f.end or 0] for f in patterns.detect(text, CTX) if f.label == "EMAIL_ADDRESS"]
    assert found == ["write.to.me@example.org"]


def test_no_entity_is_lost_at_a_window_edge() -> None:
    det = PIIDetector(options=PIIOptions(pattern_only=True, window_chars=1_000, window_overlap=128))
    filler = "lorem ipsum dolor sit amet " * 10
    emails = [f"user{i}.name@example.com" for i in range(60)]
    # every email lands at a different offset, many across window boundaries
    text = " ".join(f"{filler[: (i * 37) % len(filler)]} {e}" for i, e in enumerate(emails))
    found = {text[f.start or 0 : f.end or 0] for f in det.detect(text, CTX) if f.label == "EMAIL_ADDRESS"}
    assert found == set(emails)


def test_a_text_over_one_million_characters_is_analysed_without_crashing(detector: PIIDetector) -> None:
    block = "The quick brown fox jumps over the lazy dog. " * 200
    text = block * 120 + " contact: tail.person@example.com " + block
    assert len(text) > 1_000_000
    found = detector.detect(text, CTX)
    assert [text[f.start or 0 : f.end or 0] for f in found if f.label == "EMAIL_ADDRESS"] == ["tail.person@example.com"]


def test_a_text_longer_than_the_ner_limit_carries_a_note_where_ner_stopped() -> None:
    det = PIIDetector(options=PIIOptions(ner_max_chars=1_000, window_chars=1_000, window_overlap=128))
    filler = "The weather report said rain again today. " * 80  # 3,360 characters
    text = "Oksana Kowalczyk wrote first. " + filler + " Later Maria Lopez replied, mail maria.l@example.com."
    found = det.detect(text, CTX)
    persons = [text[f.start or 0 : f.end or 0] for f in found if f.label == "PERSON"]
    assert "Oksana Kowalczyk" in persons and "Maria Lopez" not in persons  # NER stopped before her name
    assert [text[f.start or 0 : f.end or 0] for f in found if f.label == "EMAIL_ADDRESS"] == ["maria.l@example.com"]
    notes = [f for f in found if (f.label or "").startswith(NER_LIMIT_LABEL)]
    assert len(notes) == 1
    note = notes[0]
    read_to = int((note.label or "").split(":")[1])
    assert 1_000 - 250 <= read_to <= 1_000  # at most ner_max_chars, at a word's end
    assert note.category is None and note.start is None
    assert note.score == pytest.approx((len(text) - read_to) / len(text), abs=1e-4)


def _persons(text: str, found: list[Finding]) -> list[tuple[int, str]]:
    return [(f.start or 0, text[f.start or 0 : f.end or 0]) for f in found if f.label == "PERSON"]


def _ner_note(found: list[Finding]) -> Finding | None:
    notes = [f for f in found if (f.label or "").startswith(f"{NER_LIMIT_LABEL}:")]
    assert len(notes) <= 1
    return notes[0] if notes else None


# a name only NER finds (the name lists find a common one such as "Maria Lopez" without it, past the limit too)
NER_ONLY = "Oksana Kowalczyk"


def test_ner_reads_no_further_than_ner_max_chars_so_a_longer_text_always_carries_the_note(
    detector: PIIDetector,
) -> None:
    # the README's numbers: ner_max_chars 50,000, windows of 20,000 characters; a window starting before the limit
    # used to be read whole by NER (to about 59,700), so a 58,542-character text carried no note
    filler = "The weather report said rain again today. "
    # another name later (a repeat of the first would be found as one, whatever NER read: see pii/repeats.py)
    other = "Bogumila Wrzesniewska"
    text = f"{NER_ONLY} asked about the weather. " + filler * 1_300 + f"Yesterday {other} replied. " + filler * 91
    text += " " * (58_542 - len(text) - 25) + "Mail maria.l@example.com."
    later = text.index(other)
    assert len(text) == 58_542 and 50_000 < later < 59_000
    assert (later - 54_600, other) in _persons(text[54_600:], detector.detect(text[54_600:], CTX))  # NER finds it
    found = detector.detect(text, CTX)
    note = _ner_note(found)
    assert note is not None
    read_to = int((note.label or "").split(":")[1])
    assert 50_000 - 1_024 <= read_to <= 50_000
    assert note.score == pytest.approx((len(text) - read_to) / len(text), abs=1e-4)
    assert _persons(text, found) == [(0, NER_ONLY)]  # the later one is past the limit: NER did not read it
    assert [text[f.start or 0 : f.end or 0] for f in found if f.label == "EMAIL_ADDRESS"] == ["maria.l@example.com"]


def test_the_ner_limit_at_its_boundary() -> None:
    det = PIIDetector(options=PIIOptions(ner_max_chars=1_000, window_chars=1_000, window_overlap=128))
    filler = "It may rain again later today. "  # 31 characters
    tail = f"{NER_ONLY} asked about the weather."
    at_limit = filler * 30  # 930 characters
    at_limit += " " * (1_000 - len(at_limit) - len(tail)) + tail
    assert len(at_limit) == 1_000
    found = det.detect(at_limit, CTX)
    assert _ner_note(found) is None  # read whole, to its last word
    assert _persons(at_limit, found) == [(at_limit.index(NER_ONLY), NER_ONLY)]
    note = _ner_note(det.detect(at_limit + "!", CTX))
    assert note is not None and int((note.label or "").split(":")[1]) <= 1_000
    # a name past the limit, in the window the limit falls in (windows start at 0 and about 870)
    later = filler * 35 + f"Yesterday {NER_ONLY} replied to the letter. " + filler * 15
    assert later.index(NER_ONLY) > 1_000 and len(later) < 1_870
    unlimited = PIIDetector(options=PIIOptions(ner_max_chars=None, window_chars=1_000, window_overlap=128))
    assert _persons(later, unlimited.detect(later, CTX)) == [(later.index(NER_ONLY), NER_ONLY)]
    found = det.detect(later, CTX)
    note = _ner_note(found)
    assert note is not None and int((note.label or "").split(":")[1]) <= 1_000
    assert _persons(later, found) == []
    # pattern entities are found everywhere, also one across the limit
    email = "maria.lopez@example.com"
    across = (filler * 40)[: 1_000 - 10] + " " + email + " " + filler * 5
    assert across.index(email) < 1_000 < across.index(email) + len(email)
    found = det.detect(across, CTX)
    assert [across[f.start or 0 : f.end or 0] for f in found if f.label == "EMAIL_ADDRESS"] == [email]


def test_ner_cut_is_at_most_the_limit_and_at_a_word_end() -> None:
    from guardrails.detectors.pii import ner_cut

    words = "alpha beta gamma " * 200
    assert ner_cut(words[:1_000], 1_000) == 1_000 and ner_cut(words, None) == len(words)
    cut = ner_cut(words, 1_000)
    assert 750 <= cut <= 1_000 and words[cut].isspace() and not words[cut - 1].isspace()
    assert ner_cut("x" * 5_000, 1_000) == 1_000  # no whitespace to stop at


def test_no_ner_note_when_ner_read_everything_or_does_not_run(detector: PIIDetector, patterns: PIIDetector) -> None:
    long_text = "Plain words without anyone in them. " * 200
    assert not any((f.label or "").startswith(NER_LIMIT_LABEL) for f in detector.detect(long_text, CTX))
    capped = PIIDetector(options=PIIOptions(pattern_only=True, ner_max_chars=1_000, window_chars=1_000))
    assert not any((f.label or "").startswith(NER_LIMIT_LABEL) for f in capped.detect(long_text, CTX))


def test_describe_reports_settings_but_not_allow_list_terms() -> None:
    det = PIIDetector(options=PIIOptions(allow_list=("secret-term",), pattern_only=True))
    described = det.describe()
    assert described["name"] == "pii" and described["allow_list_size"] == 1
    assert "secret-term" not in repr(described)


async def test_adetect_matches_detect(detector: PIIDetector) -> None:
    assert await detector.adetect(SAMPLE, CTX) == detector.detect(SAMPLE, CTX)


def test_importing_the_detector_module_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, guardrails.detectors.pii, guardrails.redaction;"
        "print(sorted(m for m in ('presidio_analyzer', 'spacy', 'phonenumbers', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("redact_only", [False, True], ids=["check", "redact-only"])
def test_the_ner_note_changes_no_decision_and_shows_in_the_record(redact_only: bool) -> None:
    from guardrails import Guard
    from guardrails.profiles import DetectorSpec, load_profile
    from guardrails.types import Action

    profile = load_profile("general").model_copy(update={"detectors": {"pii": DetectorSpec()}})
    det = PIIDetector(options=PIIOptions(ner_max_chars=1_000, window_chars=1_000, window_overlap=128))
    text = "Oksana Kowalczyk asked about the weather. " + "It may rain again later today. " * 120
    d = Guard(profile, detectors={"pii": det}).check(text, redact_only=redact_only)  # redact-only: retrieved text
    assert d.action is Action.REDACT
    assert d.text == text.replace("Oksana Kowalczyk", "<PERSON_1>")  # the note redacts nothing
    labels = [f["label"] for f in d.to_dict()["findings"]]
    assert any(label.startswith(f"{NER_LIMIT_LABEL}:") for label in labels)


# --- overlapping findings


def _f(start: int, end: int, score: float, label: str = "X") -> Finding:
    return Finding(detector="pii", category=None, score=score, start=start, end=end, label=label)


def test_partly_overlapping_findings_merge_into_their_union_with_the_strongest_label() -> None:
    from guardrails.pii.spans import resolve_overlaps

    kept = resolve_overlaps([_f(0, 10, 0.6, "LOCATION"), _f(5, 15, 0.9, "CREDIT_CARD"), _f(20, 25, 0.5)])
    assert [(k.start, k.end, k.label, k.score) for k in kept] == [(0, 15, "CREDIT_CARD", 0.9), (20, 25, "X", 0.5)]
    # a container replaces what it contains (B); a span bridging two kept ones (C) joins them into one
    kept = resolve_overlaps([_f(0, 10, 0.9, "A"), _f(2, 4, 0.95, "B"), _f(8, 14, 0.5, "C"), _f(12, 20, 0.7, "D")])
    assert [(k.start, k.end, k.label, k.score) for k in kept] == [(0, 20, "A", 0.9)]


def test_no_character_of_partly_overlapping_values_stays_in_clear() -> None:
    from guardrails.pii.spans import resolve_overlaps

    findings = [_f(5, 20, 0.5), _f(10, 14, 0.9), _f(18, 25, 0.8)]
    kept = resolve_overlaps(findings)
    covered = {i for k in kept for i in range(k.start or 0, k.end or 0)}
    assert all(i in covered for f in findings for i in range(f.start or 0, f.end or 0))
    assert all(a.end is not None and b.start is not None and a.end <= b.start for a, b in itertools.pairwise(kept))


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        pytest.param(
            "Regards,\nDr. Okafor\nP.O. Box 4471\nNairobi",
            "Regards,\n<PERSON_1>\n<LOCATION_1>",
            id="name-then-po-box",
        ),
        pytest.param(
            "Jane Roe 4111 1111 1111 1111 Villacher Strasse 89",
            "<PERSON_1> <LOCATION_1>",
            id="card-runs-into-an-address",
        ),
        pytest.param("Ship to 10 Downing Street, London SW1A 2AA", "Ship to <LOCATION_1>", id="uk-postcode"),
        pytest.param(
            "my card 4111 1111 1111 1111 123 is declined", "my card <CREDIT_CARD_1> 123 is declined", id="cvv"
        ),
    ],
)
def test_the_guard_leaves_no_part_of_a_value_in_clear(detector: PIIDetector, text: str, redacted: str) -> None:
    from guardrails import Guard
    from guardrails.profiles import DetectorSpec, load_profile

    profile = load_profile("general").model_copy(update={"detectors": {"pii": DetectorSpec()}})
    assert Guard(profile, detectors={"pii": detector}).check(text).text == redacted


@pytest.mark.parametrize(
    ("text", "action", "redacted"),
    [
        pytest.param(
            "Please update my record:\n12 Harbour Road\nSSN 536-22-8745",
            "BLOCK",
            "Please update my record:\n<LOCATION_1>\nSSN <US_SSN_1>",
            id="ssn-blocked",
        ),
        pytest.param(
            "742 Evergreen Terrace\nSpringfield\n5500 0000 0000 0004",
            "REDACT",
            "<LOCATION_1>\n**** **** **** 0004",
            id="card-masked",
        ),
    ],
)
def test_an_ssn_or_card_on_the_line_after_an_address_gets_its_own_rule(
    detector: PIIDetector, text: str, action: str, redacted: str
) -> None:
    from guardrails.testing import guard_with

    rules = {"US_SSN": "block", "CREDIT_CARD": {"operator": "mask", "keep_last": 4}}
    decision = guard_with(detector, profile={"redaction": {"input": rules}}).check(text)
    assert (decision.action.name, decision.text) == (action, redacted)


# --- what each preset redacts, as README says


def _readme_preset_table() -> dict[str, tuple[set[str], set[str]]]:
    """README's table: preset -> (the profiles said to use it, the entities said to be redacted)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## PII redaction") :]
    rows: dict[str, tuple[set[str], set[str]]] = {}
    for line in section[section.index("| preset | used by the profiles |") :].splitlines()[2:]:
        if not line.startswith("|"):
            break
        preset, profiles, entities = (cell.strip() for cell in line.strip("|").split("|"))
        rows[preset.strip("`")] = (
            {p.strip(" `") for p in profiles.split(",")},
            {e.strip() for e in entities.split(",")},
        )
    return rows


def test_readme_says_exactly_what_each_preset_redacts_and_which_profiles_use_it() -> None:
    from guardrails.detectors.pii import resolve_options
    from guardrails.profiles import builtin_profiles, load_profile

    table = _readme_preset_table()
    assert set(table) == {"general", "finance", "healthcare"}
    for preset, (_, entities) in table.items():
        assert entities == set(resolve_options(PIIOptions(preset=preset)).entities), preset
    users: dict[str, set[str]] = {}
    for name in builtin_profiles():
        options = load_profile(name).detectors["pii"].options
        users.setdefault(options.get("preset", "general"), set()).add(name)
    assert {preset: profiles for preset, (profiles, _) in table.items()} == users
    # dates are PHI: only the healthcare preset redacts them; it redacts everything the general one does
    assert "DATE_TIME" in table["healthcare"][1] and "DATE_TIME" not in table["general"][1] | table["finance"][1]
    assert table["general"][1] <= table["healthcare"][1] and table["general"][1] <= table["finance"][1]


def test_the_healthcare_preset_redacts_a_date_of_birth_and_the_general_one_leaves_it(detector: PIIDetector) -> None:
    text = "Jane was born on 12 March 1980 and admitted on 3/4/2024."
    dated = PIIDetector(options=PIIOptions(preset="healthcare")).detect(text, CTX)
    assert {text[f.start or 0 : f.end or 0] for f in dated if f.label == "DATE_TIME"} == {"12 March 1980", "3/4/2024"}
    assert not any(f.label == "DATE_TIME" for f in detector.detect(text, CTX))  # the general preset


def test_a_custom_pattern_that_can_never_reach_its_entitys_threshold_is_refused() -> None:
    from guardrails.detectors.pii import resolve_options

    spec = {"name": "staff", "entity": "STAFF_ID", "patterns": [{"name": "s", "regex": "\\bS\\d{7}\\b", "score": 0.3}]}
    with pytest.raises(ValueError, match=r"recognizer 'staff': pattern 's' scores 0.3, under the STAFF_ID threshold"):
        resolve_options(PIIOptions.model_validate({"recognizers": [spec]}))
    resolve_options(PIIOptions.model_validate({"recognizers": [{**spec, "context": ["staff"]}]}))  # context may lift it
    resolve_options(PIIOptions.model_validate({"recognizers": [spec], "thresholds": {"STAFF_ID": 0.3}}))


@pytest.mark.parametrize("text", ["Ok, thanks!", "Ok, then just the first step.", "Ah, I see."])
def test_a_chat_interjection_that_opens_a_message_is_not_taken_for_a_name(detector: PIIDetector, text: str) -> None:
    assert spans(text, detector.detect(text, CTX)) == []


def test_short_names_that_look_like_interjections_are_still_names(detector: PIIDetector) -> None:
    for text, name in (("Ty Pennington hosted it", "Ty Pennington"), ("My colleague Ha sent the report.", "Ha")):
        assert ("PERSON", name) in spans(text, detector.detect(text, CTX))
