"""The earlier messages of a chat input: which of them the model must not see, and what it sees instead.

A client (or a stored history) can bring earlier turns and answers this guard never judged. As the profile's
``screen_history`` says (both by default), each earlier user turn is judged as a request, and each run of the
model's earlier messages (its answer between two user turns, with an agent's steps) as an answer, once per guard
(``Guard.screen_earlier``); an answer this guard delivered is known by its text or its seals and not judged again.
What was refused goes, with what answered it:

- an earlier user turn refused as prohibited -> :data:`WITHHELD_TURN` (not judged yet -> :data:`WITHHELD_UNSCREENED`);
- the answers to such a turn -> :data:`WITHHELD_ANSWER`;
- a run of answers refused as prohibited itself -> :data:`WITHHELD_REFUSED_ANSWER` (not judged yet ->
  :data:`WITHHELD_UNSCREENED`).

Withholding goes by text (:func:`withheld_texts` maps each text to its replacement): a text that also stands where
the model reads it anyway (the latest turn, a user turn not withheld, a message of the model's or the app's that
stands, a tool result whose call stands) is left as it is, and the marker goes on the first text of the message
that is withheld. :data:`WITHHELD_REFERRED` is what the wrapper's run records for a turn it answered with a crisis
referral.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue, StringPromptValue

from guardrails._paths import configs_dir
from guardrails._yaml import load_strict
from guardrails.guard import Guard
from guardrails.integrations.langchain import shapes
from guardrails.redaction import Numbering, redaction_scope
from guardrails.types import Decision, Stage

#: what the model sees instead of an earlier user turn the guard refused as prohibited; also what the wrapper's run
#: records as a refused turn (so a chat history saved from the run, ``RunnableWithMessageHistory``, holds this)
WITHHELD_TURN = "[An earlier request, refused under the usage policy, is withheld.]"
#: what the model sees instead of an earlier user turn the guard has not judged yet, past the number one request
#: judges (``guardrails.guard.EARLIER_SCREENED_MAX``: a long history never seen before, as a new worker loads it)
WITHHELD_UNSCREENED = "[An earlier message, not yet screened, is withheld.]"
#: what the model sees instead of an earlier answer (and its tool results) to a user turn withheld as above
WITHHELD_ANSWER = "[An earlier answer, to a withheld message, is withheld.]"
#: what the model sees instead of an earlier answer the guard refused as prohibited (judged as an answer, by the
#: answers' classifier): a client wrote it into the history, for the model to take as its own and go on
WITHHELD_REFUSED_ANSWER = "[An earlier answer, refused under the usage policy, is withheld.]"
#: what the wrapper's run records as a turn answered with a crisis referral without calling the chain
WITHHELD_REFERRED = "[An earlier message, answered with a referral to crisis resources, is withheld.]"
#: the same, naming the kinds of crisis it was referred for (see :func:`referred_marker`)
WITHHELD_REFERRED_FOR = "[An earlier message, answered with a referral to crisis resources ({kinds}), is withheld.]"
#: the crisis kinds in the words of :data:`WITHHELD_REFERRED_FOR`
CRISIS_KIND_WORDS = {
    "crisis_self_harm": "self-harm",
    "crisis_danger": "danger from another person",
    "crisis_medical_emergency": "a medical emergency",
}
#: what the model sees instead of each further text of a withheld user turn (the first gets the turn's marker): never
#: empty, since a provider may refuse an empty text block or document (Anthropic does)
WITHHELD_PART = "[withheld]"
#: the markers that name no crisis kind (see :func:`crisis_in_force`)
_PLAIN_MARKERS = frozenset(
    {
        WITHHELD_TURN,
        WITHHELD_UNSCREENED,
        WITHHELD_ANSWER,
        WITHHELD_REFUSED_ANSWER,
        WITHHELD_REFERRED,
        WITHHELD_PART,
    }
)
#: the key of an answer's ``guardrails`` metadata that holds its seals (``Turn.sealed`` in turn.py)
SEALS_KEY = "delivered_seals"

__all__ = [
    "RUN_PIECE_CHARS",
    "SEALS_KEY",
    "WITHHELD_ANSWER",
    "WITHHELD_PART",
    "WITHHELD_REFERRED",
    "WITHHELD_REFERRED_FOR",
    "WITHHELD_REFUSED_ANSWER",
    "WITHHELD_TURN",
    "WITHHELD_UNSCREENED",
    "clean",
    "crisis_in_force",
    "latest_texts",
    "model_marker",
    "referred_marker",
    "sealed_text",
    "seals_of",
    "user_texts",
    "withheld_texts",
]


class WasRefused(Protocol):
    """``GuardedRunnable.was_refused``: True when the wrapper (any of its guards) refused ``text`` at ``stage``."""

    def __call__(self, text: str, *, stage: str | Stage = ...) -> bool: ...


def referred_marker(categories: Iterable[str]) -> str:
    """What the wrapper's run records for a turn it answered with a crisis referral: the marker naming the crisis
    kinds among ``categories`` (in the order of :data:`CRISIS_KIND_WORDS`), or the plain one if none is known."""
    kinds = [words for cid, words in CRISIS_KIND_WORDS.items() if cid in set(categories)]
    return WITHHELD_REFERRED_FOR.format(kinds=" and ".join(kinds)) if kinds else WITHHELD_REFERRED


def crisis_in_force(
    earlier: Sequence[str], *, kinds_of: Callable[[str], Sequence[str]] | None = None
) -> tuple[str, ...]:
    """Earlier user turns as the input check reads them: a turn that is a referred turn's marker naming crisis
    kinds (:func:`referred_marker`; a turn of several texts: the marker, then :data:`WITHHELD_PART`) stands for the
    plain statement of each kind (``configs/responses/crisis_in_force.yaml``), so a crisis stays in force while its turn
    is in the window, as the user's words would keep it (``history_persistent_kinds``); so does a turn in the user's
    words that the guard found a crisis in (``kinds_of``: ``Guard.crisis_kinds``), however the history came (a
    message list a client sends, a graph's state), not only one saved with its marker. Any other marker of the
    wrapper's (a refused turn's, the plain referred one: a turn referred only because an earlier crisis was in force,
    or a history saved before markers named kinds) stands for nothing: it holds no words of the user's, so it is
    read as an empty turn (which takes no place in the window). Other turns are as they are."""
    out = []
    for text in earlier:
        kinds = _marked_kinds(text)
        if kinds is None and kinds_of is not None:
            kinds = tuple(kinds_of(text)) or None
        if kinds:
            statements = _crisis_statements()
            out.append(" ".join(statements[k] for k in dict.fromkeys(kinds)))
        else:
            out.append("" if kinds is not None else text)
    return tuple(out)


def remember_crises(
    guard: Guard, turn: str, parts: Iterable[str], decision: Decision, *, history: bool, locale: str | None
) -> list[str]:
    """Remember the crisis kinds (those a marker names) a referred user ``turn`` showed in its own words
    (``Guard.own_crises``: judged alone when it had earlier turns), and those each of the texts it was joined from
    (``parts``: two unanswered messages, two input keys) showed alone, as a later history holds them apart. Returns
    the turn's kinds."""
    kinds = [k for k in guard.own_crises(turn, decision, history=history, locale=locale) if k in CRISIS_KIND_WORDS]
    guard.remember_crisis(turn, kinds)
    for part in sorted({p for p in parts if p.strip() and p != turn}):
        alone = guard.own_crises(part, decision, history=True, locale=locale)
        guard.remember_crisis(part, [k for k in alone if k in CRISIS_KIND_WORDS])
    return kinds


