"""Documents the user attaches: how many turns the general profile stops, judging their words or only redacting them.

    python benchmarks/attached_documents.py [--docs 30] [--seed 7]

Each of ``--docs`` README and NEWS files of /usr/share/doc (300 to 3,000 words, a seeded sample) is attached as an
Anthropic plain-text ``document`` block to the turn "Summarize this document", through ``guard.wrap`` around a chain
that always answers the same harmless summary. A turn counts as stopped when the answer is not that summary (a
refusal or a crisis referral). Measured with the profile's ``attached_documents: judge`` (the default) and
``redact``. Prints counts only, never a document's text; no assertions. Without /usr/share/doc nothing is measured.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from guardrails import Guard
from guardrails.profiles import load_profile

SUMMARY = "Here is a short summary."


def documents(count: int, seed: int) -> list[str]:
    """README and NEWS files of 300 to 3,000 words, a seeded sample of ``count``."""
    root = Path("/usr/share/doc")
    paths = sorted(
        p for pattern in ("*/README*", "*/NEWS*") for p in root.glob(pattern) if p.suffix not in (".gz", ".html")
    )
    random.Random(seed).shuffle(paths)
    out: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if 300 < len(text.split()) < 3000:
            out.append(text)
        if len(out) == count:
            break
    return out


def stopped(guard: Guard, texts: list[str]) -> int:
    chain = guard.wrap(RunnableLambda(lambda _: AIMessage(SUMMARY)))
    count = 0
    for text in texts:
        document: dict[str, Any] = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": text},
        }
        out = chain.invoke([HumanMessage(content=[{"type": "text", "text": "Summarize this document"}, document])])
        words = out if isinstance(out, str) else out.content
        count += not (isinstance(words, str) and words.startswith(SUMMARY))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    texts = documents(args.docs, args.seed)
    if not texts:
        print("no README or NEWS files of 300-3,000 words under /usr/share/doc: nothing measured")
        return
    general = load_profile("general")
    for mode in ("judge", "redact"):
        guard = Guard(profile=general.model_copy(update={"attached_documents": mode}))
        print(f"attached_documents: {mode:6s} {stopped(guard, texts)} of {len(texts)} turns stopped")


if __name__ == "__main__":
    main()
