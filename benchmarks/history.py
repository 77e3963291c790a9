"""What a conversation's history costs a request: the general profile around a fake chat model, the same new turn
after 0, 5 and 20 earlier exchanges, once the guard knows them (every request after the first of a conversation).

    .venv/bin/python benchmarks/history.py [--repeat 15]

Prints medians of the same run, interleaved so noise hits every length alike, and each length's ratio to no
history; then the first request of a 20-exchange history the guard never saw (its turns and answers judged once).
"""

from __future__ import annotations

import argparse
import statistics
import time

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from guardrails import Guard

ANSWER = "Rye flour needs more water and a longer rest; add the seeds after the first rise and bake it hot."


def conversation(exchanges: int, tag: str = "") -> list[BaseMessage]:
    """``exchanges`` ordinary earlier exchanges (about 20 words each side), then the new turn."""
    history: list[BaseMessage] = []
    for i in range(exchanges):
        history.append(HumanMessage(f"Question {i}{tag}: how do I bake bread with rye flour and seeds, part {i}?"))
        history.append(AIMessage(f"Answer {i}{tag}: {ANSWER}"))
    return [*history, HumanMessage("And what about spelt?")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    guard = Guard.from_profile("general")
    guard.warmup()
    chain = guard.wrap(FakeListChatModel(responses=[ANSWER]))
    lengths = (0, 5, 20)
    inputs = {n: conversation(n) for n in lengths}
    for value in inputs.values():  # the guard judges and redacts each history once
        chain.invoke(value)
    times: dict[int, list[float]] = {n: [] for n in lengths}
    for _ in range(args.repeat):
        for n in lengths:
            t0 = time.perf_counter()
            chain.invoke(inputs[n])
            times[n].append((time.perf_counter() - t0) * 1000)
    base = statistics.median(times[0])
    for n in lengths:
        p50 = statistics.median(times[n])
        print(f"{n:3d} earlier exchanges, known   p50 {p50:8.1f} ms  ({p50 / base:4.1f}x no history)")
    first = []
    for r in range(3):
        t0 = time.perf_counter()
        chain.invoke(conversation(20, tag=f"-new{r}"))
        first.append((time.perf_counter() - t0) * 1000)
    print(f" 20 earlier exchanges, new     p50 {statistics.median(first):8.1f} ms  (first request: 40 texts judged)")


if __name__ == "__main__":
    main()