def in_window(earlier: Sequence[str], window: int) -> tuple[str, ...]:
    """The last ``window`` earlier user turns the input check reads: a turn with no text (an image alone, blanks)
    takes no place, a turn the wrapper marked does (a follow-up referred while a crisis was in force, saved with the
    plain marker, moves the crisis's turn along, so it lapses)."""
    turns = [t for t in earlier if t.strip()]
    return tuple(turns[-window:]) if window > 0 else ()


def without_markers(earlier: Sequence[str]) -> tuple[str, ...]:
    """Earlier user turns with every marker of the wrapper's read as an empty turn (one naming crisis kinds too):
    the turns in the user's own words alone."""
    return tuple("" if _marked_kinds(text) is not None else text for text in earlier)


def _marked_kinds(text: str) -> tuple[str, ...] | None:
    """The crisis kinds a turn the wrapper marked names (empty for a marker naming none); None for a turn in the
    user's words (words beside a marker are the user's own, judged as they are)."""
    if not text.startswith("["):
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    named = _referred_markers()
    if not lines or not all(line in named or line in _PLAIN_MARKERS for line in lines):
        return None
    return tuple(k for line in lines for k in named.get(line, ()))


def model_marker(text: str) -> str | None:
    """What the model gets for a marker naming crisis kinds: the plain marker (the kind of a user's crisis is no
    business of the model's provider); None for any other text."""
    return WITHHELD_REFERRED if text.strip() in _referred_markers() else None


