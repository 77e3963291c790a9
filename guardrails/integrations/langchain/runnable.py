"""The Runnable wrapper: ``guard.wrap(chain)`` or ``with_guardrails(chain, profile="healthcare")``.

One turn: screen the user's text -> on BLOCK/REFER answer without calling the chain
-> else call the chain on the redacted input (earlier answers, tool results and tool-call
arguments redacted too, in the order written, with one numbering for the whole turn) -> screen
the answer, tool calls included (text on the fly when streaming, tool calls held until checked
whole) -> restore the values of the user's own turns (reversible mode) -> attach disclaimers and
the decisions (``response_metadata["guardrails"]``).

Tracing: the wrapper's own run records no raw input: it starts with ``{"input": "<withheld by
guardrails>"}`` and ends with the input as the wrapped chain received it (redacted; the user's turn withheld
when the chain was not called), and the screened answer as output (``Turn.traced_output``; the user's own
values restored in reversible mode recorded as their placeholders). ``RunnableWithMessageHistory`` around
the wrapper saves its history from these (its root listener reads this run). The checks appear as child runs
``guardrails.input_check`` / ``guardrails.output_check`` whose inputs and outputs are
decision summaries (ids, categories, scores, offsets, hashes). The wrapped chain is
traced as usual, and sees only redacted text. ``astream_events``/``astream_log`` carry the
wrapper's screened chunks, not the wrapped chain's raw events (``inner_events=True`` to keep them).

Per-request settings come from ``config["configurable"]``: ``locale`` (BCP 47, e.g.
``en-GB``), ``conversation_id`` (falling back to LangGraph's ``thread_id``, then to
``RunnableWithMessageHistory``'s ``session_id``) and
``guardrails_profile`` (a name given to ``wrap(profiles=...)``, or the wrapper's own profile's; never a path).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import warnings
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import closing, suppress
from pathlib import Path
from types import FrameType
from typing import Any, Literal, TypeVar, overload

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.exceptions import OutputParserException
from langchain_core.runnables import ConfigurableFieldSpec, Runnable, RunnableConfig
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
    patch_config,
)
from langchain_core.runnables.schema import StreamEvent
from langchain_core.utils.pydantic import TypeBaseModel

from guardrails.errors import (
    GuardrailsWarning,
    GuardrailViolation,
    ProfileError,
    brief,
    brief_token,
    is_token,
    raise_detached,
)
from guardrails.guard import Guard
from guardrails.integrations.langchain import graphs, history, shapes
from guardrails.integrations.langchain.callbacks import DEFAULT_CACHE_SIZE, _Judged
from guardrails.integrations.langchain.stream import GraphParts, ScreenedStream, Snapshots
from guardrails.integrations.langchain.turn import NO_TRIAGE_INSTRUCTION, WITHHELD, Turn, added
from guardrails.profiles import Profile, load_profile
from guardrails.redaction import Numbering, redaction_scope
from guardrails.types import Decision, Stage


def _request_profiles(profiles: object) -> dict[str, Profile]:
    """The profiles given to ``wrap(profiles=...)`` by name, each loaded now (a built-in name, a YAML path or a
    Profile); a bad name or value raises ``ValueError`` naming it (``ProfileError`` for a file)."""
    if profiles is None:
        return {}
    if not isinstance(profiles, Mapping):
        raise ValueError(
            f"profiles must map names to profiles (a built-in name, a YAML path or a Profile), got {brief(profiles)}"
        )
    out: dict[str, Profile] = {}
    for name, source in profiles.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"profiles: each name must be a non-empty str, got {brief(name)}")
        if isinstance(source, Profile):
            out[name] = source
        elif isinstance(source, (str, Path)):
            out[name] = load_profile(source)
        else:
            raise ValueError(
                f"profiles[{name!r}] must be a built-in profile name, a YAML path or a Profile, got {brief(source)}"
            )
    return out


def _check_str_keys(what: str, keys: object) -> None:
    if isinstance(keys, str) or not isinstance(keys, Collection) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{what} must be a sequence of str keys, got {keys!r}")


_log = logging.getLogger("guardrails")


class GuardedRunnable(Runnable[Any, Any]):
    """A runnable that screens the input and output of another runnable."""

    def __init__(
        self,
        bound: Runnable[Any, Any],
        guard: Guard,
        *,
        input_keys: Sequence[str] = shapes.DEFAULT_INPUT_KEYS,
        passthrough_keys: Collection[str] = (),
        context_keys: Collection[str] = shapes.DEFAULT_CONTEXT_KEYS,
        output_key: str = "output",
        output: str = "auto",
        raise_on_block: bool = False,
        on_decision: Callable[[Decision], None] | None = None,
        inner_events: bool = False,
        profiles: Mapping[str, str | Path | Profile] | None = None,
    ) -> None:
        if not isinstance(bound, Runnable):
            raise TypeError(f"wrap() needs a LangChain Runnable, got {type(bound).__name__}")
        if output not in shapes.OUTPUT_KINDS:
            raise ValueError(f"output={output!r}; expected one of {shapes.OUTPUT_KINDS}")
        if isinstance(input_keys, str) or not input_keys:
            raise ValueError(f"input_keys must be a non-empty sequence of keys, got {input_keys!r}")
        _check_str_keys("passthrough_keys", passthrough_keys)
        _check_str_keys("context_keys", context_keys)
        if output_key in context_keys:
            raise ValueError(f"output_key {output_key!r} is also a context key; the answer is always judged")
        if clash := sorted(set(passthrough_keys) & set(input_keys)):
            raise ValueError(
                f"passthrough_keys {clash} are also input_keys; the user's turn is always screened (narrow input_keys)"
            )
        if shapes.keeps_history(bound):
            warnings.warn(
                GuardrailsWarning(
                    "guard.wrap(RunnableWithMessageHistory(...)): the history is loaded after the guard, so earlier "
                    "turns are not judged with the turn and earlier answers reach the model unscreened, and it saves "
                    "the model's answer before screening (a blocked answer's text). Put the history around the "
                    "guard: RunnableWithMessageHistory(guard.wrap(chain), ...)"
                ),
                stacklevel=_caller_level(),
            )
        #: the options as given, for the wrapper of a derived runnable (``bind_tools``, ``with_structured_output``)
        self._options: dict[str, Any] = {
            "input_keys": input_keys,
            "passthrough_keys": passthrough_keys,
            "context_keys": context_keys,
            "output_key": output_key,
            "output": output,
            "raise_on_block": raise_on_block,
            "on_decision": on_decision,
            "inner_events": inner_events,
            "profiles": profiles,
        }
        self.bound = bound
        #: the LangGraph app the wrapped runnable is (bound, behind fallbacks), or None
        self.graph = graphs.graph_of(bound)
        self.guard = guard
        self.input_keys = tuple(input_keys)
        self.passthrough_keys = tuple(passthrough_keys)
        self.context_keys = frozenset(context_keys)
        self.output_key = output_key
        #: where the guard's own answer (a refusal, a referral, a leading disclaimer) goes in a dict output:
        #: ``output_key``, or the answer key a dict chain declares (``assign(answer=...)``)
        self.answer_key = shapes.answer_key(bound, output_key)
        #: the answer is parsed into the caller's schema (a pydantic model, a parsed JSON object): streamed
        #: snapshots of it are not text deltas, so a stream checks it whole and yields it once
        declared = shapes.declared_output_kind(bound)
        self.schema_output = declared == "raise"
        #: the kind of the guard's own answers when known: chosen (``output=``) or declared by the chain; None:
        #: the chain declares none, and ``output_kind`` is the kind it last returned (``learn``)
        self._known_kind = declared if output == "auto" else output
        self._returned_kind: str | None = None
        #: the caller chose the kind (``output=``): a pydantic answer is then refused in that kind, never raised
        self.output_forced = output != "auto"
        if not isinstance(raise_on_block, bool):  # "false" read from a file is truthy: refusals would raise
            raise ValueError(f"raise_on_block must be True or False, got {brief_token(raise_on_block)}")
        if on_decision is not None and not callable(on_decision):
            raise ValueError(f"on_decision must be callable, got {type(on_decision).__name__}")
        self.raise_on_block = raise_on_block
        self.on_decision = on_decision
        if not isinstance(inner_events, bool):
            raise ValueError(f"inner_events must be True or False, got {inner_events!r}")
        self.inner_events = inner_events
        #: a reversible profile's call named no conversation: warned of once (its answer keeps the placeholders), by
        #: this wrapper and those derived from it (``bind_tools`` and the like share the list)
        self.warned_unrestorable: list[bool] = []
        #: decisions on user turns, for the later steps of an agent's loop (see ``Turn.reused``): salted hashes and
        #: decisions without their text, as the callback handler keeps them
        self.judged = _Judged(DEFAULT_CACHE_SIZE)
        #: the profiles a request may name besides the wrapper's own (``profiles=``), read once here
        self.profiles = _request_profiles(profiles)
        #: the guard built for each profile a request named (once, under the lock), and every guard of this
        #: wrapper (its own first): a turn refused by one is withheld under all (``was_refused``)
        self._request_guards: dict[str, Guard] = {}
        self._guards: list[Guard] = [guard]  # appended under the lock, shared with derived wrappers
        self._guards_lock = threading.Lock()

    @property
    def output_kind(self) -> str:
        """The kind of the guard's own answers (a refusal, a referral): chosen, else declared by the chain, else
        the kind the chain last returned, else :data:`shapes.UNDECLARED_OUTPUT_KIND`."""
        return self._known_kind or self._returned_kind or shapes.UNDECLARED_OUTPUT_KIND

    @property
    def kind_known(self) -> bool:
        """True when the kind of the chain's answers is known (chosen, declared, or seen in an answer)."""
        return (self._known_kind or self._returned_kind) is not None

    def learn(self, value: Any) -> None:
        """Note the kind of an answer (or streamed chunk) of a chain that declares none: later refusals take it."""
        if self._known_kind is None:
            self._returned_kind = shapes.kind_of(value) or self._returned_kind

    def get_name(self, suffix: str | None = None, *, name: str | None = None) -> str:
        base = name or f"Guarded{self.bound.get_name()}"
        return f"{base}{suffix or ''}"

    @property
    def InputType(self) -> Any:  # noqa: N802 - LangChain's name
        return self.bound.InputType

    @property
    def OutputType(self) -> Any:  # noqa: N802
        return self.bound.OutputType

    def get_input_schema(self, config: RunnableConfig | None = None) -> TypeBaseModel:
        """The wrapped chain's input schema: the wrapper takes what the chain takes."""
        return self.bound.get_input_schema(config)

    def get_output_schema(self, config: RunnableConfig | None = None) -> TypeBaseModel:
        """The wrapped chain's output schema: the wrapper answers in the chain's kind."""
        return self.bound.get_output_schema(config)

    @property
    def config_specs(self) -> list[ConfigurableFieldSpec]:
        """The wrapped chain's configurable fields (the wrapper's own ``configurable`` keys are in its docstring)."""
        return self.bound.config_specs

    # ------------------------------------------------------------------ a chat model's own builders
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> GuardedRunnable:
        """The wrapped model with ``tools`` bound, guarded as this wrapper guards (same guard and options): for an
        agent that binds its tools to the model it is given, ``guard.wrap(model)``. AttributeError when the wrapped
        runnable binds no tools."""
        return self._derived("bind_tools", tools, **kwargs)

    def with_structured_output(self, schema: Any, **kwargs: Any) -> GuardedRunnable:
        """The wrapped model's ``with_structured_output(schema, ...)``, guarded as this wrapper guards; its answers
        are parsed into ``schema``, so a refusal is raised (see README, output types), whatever ``output=`` this
        wrapper was given."""
        return self._derived("with_structured_output", schema, output="auto", **kwargs)

    # ------------------------------------------------------------------ retries and fallbacks go inside the guard
    def with_retry(self, **kwargs: Any) -> GuardedRunnable:
        """The wrapped chain's ``with_retry(...)``, guarded as this wrapper guards: a failed call of the chain is
        retried, the turn is judged once, and a refusal (``raise_on_block``) is never retried (it is a verdict, the
        same every time). LangChain's own retry around this wrapper would judge the turn again per attempt."""
        return self._derived("with_retry", **kwargs)

    def with_fallbacks(self, fallbacks: Sequence[Runnable[Any, Any]], **kwargs: Any) -> GuardedRunnable:  # type: ignore[override]
        """The wrapped chain's ``with_fallbacks(fallbacks, ...)``, guarded as this wrapper guards: a fallback gets
        the input as the chain got it (redacted) and its answer is screened, and a refusal (``raise_on_block``)
        never falls back. LangChain's own fallbacks around this wrapper would hand the raw turn, refused or not,
        to an unguarded fallback. Returns a wrapper, not a ``RunnableWithFallbacks``."""
        return self._derived("with_fallbacks", fallbacks, **kwargs)

    def _derived(self, method: str, *args: Any, output: str | None = None, **kwargs: Any) -> GuardedRunnable:
        """A wrapper of ``self.bound.<method>(*args, **kwargs)`` with this one's guard and options (``output``, when
        given, replaces its own), sharing its memory: the decisions of an agent's earlier steps, the refused turns, and
        the request profiles as read at ``wrap()`` with their guards (an agent may bind its tools anew each step)."""
        build = getattr(self.bound, method, None)
        if not callable(build):
            raise AttributeError(
                f"the wrapped {type(self.bound).__name__} has no {method}(); call it on the model before wrapping"
            )
        # the request profiles as read at wrap(), not their sources: a file is not read again (or from another cwd)
        options = {**self._options, "profiles": self.profiles, **({"output": output} if output is not None else {})}
        derived = GuardedRunnable(build(*args, **kwargs), self.guard, **options)
        derived.judged = self.judged
        derived.warned_unrestorable = self.warned_unrestorable
        derived._request_guards = self._request_guards
        derived._guards = self._guards
        derived._guards_lock = self._guards_lock
        return derived

    # ------------------------------------------------------------------ per-request settings
    def guard_for(self, profile: object) -> Guard:
        """The guard of a request naming ``profile`` (``guardrails_profile``; None or "": the wrapper's own).

        A request may name only a profile given to ``wrap(profiles=...)`` (a built-in one too only when listed
        there, ``profiles={"healthcare": "healthcare"}``), never a file of its own choosing: where a client can set
        ``configurable`` (LangServe passes it through by default), it could otherwise pick a weaker profile than the
        app's (the general one, which leaves the dates of a health record in clear). A ``ProfileError`` names the
        value, and nothing is read. Each is built once per wrapper, under a lock, and writes to the wrapper guard's
        audit log (when it has one; else as its profile says)."""
        if profile is None or profile == "" or (profile == self.guard.profile.name and profile not in self.profiles):
            return self.guard
        if not isinstance(profile, str) or profile not in self.profiles:
            given = ", ".join(sorted(self.profiles)) or "none"
            raise ProfileError(
                f"guardrails_profile {brief_token(profile)} is not a profile this wrapper may use: a request may name "
                f"only one given to wrap(profiles=...) ({given}; a built-in one too only when listed there)",
                source="<request>",
                value=profile if is_token(profile) else None,  # a request's value may hold the user's text
            )
        with self._guards_lock:
            guard = self._request_guards.get(profile)
            if guard is None:
                source = self.profiles[profile]
                if source == self.guard.profile:  # the wrapper's own profile: its own guard
                    guard = self.guard
                else:
                    guard = Guard(source, audit=self.guard.audit)
                    self._guards.append(guard)
                self._request_guards[profile] = guard
            return guard

    def was_refused(self, text: str, *, stage: str | Stage = Stage.INPUT) -> bool:
        """True when one of this wrapper's guards (its own, or one a request's profile named) refused ``text`` as a
        user turn, or with ``stage=Stage.OUTPUT`` as an answer (see ``Guard.was_refused``): a text refused under one
        profile is withheld under every other."""
        return any(g.was_refused(text, stage=stage) for g in tuple(self._guards))

    def _turn(self, config: RunnableConfig) -> Turn:
        conf = config.get("configurable") or {}
        guard = self.guard_for(conf.get("guardrails_profile"))
        # LangGraph's thread_id, RunnableWithMessageHistory's session_id: the same conversation
        conv = conf.get("conversation_id") or conf.get("thread_id") or conf.get("session_id")
        if conv is None and guard.reversible and not self.warned_unrestorable:
            self.warned_unrestorable.append(True)
            _log.warning(
                "guardrails: reversible redaction restores a user's values per conversation, and this call names "
                "none (configurable conversation_id, thread_id or session_id): its answer keeps the placeholders"
            )
        return Turn(
            wrapper=self,
            guard=guard,
            locale=conf.get("locale"),
            conversation_id=str(conv) if conv is not None else None,
            kind=self.output_kind,
        )

    def _state(self, input: Any) -> graphs.GraphState | None:
        """The state the wrapped LangGraph app answers with, for ``input`` (see ``GraphState``); None for any
        other runnable."""
        return graphs.GraphState.of(self.graph, input, self.input_keys)

    def _inner_config(self, config: RunnableConfig, run: Any) -> RunnableConfig:
        """The config the wrapped chain runs with: its callbacks trace as usual, but (unless ``inner_events``)
        lack the handlers behind ``astream_events``/``astream_log``, which would hand the caller the inner
        model's raw, unscreened tokens; the wrapper's own screened chunks still stream as its events."""
        child = run.get_child()
        if not self.inner_events:
            for handler in list(child.handlers):
                if _streams_events(handler):
                    child.remove_handler(handler)
        return patch_config(config, callbacks=child)

    @staticmethod
    def _step(run: CallbackManagerForChainRun, stage: str, fn: Callable[[], Decision]) -> Decision:
        step = run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
        try:
            decision = fn()
        except BaseException as exc:
            step.on_chain_error(exc)
            raise
        step.on_chain_end(decision.to_client_dict())
        return decision

    @staticmethod
    def _record(
        run: CallbackManagerForChainRun, stage: str, decision: Decision | None, *, reused: bool = False
    ) -> None:
        """A finished check (the streamed answer's last screening, a reused decision) as a child run."""
        if decision is not None:
            step = run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
            step.on_chain_end({**decision.to_client_dict(), "reused": True} if reused else decision.to_client_dict())

    @staticmethod
    async def _arecord(
        run: AsyncCallbackManagerForChainRun, stage: str, decision: Decision | None, *, reused: bool = False
    ) -> None:
        if decision is not None:
            step = await run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
            await step.on_chain_end(
                {**decision.to_client_dict(), "reused": True} if reused else decision.to_client_dict()
            )

    def _judge_input(self, run: CallbackManagerForChainRun, turn: Turn, turns: shapes.Turns) -> Decision:
        """The user turn's decision: reused in a later step of an agent's loop (``Turn.reused``; traced as a
        reused check), else judged."""
        d_in = turn.reused(turns)
        if d_in is not None:
            self._record(run, "input", d_in, reused=True)
            return d_in
        return turn.judged(self._step(run, "input", self._input_check(turn, turns)), turns)

    async def _ajudge_input(self, run: AsyncCallbackManagerForChainRun, turn: Turn, turns: shapes.Turns) -> Decision:
        d_in = turn.reused(turns)
        if d_in is not None:
            await self._arecord(run, "input", d_in, reused=True)
            return d_in
        return turn.judged(await self._astep(run, "input", self._ainput_check(turn, turns)), turns)

    @staticmethod
    async def _astep(run: AsyncCallbackManagerForChainRun, stage: str, fn: Callable[[], Any]) -> Decision:
        step = await run.get_child().on_chain_start(None, {"stage": stage}, name=f"guardrails.{stage}_check")
        try:
            decision: Decision = await fn()
        except BaseException as exc:
            await step.on_chain_error(exc)
            raise
        await step.on_chain_end(decision.to_client_dict())
        return decision

    def crisis_kinds(self, text: str) -> tuple[str, ...]:
        """The crisis kinds one of this wrapper's guards found in ``text`` as a user turn (``Guard.crisis_kinds``)."""
        return tuple(dict.fromkeys(k for g in tuple(self._guards) for k in g.crisis_kinds(text)))

    def _earlier(self, turns: shapes.Turns, guard: Guard) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The earlier turns of the window as the input check reads them, with a crisis in force
        (``history.crisis_in_force``), and in the user's own words alone (when the statements, joined with the turn,
        make it read as prohibited: a statement keeps a crisis in force, it never blocks a question; a failure
        that blocks says nothing of that, so the statements stay)."""
        window = history.in_window(turns.history, guard.profile.history_window)
        return history.crisis_in_force(window, kinds_of=self.crisis_kinds), history.without_markers(window)

    def _input_check(self, turn: Turn, turns: shapes.Turns) -> Callable[[], Decision]:
        """The check of the user's turn. Its redaction is provisional (only a judge sees it): the turn's values
        are numbered and stored when the chain's input is redacted, in order (``Turn.rewritten_input``).

        A referred turn's marker among the earlier turns reads as its crisis (``history.crisis_in_force``), so the
        crisis stays in force; where that statement, joined with the turn, is what blocks it (a plain statement of
        danger and "how do I start a car?" read as a plan), the turn is judged with the plain markers instead: a
        statement keeps a crisis in force, it never makes a harmless question prohibited."""

        def check() -> Decision:
            loc, conv, g = turn.locale, turn.conversation_id, turn.guard
            earlier, plain = self._earlier(turns, g)
            with redaction_scope(Numbering(), provisional=True):
                if earlier != plain:
                    joined = g.evaluate(turns.latest, Stage.INPUT, history=earlier, locale=loc, conversation_id=conv)
                    if joined.blocked and not g.stopped_by_failure(joined):
                        earlier = plain
                return g.check(turns.latest, Stage.INPUT, history=earlier, locale=loc, conversation_id=conv)

        return check

    def _ainput_check(self, turn: Turn, turns: shapes.Turns) -> Callable[[], Any]:
        async def check() -> Decision:
            loc, conv, g = turn.locale, turn.conversation_id, turn.guard
            earlier, plain = self._earlier(turns, g)
            with redaction_scope(Numbering(), provisional=True):
                if earlier != plain:
                    joined = await g.aevaluate(
                        turns.latest, Stage.INPUT, history=earlier, locale=loc, conversation_id=conv
                    )
                    if joined.blocked and not g.stopped_by_failure(joined):
                        earlier = plain
                return await g.acheck(turns.latest, Stage.INPUT, history=earlier, locale=loc, conversation_id=conv)

        return check

    # ------------------------------------------------------------------ invoke
    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = get_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        try:
            result = self._answer(run, config, input, turn, **kwargs)
        except BaseException as exc:
            clean = _withheld(exc)
            run.on_chain_error(clean)
            if clean is exc:
                raise
            raise_detached(clean)
        result = turn.delivered(result)
        run.on_chain_end(turn.traced_output(result), inputs=turn.traced_input)
        return result

    def _answer(
        self, run: CallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: Turn, **kwargs: Any
    ) -> Any:
        """One checked, non-streamed answer of ``turn`` within ``run``."""
        state = self._state(input)
        kept = graphs.kept(self.bound, config, state)
        turn.stored = kept.turns if kept is not None else ()
        turns = turn.turns(input)
        d_in = self._judge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            graphs.record(self.bound, kept, turn.recorded_turn(d_in))
            return turn.early_answer(d_in, chunk=False, state=state)
        new_input = self._for_graph(turn, state, kept, turn.rewritten_input(input, turns, d_in))
        graphs.forget_stale_instructions(self.bound, kept, NO_TRIAGE_INSTRUCTION)
        try:
            output = self.bound.invoke(new_input, self._inner_config(config, run), **kwargs)
            try:
                result = self._checked(run, turn, output)
            except GuardrailViolation:  # raised, not shown: the refused answer is not kept either
                graphs.write_back(self.bound, kept, turn.answer_messages(output), [], refused=True)
                raise
            before, after, refused = turn.kept_answer(output, result)
            graphs.write_back(self.bound, kept, before, after, refused=refused)
        finally:
            graphs.forget_instruction(self.bound, kept, new_input, NO_TRIAGE_INSTRUCTION)
        return result

    @staticmethod
    def _for_graph(turn: Turn, state: graphs.GraphState | None, kept: graphs.Kept | None, new_input: Any) -> Any:
        """The input a LangGraph app gets, its messages given ids: in the state it returns, those and the
        conversation it keeps are not this turn's answer, so they are not judged again (``Turn.split_earlier``)."""
        new_input, ids = graphs.with_ids(new_input, state)
        turn.state_key = state.key if state is not None else None
        turn.earlier_ids = {**(kept.ids if kept is not None else {}), **ids}
        turn.earlier_unnamed = Counter([*(kept.unnamed if kept is not None else ()), *ids.values()])
        return new_input

    def _checked(self, run: CallbackManagerForChainRun, turn: Turn, output: Any) -> Any:
        """The chain's whole answer, checked: what ``invoke`` returns for it (of a LangGraph app's state, the
        messages of this turn: ``Turn.split_earlier``)."""
        earlier, output = turn.split_earlier(output)
        read = turn.read(output)
        if read.context_text.strip():
            turn.d_ctx = self._step(run, "context", turn.context_check(read))
        d_out = None
        if read.text.strip():
            d_out = self._step(run, "output", turn.output_check(read.text, pieces=read.apart))
        return turn.join_earlier(turn.finish(output, read, d_out), earlier)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = await get_async_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        try:
            result = await self._aanswer(run, config, input, turn, **kwargs)
        except BaseException as exc:
            clean = _withheld(exc)
            await run.on_chain_error(clean)
            if clean is exc:
                raise
            raise_detached(clean)
        result = turn.delivered(result)
        await run.on_chain_end(turn.traced_output(result), inputs=turn.traced_input)
        return result

    async def _aanswer(
        self, run: AsyncCallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: Turn, **kwargs: Any
    ) -> Any:
        """The async twin of :meth:`_answer`."""
        state = self._state(input)
        kept = await graphs.akept(self.bound, config, state)
        turn.stored = kept.turns if kept is not None else ()
        turns = turn.turns(input)
        d_in = await self._ajudge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            await graphs.arecord(self.bound, kept, turn.recorded_turn(d_in))
            return turn.early_answer(d_in, chunk=False, state=state)
        new_input = await asyncio.to_thread(turn.rewritten_input, input, turns, d_in)
        new_input = self._for_graph(turn, state, kept, new_input)
        await graphs.aforget_stale_instructions(self.bound, kept, NO_TRIAGE_INSTRUCTION)
        try:
            output = await self.bound.ainvoke(new_input, self._inner_config(config, run), **kwargs)
            try:
                result = await self._achecked(run, turn, output)
            except GuardrailViolation:  # as in ``_answer``
                await graphs.awrite_back(self.bound, kept, turn.answer_messages(output), [], refused=True)
                raise
            before, after, refused = turn.kept_answer(output, result)
            await graphs.awrite_back(self.bound, kept, before, after, refused=refused)
        finally:
            await graphs.aforget_instruction(self.bound, kept, new_input, NO_TRIAGE_INSTRUCTION)
        return result

    async def _achecked(self, run: AsyncCallbackManagerForChainRun, turn: Turn, output: Any) -> Any:
        """The async twin of :meth:`_checked`."""
        earlier, output = turn.split_earlier(output)
        read = turn.read(output)
        if read.context_text.strip():
            turn.d_ctx = await self._astep(run, "context", turn.acontext_check(read))
        d_out = None
        if read.text.strip():
            d_out = await self._astep(run, "output", turn.aoutput_check(read.text, pieces=read.apart))
        return turn.join_earlier(turn.finish(output, read, d_out), earlier)

    # ------------------------------------------------------------------ stream
    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Any]:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = get_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        shown: Any = None  # what the caller was given: the chunks added up, as LangChain records a stream's output
        try:
            with closing(self._stream(run, config, input, turn, **kwargs)) as items:
                for item in items:
                    shown = added(shown, item)
                    yield item
        except BaseException as exc:
            clean = _withheld(exc)
            run.on_chain_error(clean)
            if clean is exc:
                raise
            raise_detached(clean)
        turn.delivered(shown)
        run.on_chain_end(turn.traced_output(shown), inputs=turn.traced_input)

    def _stream(
        self, run: CallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: Turn, **kwargs: Any
    ) -> Generator[Any, None, None]:
        if self.schema_output:  # checked whole, yielded once (see ``schema_output``)
            yield self._answer(run, config, input, turn, **kwargs)
            return
        state = self._state(input)
        kept = graphs.kept(self.bound, config, state)
        turn.stored = kept.turns if kept is not None else ()
        turns = turn.turns(input)
        parts, graph = GraphParts.of(kwargs), self.graph is not None  # LangGraph's stream arguments
        d_in = self._judge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            graphs.record(self.bound, kept, turn.recorded_turn(d_in))
            yield turn.early_stream_answer(d_in, parts if graph else None, state)
            return
        screen = ScreenedStream(turn, parts=parts, graph=graph)
        new_input = self._for_graph(turn, state, kept, turn.rewritten_input(input, turns, d_in))
        graphs.forget_stale_instructions(self.bound, kept, NO_TRIAGE_INSTRUCTION)
        state_parts = GraphParts.for_state(parts, state.default_mode if state is not None else None)
        inner = self.bound.stream(new_input, self._inner_config(config, run), **kwargs)
        # whatever ends the stream (its end, a block, the caller, an error), each lane is audited once
        sent: Any = None  # the chunks yielded, added up: the answer the tail's seals are of
        snapshots = Snapshots()  # a parser's snapshots of one answer are checked whole (see ``Snapshots``)
        written = False  # the turn's answer written back into the conversation a graph keeps (``graphs.stream_back``)
        last_values: Any = None  # the earlier messages of the last ``values`` part: the tail's state holds them too
        try:
            with screen.audited():
                try:
                    for chunk in inner:
                        earlier, rest = turn.values_earlier(
                            chunk, state_parts
                        )  # a state part: the turn's messages judged
                        last_values = earlier if isinstance(earlier, list) else last_values
                        if rest is None:  # nothing of the turn's answer in it yet (the input's state): passed on
                            screen.passed(chunk)
                            yield chunk
                            continue
                        chunk = rest
                        for part in snapshots.take(chunk):
                            for item in screen.feed(part):
                                words = screen.answer_part(item)
                                sent = sent if words is None else added(sent, words)
                                yield turn.values_joined(item, earlier, state_parts)
                            if screen.blocked is not None:
                                break
                        if screen.blocked is not None:
                            break
                finally:
                    close = getattr(inner, "close", None)
                    if close is not None:
                        close()
                    graphs.forget_instruction(self.bound, kept, new_input, NO_TRIAGE_INSTRUCTION)
                if snapshots.answer is not None:
                    yield self._checked(run, turn, snapshots.answer)
                    return
                tail = screen.sealed_tail(sent, screen.end())
                self._record(run, "context", turn.d_ctx)  # as invoke traces them: the documents' check, the answer's
                self._record(run, "output", turn.d_out)
                written = graphs.stream_back(self.bound, kept, turn, "end", screen.blocked)
                yield from (turn.values_joined(item, last_values, state_parts) for item in tail)
        except GuardrailViolation:  # refused by raising (raise_on_block): nothing is kept in its place
            written = graphs.stream_back(self.bound, kept, turn, "raised", screen.blocked)
            raise
        finally:
            if not written:  # stopped before its end (the caller, an error): what the screen did is kept
                graphs.stream_back(self.bound, kept, turn, "early", screen.blocked)

    async def astream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        config = ensure_config(config)
        turn = self._turn(config)  # first: a bad per-request profile fails before any run is started
        run = await get_async_callback_manager_for_config(config).on_chain_start(
            None, WITHHELD, run_id=config.pop("run_id", None), name=config.get("run_name") or self.get_name()
        )
        shown: Any = None  # as in ``stream``
        items = self._astream(run, config, input, turn, **kwargs)
        try:
            async for item in items:
                shown = added(shown, item)
                yield item
        except BaseException as exc:
            clean = _withheld(exc)
            await run.on_chain_error(clean)
            if clean is exc:
                raise
            raise_detached(clean)
        finally:
            await items.aclose()
        turn.delivered(shown)
        await run.on_chain_end(turn.traced_output(shown), inputs=turn.traced_input)

    async def _astream(
        self, run: AsyncCallbackManagerForChainRun, config: RunnableConfig, input: Any, turn: Turn, **kwargs: Any
    ) -> AsyncGenerator[Any, None]:
        if self.schema_output:  # checked whole, yielded once (see ``schema_output``)
            yield await self._aanswer(run, config, input, turn, **kwargs)
            return
        state = self._state(input)
        kept = await graphs.akept(self.bound, config, state)
        turn.stored = kept.turns if kept is not None else ()
        turns = turn.turns(input)
        parts, graph = GraphParts.of(kwargs), self.graph is not None  # LangGraph's stream arguments
        d_in = await self._ajudge_input(run, turn, turns)
        if turn.stops_chain(d_in):
            turn.traced_input = turn.withheld_input(input, d_in)
            await graphs.arecord(self.bound, kept, turn.recorded_turn(d_in))
            yield turn.early_stream_answer(d_in, parts if graph else None, state)
            return
        screen = ScreenedStream(turn, parts=parts, graph=graph)
        new_input = await asyncio.to_thread(turn.rewritten_input, input, turns, d_in)
        new_input = self._for_graph(turn, state, kept, new_input)
        await graphs.aforget_stale_instructions(self.bound, kept, NO_TRIAGE_INSTRUCTION)
        state_parts = GraphParts.for_state(parts, state.default_mode if state is not None else None)
        inner = self.bound.astream(new_input, self._inner_config(config, run), **kwargs)
        sent: Any = None  # as in ``_stream``
        snapshots = Snapshots()  # as in ``_stream``
        written = False  # as in ``_stream``
        last_values: Any = None  # as in ``_stream``
        try:
            with screen.audited():  # each lane audited once, as in ``stream``
                try:
                    async for chunk in inner:
                        earlier, rest = turn.values_earlier(chunk, state_parts)  # as in ``_stream``
                        last_values = earlier if isinstance(earlier, list) else last_values
                        if rest is None:
                            screen.passed(chunk)
                            yield chunk
                            continue
                        chunk = rest
                        for part in snapshots.take(chunk):
                            for item in await _in_worker(screen.feed, part):
                                words = screen.answer_part(item)
                                sent = sent if words is None else added(sent, words)
                                yield turn.values_joined(item, earlier, state_parts)
                            if screen.blocked is not None:
                                break
                        if screen.blocked is not None:
                            break
                finally:
                    aclose = getattr(inner, "aclose", None)
                    if aclose is not None:
                        await aclose()
                    await graphs.aforget_instruction(self.bound, kept, new_input, NO_TRIAGE_INSTRUCTION)
                if snapshots.answer is not None:
                    yield await self._achecked(run, turn, snapshots.answer)
                    return
                tail = screen.sealed_tail(sent, await _in_worker(screen.end))
                await self._arecord(run, "context", turn.d_ctx)
                await self._arecord(run, "output", turn.d_out)
                written = await graphs.astream_back(self.bound, kept, turn, "end", screen.blocked)
                for item in tail:
                    yield turn.values_joined(item, last_values, state_parts)
        except GuardrailViolation:  # as in ``_stream``
            written = await graphs.astream_back(self.bound, kept, turn, "raised", screen.blocked)
            raise
        finally:
            if not written:
                await graphs.astream_back(self.bound, kept, turn, "early", screen.blocked)

    @overload
    def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent]: ...

    @overload
    def astream_events(
        self, input: Any, config: RunnableConfig | None = None, *, version: Literal["v3"], **kwargs: Any
    ) -> Awaitable[Any]: ...

    def astream_events(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        *,
        version: Literal["v1", "v2", "v3"] = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[StreamEvent] | Awaitable[Any]:
        """LangChain's event stream, with no event carrying the caller's raw input: LangChain's v2 stream puts
        the input it was given into its first event (the wrapper's own start), where it would reach whatever
        logs or forwards events before the guard has redacted it. That event holds the withheld marker instead,
        as the wrapper's trace run does; the screened input is in the wrapped chain's own events."""
        events = super().astream_events(
            input,
            config,
            version=version,
            include_names=include_names,
            include_types=include_types,
            include_tags=include_tags,
            exclude_names=exclude_names,
            exclude_types=exclude_types,
            exclude_tags=exclude_tags,
            **kwargs,
        )
        return _without_raw_input(events, input) if isinstance(events, AsyncIterator) else events


async def _without_raw_input(events: AsyncIterator[StreamEvent], raw: Any) -> AsyncIterator[StreamEvent]:
    """``events`` with the caller's raw input replaced by the withheld marker where LangChain puts it: in the first
    event whatever run it belongs to (v2 writes the input it was given there, even into a custom event when
    filters leave out the runs before it), and in the start events of the root run (the first event's run)."""
    root: Any = None
    first = True
    async for event in events:
        data = event.get("data")
        if first:
            root = event.get("run_id")
        raw_here = first and isinstance(data, dict) and "input" in data and _is_raw(data["input"], raw)
        root_start = event.get("run_id") == root and event["event"].endswith("_start")
        if isinstance(data, dict) and "input" in data and (raw_here or root_start):
            event = {**event, "data": {**data, "input": WITHHELD}}  # type: ignore[typeddict-item]
        first = False
        yield event


#: what a parser's error says in place of the model's answer it quotes
PARSE_ERROR_WITHHELD = (
    "the answer could not be parsed ({kind}); its text and the parser's message are withheld by guardrails, "
    "since an answer that fails to parse was never screened"
)


def _withheld(exc: BaseException) -> BaseException:
    """The error the wrapper raises for ``exc``, raised by the wrapped chain: a parser's error quotes the model's
    answer (in its message and ``llm_output``), which no check has seen, so it is raised as a new error of its
    type (the caller's ``except OutputParserException`` still catches it) without the answer. Others as they are."""
    if not isinstance(exc, OutputParserException):
        return exc
    message = PARSE_ERROR_WITHHELD.format(kind=type(exc).__name__)
    try:
        clean = type(exc)(message)
    except Exception:  # a subclass with another signature
        clean = OutputParserException(message)
    if not isinstance(clean, OutputParserException) or clean.llm_output is not None:
        clean = OutputParserException(message)
    clean.send_to_llm = False
    return clean


def _is_raw(value: Any, raw: Any) -> bool:
    """True when ``value`` is the caller's input (or an equal copy of it)."""
    if value is raw:
        return True
    try:
        return bool(value == raw)
    except Exception:  # a value whose comparison fails is not the input
        return False


_T = TypeVar("_T")


async def _in_worker(fn: Callable[..., _T], *args: Any) -> _T:
    """``fn(*args)`` on a worker thread, for a stream's checks. A worker cannot be stopped, so when the caller is
    cancelled meanwhile the cancellation waits for it (what it judged then reaches the lane's audit record) and
    then goes on; cancelled again while it waits, it stops waiting (the record then says a window was left
    unjudged). Either way none of the worker's text is yielded."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    work.add_done_callback(_retrieved)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        with suppress(BaseException):  # a second cancellation (or the worker's own error) ends the wait
            await asyncio.shield(work)
        raise


#: this package's folder: frames in it are the library's own
_PACKAGE_DIR = str(Path(__file__).resolve().parents[2]) + os.sep


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside this package, counted from the function that calls this one:
    a warning points at the user's line however they reached it (``guard.wrap``, ``with_guardrails``, the class)."""
    frame: FrameType | None = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def _retrieved(work: asyncio.Future[Any]) -> None:
    """Take a worker's outcome, so one no one waited for to the end is not logged as never retrieved."""
    if not work.cancelled():
        work.exception()


#: the callback handlers behind ``astream_events`` (v2) and ``astream_log``/``astream_events`` (v1)
_EVENT_HANDLERS = frozenset({"_AstreamEventsCallbackHandler", "LogStreamCallbackHandler"})


def _streams_events(handler: Any) -> bool:
    """Whether ``handler`` hands the tokens it sees to a caller: the ``astream_events``/``astream_log`` handlers,
    and every streaming handler of their kind (LangGraph's ``stream_mode="messages"`` handler is one)."""
    if any(cls.__name__ in _EVENT_HANDLERS for cls in type(handler).__mro__):
        return True
    return isinstance(handler, _STREAMING_KINDS)


def _streaming_kinds() -> tuple[type, ...]:
    """LangChain's (private) bases of the handlers that stream what they see; none where a version lacks them."""
    kinds: list[type] = []
    try:
        from langchain_core.tracers import _streaming
    except ImportError:  # pragma: no cover - an older or newer langchain-core
        return ()
    for name in ("_StreamingCallbackHandler", "_V2StreamingCallbackHandler"):
        kind = getattr(_streaming, name, None)
        if isinstance(kind, type):
            kinds.append(kind)
    return tuple(kinds)


_STREAMING_KINDS = _streaming_kinds()


def with_guardrails(
    runnable: Runnable[Any, Any],
    profile: str | Guard = "general",
    **kwargs: Any,
) -> GuardedRunnable:
    """Wrap ``runnable`` with a guard built from ``profile`` (a built-in name, a path, or a Guard)."""
    guard = profile if isinstance(profile, Guard) else Guard.from_profile(profile)
    return GuardedRunnable(runnable, guard, **kwargs)
