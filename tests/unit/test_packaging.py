from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "presidio_analyzer", "presidio_anonymizer", "spacy", "onnxruntime", "detoxify")


def test_import_guardrails_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, guardrails; from guardrails import Guard, Action, Decision; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tests_cannot_open_network_sockets() -> None:
    with pytest.raises(Exception, match=r"(?i)socket"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.5)


def _make_dry_run(target: str) -> list[str]:
    """The commands ``make <target>`` would run, the install step taken as done (nothing is run)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", target],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in out.stdout.splitlines() if line.strip()]


def test_make_typecheck_runs_mypy_and_lint_runs_it_too() -> None:
    assert _make_dry_run("typecheck") == [".venv/bin/mypy"]  # it used to be a .PHONY target with no recipe
    lint = _make_dry_run("lint")
    assert ".venv/bin/mypy" in lint and ".venv/bin/ruff check guardrails tests demos benchmarks" in lint


def test_make_demo_and_make_test_are_the_two_commands_of_a_fresh_machine() -> None:
    assert _make_dry_run("demo") == [".venv/bin/python -m demos.showcase"]
    assert _make_dry_run("test") == [".venv/bin/python -m pytest -q"]