@lru_cache(maxsize=1)
def _referred_markers() -> dict[str, tuple[str, ...]]:
    """Every marker naming kinds that :func:`referred_marker` writes, with the kinds it names."""
    kinds = list(CRISIS_KIND_WORDS)
    subsets = [tuple(k for i, k in enumerate(kinds) if n >> i & 1) for n in range(1, 2 ** len(kinds))]
    return {referred_marker(sub): sub for sub in subsets}


@lru_cache(maxsize=1)
def _crisis_statements() -> dict[str, str]:
    path = configs_dir() / "responses" / "crisis_in_force.yaml"
    data = load_strict(path.read_text(encoding="utf-8"))
    table = data.get("statements") if isinstance(data, Mapping) else None
    if not isinstance(table, Mapping) or set(table) != set(CRISIS_KIND_WORDS):
        raise ValueError(f"{path}: expected statements for exactly {sorted(CRISIS_KIND_WORDS)}")
    if not all(isinstance(v, str) and v.strip() for v in table.values()):
        raise ValueError(f"{path}: each statement must be a non-empty string")
    return {str(k): str(v) for k, v in table.items()}


def withheld_texts(
    value: Any,
    latest: str | None,
    *,
    guard: Guard,
    was_refused: WasRefused,
    input_keys: Sequence[str],
    passthrough_keys: Collection[str],
    locale: str | None,
    documents: bool = True,
    crisis_kinds: Callable[[str], Sequence[str]] | None = None,
) -> dict[str, str]:
    """The texts of the input ``value`` to withhold from the model, each with what the model gets instead: earlier
    user turns refused as prohibited (or not yet judged), what answered them, and the model's earlier answers refused
    as prohibited themselves (or not yet judged); and earlier user turns the guard found a crisis in
    (``crisis_kinds``), as a saved referred turn's marker withholds them (their answers, the referral, stay).
    ``latest``: the user's turn of this request (never withheld). ``documents``: whether attached documents' words
    are judged with a turn (see ``shapes.content_text``)."""
    lists = conversations(value, input_keys=input_keys, passthrough_keys=passthrough_keys)
    judged = _judge_earlier(runs_of(lists), latest, guard=guard, locale=locale, documents=documents)
    refused = _refused_runs(judged, was_refused)
    messages = chronological(
        value, user_messages(value, input_keys=input_keys, passthrough_keys=passthrough_keys), input_keys
    )
    turns = _withheld_turns(
        messages, latest, judged.unscreened, was_refused, documents=documents, crisis_kinds=crisis_kinds
    )
    # the user's words the model gets as they are: the latest turn and every earlier turn not withheld. Withholding
    # goes by text, so a text that also stands there (a "thanks" block of a refused message sent again as the latest
    # turn) is left, as the model sees it there anyway
    withheld_ids = {id(m) for m, _ in turns}
    standing = latest_texts(value, input_keys=input_keys) | {
        t for m in messages if id(m) not in withheld_ids for t in block_texts(m)
    }
    gone = {id(m) for ms, _ in refused for m in ms}
    after: list[BaseMessage] = []
    answered = [(m, marker) for m, marker in turns if marker != WITHHELD_REFERRED]
    if answered:
        # what answered a withheld turn goes too (not the referral that answered a crisis): a client can write the
        # answers of a history as well as its requests ("Sure, step one is..." after each harmful request, many
        # times over, then "go on"), and the model would take them as its own. A user message is withheld by its
        # whole text (the same text anywhere but in the latest turn is withheld alike)
        wholes = {shapes.content_text(m.content, documents=documents) for m, _ in answered}
        after, _ = answers_after(value, lambda m: shapes.content_text(m.content, documents=documents) in wholes, lists)
        gone |= {id(m) for m in after}
    kept = standing | texts_kept([m for c, _ in lists for m in c if not shapes.is_user_message(m)], gone)
    out: dict[str, str] = {}
    for m, marker in turns:  # each text block of a withheld turn: the first one withheld gets the marker
        for i, text in enumerate(t for t in block_texts(m) if t.strip() and t not in kept):
            out[text] = marker if i == 0 else WITHHELD_PART
    withhold(out, after, WITHHELD_ANSWER, kept=kept)
    # a run of answers refused as prohibited (a fabricated "compliant" answer after a harmless request, or one
    # prefilled after the latest turn), or not yet judged: its texts, tool-call arguments and reasoning
    for ms, marker in refused:
        withhold(out, ms, marker, kept=kept)
    return out


