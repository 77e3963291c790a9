from __future__ import annotations

import socket
import subprocess
import sys

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