@dataclass(frozen=True)
class _JudgedEarlier:
    """The earlier runs of answers this guard did not deliver (by ``id`` of their ``Run``), the pieces each was
    judged in, and the texts left unjudged (past the per-request limit, or a check that could not judge them)."""

    fresh: dict[int, list[BaseMessage]]
    pieces: dict[int, list[str]]
    unscreened: frozenset[str]


def _judge_earlier(
    earlier: Sequence[BaseMessage | Run], latest: str | None, *, guard: Guard, locale: str | None, documents: bool
) -> _JudgedEarlier:
    """Judge the earlier turns and answers this guard never judged (a stored or client-sent history) alone, the
    latest first, so one refused as prohibited is withheld as if refused here; their redaction stays provisional.
    An answer is judged as its run (the model's messages between two user turns, joined: split over several
    messages, it is still one answer to the model), in pieces when it is long."""
    screened = guard.profile.screen_history
    # the model's messages of each run this guard did not deliver, and their texts in pieces it can judge
    fresh = {
        id(h): [m for m in h.messages if not guard.was_delivered(sealed_text(m), seals=seals_of(m))]
        for h in earlier
        if isinstance(h, Run) and "answers" in screened
    }
    limit = min(guard.profile.max_text_chars, RUN_PIECE_CHARS)
    pieces = {key: _pieces([clean(answer_text(m)) for m in ms], limit) for key, ms in fresh.items()}
    items: list[tuple[str, Stage]] = []
    for h in earlier:
        if isinstance(h, Run):
            items += [(text, Stage.OUTPUT) for text in pieces.get(id(h), ())]
        elif "turns" in screened and not in_turn(whole := shapes.content_text(h.content, documents=documents), latest):
            items.append((clean(whole), Stage.INPUT))
    unscreened: frozenset[str] = frozenset()
    if items:
        with redaction_scope(Numbering(), provisional=True):
            texts_, stages = [t for t, _ in items], [stage for _, stage in items]
            unscreened = frozenset(guard.screen_earlier(texts_, stages=stages, locale=locale))
    return _JudgedEarlier(fresh=fresh, pieces=pieces, unscreened=unscreened)


def _refused_runs(judged: _JudgedEarlier, was_refused: WasRefused) -> list[tuple[list[BaseMessage], str]]:
    """The runs to withhold, with their marker: refused as prohibited, or a piece not judged yet."""
    out: list[tuple[list[BaseMessage], str]] = []
    for key, pieces in judged.pieces.items():
        if any(was_refused(t, stage=Stage.OUTPUT) for t in pieces):
            out.append((judged.fresh[key], WITHHELD_REFUSED_ANSWER))
        elif any(t in judged.unscreened for t in pieces):
            out.append((judged.fresh[key], WITHHELD_UNSCREENED))
    return out


def _withheld_turns(
    messages: Sequence[BaseMessage],
    latest: str | None,
    unscreened: Collection[str],
    was_refused: WasRefused,
    *,
    documents: bool,
    crisis_kinds: Callable[[str], Sequence[str]] | None = None,
) -> list[tuple[BaseMessage, str]]:
    """The earlier user ``messages`` to withhold, each with its marker: refused as prohibited (judged whole, as the
    input check read them), past the per-request limit of earlier turns judged (not judged yet), or a crisis the
    guard found in their words (the model gets the plain referred marker, as for a saved referred turn)."""
    out: list[tuple[BaseMessage, str]] = []
    for m in messages:
        whole = shapes.content_text(m.content, documents=documents)
        if in_turn(whole, latest):
            continue
        if clean(whole) in unscreened:  # past the per-request limit of earlier turns judged: withheld until judged
            out.append((m, WITHHELD_UNSCREENED))
        elif was_refused(whole):
            out.append((m, WITHHELD_TURN))
        elif crisis_kinds is not None and crisis_kinds(whole):
            out.append((m, WITHHELD_REFERRED))
    return out


def clean(text: str) -> str:
    """``text`` as a check reads it (lone surrogates replaced, one for one): the offsets of its findings fit."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def chronological(value: Any, messages: list[BaseMessage], input_keys: Sequence[str]) -> list[BaseMessage]:
    """``messages`` (``user_messages``: the turn keys' first) oldest first: a dict input's other keys (a separate
    chat history) hold the earlier turns, before the turn keys' own message list."""
    if not isinstance(value, Mapping):
        return messages
    keys = shapes.turn_keys(value, input_keys)
    own = sum((len(user_messages(value[k], input_keys=input_keys, passthrough_keys=())) for k in keys), 0)
    return [*messages[own:], *messages[:own]]


def in_turn(text: str, latest: str | None) -> bool:
    """True when ``text`` is the latest turn or a part of it (the unanswered messages before an image-only one are
    judged joined as the turn: none of them is an earlier turn)."""
    return latest is not None and (text == latest or (bool(text.strip()) and text in latest.split("\n")))


def user_texts(value: Any, *, input_keys: Sequence[str], passthrough_keys: Collection[str]) -> frozenset[str]:
    """The texts of an input the user wrote, as ``shapes.extract_turns`` reads its user turns: a str input, the
    turn keys' strs, and every text (content, str blocks, blocks' ``text``) of a user message under the input key
    or in a message list under another key."""
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, StringPromptValue):
        return frozenset((value.text,))
    out = {
        t
        for m in user_messages(value, input_keys=input_keys, passthrough_keys=passthrough_keys)
        for t in block_texts(m)
    }
    if isinstance(value, Mapping):
        for key in shapes.turn_keys(value, input_keys):
            if isinstance(value[key], (str, StringPromptValue)):
                out |= user_texts(value[key], input_keys=input_keys, passthrough_keys=())
    return frozenset(out)


def latest_texts(value: Any, *, input_keys: Sequence[str]) -> frozenset[str]:
    """The texts of the user's latest turn, as ``shapes.extract_turns`` reads it: a str input, the turn keys' strs,
    or every text of the last user message of the turn's messages (none when there is no user message)."""
    if isinstance(value, str):
        return frozenset((value,))
    if isinstance(value, StringPromptValue):
        return frozenset((value.text,))
    if isinstance(value, Mapping):
        keys = shapes.turn_keys(value, input_keys)
        return frozenset(t for k in keys for t in latest_texts(value[k], input_keys=input_keys))
    users = [m for m in as_messages(value) if shapes.is_user_message(m)]
    return frozenset(block_texts(users[-1])) if users else frozenset()


def user_messages(value: Any, *, input_keys: Sequence[str], passthrough_keys: Collection[str]) -> list[BaseMessage]:
    """The user messages of an input: under the turn's key (``shapes.turn_keys``), and in a message list under another
    key."""
    if isinstance(value, (str, StringPromptValue)):
        return []
    if not isinstance(value, Mapping):
        return [m for m in as_messages(value) if shapes.is_user_message(m)]
    keys = shapes.turn_keys(value, input_keys)
    out = [m for k in keys for m in user_messages(value[k], input_keys=input_keys, passthrough_keys=())]
    for k, v in value.items():
        if k not in keys and k not in passthrough_keys and shapes.is_message_list(v):
            out += [m for m in as_messages(v) if shapes.is_user_message(m)]
    return out


@dataclass(frozen=True)
class Run:
    """The model's messages between two user turns of one message list: its answer, with an agent's steps."""

    messages: list[BaseMessage]


#: an earlier answer longer than this (a long agent run) is judged in pieces of at most this many characters, each a
#: run of whole messages (a message longer than that is a piece of its own), so that it can be judged at all
RUN_PIECE_CHARS = 50_000


def runs_of(lists: Sequence[tuple[list[BaseMessage], bool]]) -> list[BaseMessage | Run]:
    """The user messages with text and the runs of the model's messages of an input's message lists
    (``conversations``), oldest first, each list on its own. A run ends at a user message with text (not at a tool
    result, a blank, image-only or invisible one) or at the end of its list: the last run of the turn's list holds
    the turn's own steps and any answer prefilled after it."""
    out: list[BaseMessage | Run] = []
    for conversation, _ in lists:
        run: list[BaseMessage] = []
        for m in conversation:
            if shapes.is_user_message(m) and has_text(m):
                if run:
                    out.append(Run(run))
                run = []
                out.append(m)
            elif shapes.is_model_message(m):
                run.append(m)
        if run:
            out.append(Run(run))
    return out


def has_text(m: BaseMessage) -> bool:
    """True when a message holds text someone can read: not only blanks or invisible format characters."""
    return any(not c.isspace() and unicodedata.category(c) != "Cf" for t in block_texts(m) for c in t)


def _pieces(texts: Sequence[str], limit: int) -> list[str]:
    """``texts`` (a run's messages) joined in order into pieces of at most ``limit`` characters, whole texts each."""
    out: list[str] = []
    for text in (t for t in texts if t.strip()):
        if out and len(out[-1]) + 2 + len(text) <= limit:
            out[-1] += "\n\n" + text
        else:
            out.append(text)
    return out


def seals_of(m: BaseMessage) -> list[Any]:
    """The seals a stored answer carries in its ``guardrails`` metadata (``Turn.sealed``); none when it has none."""
    meta = m.response_metadata.get(shapes.META_KEY) if isinstance(m.response_metadata, Mapping) else None
    seals = meta.get(SEALS_KEY) if isinstance(meta, Mapping) else None
    return list(seals) if isinstance(seals, (list, tuple)) else []


def sealed_text(m: BaseMessage) -> str:
    """A model message as its seal covers it: its words, each tool call's name and arguments, its reasoning and its
    other slots (an audio transcript, a refusal, server-side tool calls and results, provider blocks, each by its
    place), each part tagged (a seal of "Step one. Step two" does not cover "Step one." with "Step two" moved into the
    reasoning); a message of words alone is its words, as a str answer stored as a message is."""
    words = shapes.content_text(m.content, others=False)  # the other blocks' words are among its slots
    calls = m.tool_calls if isinstance(m, AIMessage) else []
    reasoning = [text for _, text in shapes.reasoning_slots(m)]
    extra = [f"{s.kind} {json.dumps(s.where)} {s.text}" for s in shapes.extra_slots(m, earlier=True)]
    if not calls and not reasoning and not extra:
        return words
    parts = [words, *(f"call {c['name']} {json.dumps(c.get('args'), sort_keys=True, default=str)}" for c in calls)]
    return "\0".join([*parts, *(f"reasoning {r}" for r in reasoning), *extra])


def answer_text(m: BaseMessage) -> str:
    """A message of the model as the guard judges it: its text, tool-call arguments, reasoning and other slots (an
    audio transcript, a refusal, server-side tool calls, provider blocks), joined. Server-side tools' results are not
    judged, as tool results in a history are not (data, not the model's words); they are redacted and withheld with
    the answer."""
    return "\n".join(t for t in shapes.message_texts(m, results=False) if t.strip())


def texts_kept(messages: Iterable[BaseMessage], gone: Collection[int]) -> set[str]:
    """The texts of ``messages`` that reach the model as they are (not in ``gone``, the ids of messages withheld):
    a tool result only when the call it answers stands too, so a client's copy of a withheld text in an invented
    tool result does not keep it."""
    standing = [m for m in messages if id(m) not in gone]
    calls = {c["id"] for m in standing if isinstance(m, AIMessage) for c in m.tool_calls if c.get("id")}
    return {
        t
        for m in standing
        if not isinstance(m, ToolMessage) or m.tool_call_id in calls
        for t in shapes.message_texts(m)
    }


def withhold(out: dict[str, str], messages: Sequence[BaseMessage], marker: str, *, kept: Collection[str]) -> None:
    """Withhold every text of ``messages`` (their words, tool-call arguments, reasoning and other slots, such as an
    audio answer's transcript, whose recording goes with it; the ids and names that pair a call with its result stay)
    that is not in ``kept``: each message's first becomes ``marker``, the others empty."""
    for m in messages:
        texts = [t for t in shapes.message_texts(m) if t.strip() and t not in kept]
        for i, text in enumerate(texts):
            out.setdefault(text, marker if i == 0 else "")


def answers_after(
    value: Any, withheld: Callable[[BaseMessage], bool], lists: Sequence[tuple[list[BaseMessage], bool]]
) -> tuple[list[BaseMessage], list[BaseMessage]]:
    """The messages that answer a user message that is ``withheld`` (those after it, up to the next user message
    with text, or the latest user message whatever it holds), and every other message that is neither a user's nor
    a system message (the app's), in ``lists`` (``conversations`` of ``value``). Each message list is read on its
    own (an agent's scratchpad under another key never continues a history's last exchange), except a turn key's
    own list, which continues the history before it (a dict whose history ends with a request and whose
    ``messages`` start with its answer)."""
    # the latest turn, when it is a message (a bare list, or a turn key's list; a str turn is none of these)
    users = [m for c, turn in lists if turn or not isinstance(value, Mapping) for m in c if shapes.is_user_message(m)]
    latest = users[-1] if users else None
    answers: list[BaseMessage] = []
    others: list[BaseMessage] = []
    after = False
    for conversation, continues in lists:
        after = after and continues
        for m in conversation:
            if shapes.is_user_message(m):
                # a blank, image-only or invisible message does not end the exchange, unless it is the latest turn
                if m is latest or has_text(m):
                    after = withheld(m) and m is not latest
            elif not isinstance(m, SystemMessage):
                (answers if after else others).append(m)
    return answers, others


def conversations(
    value: Any, *, input_keys: Sequence[str], passthrough_keys: Collection[str]
) -> list[tuple[list[BaseMessage], bool]]:
    """Each message list of an input, oldest first (a dict's other keys, a separate chat history, before the turn
    keys' own lists, as ``chronological`` orders its user messages), and whether it continues the list before it
    (a turn key's own list does; a list under another key does not)."""
    if isinstance(value, (str, StringPromptValue)):
        return []
    if not isinstance(value, Mapping):
        return [(as_messages(value), False)]
    keys = shapes.turn_keys(value, input_keys)
    out = [
        (as_messages(v), False)
        for k, v in value.items()
        if k not in keys and k not in passthrough_keys and shapes.is_message_list(v)
    ]
    for k in keys:
        out += [(c, True) for c, _ in conversations(value[k], input_keys=input_keys, passthrough_keys=())]
    return out


def block_texts(m: BaseMessage) -> list[str]:
    """A message's texts: its str content, or its str blocks, blocks' ``text`` and documents' words, in order."""
    return shapes.content_texts(m.content)


def as_messages(value: Any) -> list[BaseMessage]:
    """The messages of a prompt value or a sequence of message-likes, else []."""
    if isinstance(value, PromptValue):
        return value.to_messages()
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        return []
    try:
        return convert_to_messages(value)
    except Exception:
        return []
