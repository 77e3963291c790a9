"""YAML domain profiles, validated by pydantic.

A profile says which detectors run on which stage, what each category's threshold
and action are, how to redact, refer and disclaim. Unknown keys, out-of-range
thresholds and unknown category ids fail at load with a ProfileError naming the
file, the field path and the bad value; so do values that would otherwise be coerced
or fall back silently: a boolean or a quoted number for a number (or the reverse), a
locale whose country is not an ISO 3166-1 code, a blank refusal text, a category
``action: redact`` (redaction is per PII entity, under ``redaction:``), an ``audit.path``
without ``audit.enabled``, YAML anchors and aliases (every walk of the loaded value would
expand them again) and a file over :data:`MAX_PROFILE_BYTES`. ``extends:`` inherits from a
built-in profile or another file (mappings merge key by key; lists are replaced), at most
:data:`MAX_EXTENDS_DEPTH` files deep; an error in an inherited value names the file that holds
it and the ``extends:`` chain that reached it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from guardrails._paths import configs_dir
from guardrails._yaml import describe_yaml_error, load_strict
from guardrails.errors import ProfileError, brief
from guardrails.locales import parse_locale
from guardrails.taxonomy import Category, Taxonomy, load_taxonomy
from guardrails.types import Action

ActionName = Literal["allow", "disclaim", "redact", "refer", "block"]
StageName = Literal["input", "output"]

_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")

#: the largest profile file read, in bytes (a profile is a few KiB); a larger one is refused before it is read
MAX_PROFILE_BYTES: Final = 1024 * 1024
#: the most files an ``extends:`` chain may hold, the profile itself included (the shipped ones use 2)
MAX_EXTENDS_DEPTH: Final = 32


def _check_locale(value: str) -> str:
    parse_locale(value)
    return value


def _check_language(value: str) -> str:
    """'auto', or the language code of a tag or POSIX name ('es_ES.UTF-8' -> 'es') that disclaimer texts are
    written in: what the disclaimers look up (a language without texts would get English ones silently)."""
    if value == "auto":
        return value
    from guardrails.responses import disclaimer_languages

    known = disclaimer_languages()
    wanted = f"expected 'auto' or a language the disclaimers are written in ({', '.join(known)})"
    try:
        language = parse_locale(value)[0]
    except ValueError:
        raise ValueError(wanted) from None
    if not language or language.lower() not in known:
        raise ValueError(wanted)
    return language.lower()


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


#: a text a user is shown, or a name: never empty
_Text = Annotated[str, AfterValidator(_not_blank)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryRule(_Strict):
    """Per-category overrides: the action taken and the score threshold."""

    action: ActionName | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    #: the stages on which the category counts (null: its kind's default; []: it never counts, a way to turn it off)
    stages: tuple[StageName, ...] | None = None
    #: a crisis id whose referral this category gets (with action refer: a request for self-harm methods is answered
    #: with the self-harm resources, as that crisis would be, and on the input it outweighs a block as a crisis does)
    referral: str | None = None
    #: a prohibited id this crisis category counts as on the output stage, at that category's threshold: an answer
    #: that reads as a self-harm crisis speaks it or urges it (crisis_self_harm: {output_as: self_harm_promotion})
    output_as: str | None = None

    @field_validator("action")
    @classmethod
    def _not_redact(cls, v: ActionName | None) -> ActionName | None:
        if v == "redact":  # the policy would label the turn REDACT and pass its text on unchanged
            raise ValueError(
                "'redact' is not an action for a category: redaction replaces the personal data the pii detector "
                "finds and is set per entity type under `redaction:` (e.g. redaction: {input: {default: mask}}); "
                "a category's action is allow, disclaim, refer or block"
            )
        return v


class DetectorSpec(_Strict):
    """Whether a detector runs, on which stages, with which options."""

    enabled: bool = True
    stages: tuple[StageName, ...] = ("input", "output")
    #: what a failure of this detector does: the profile's ``on_detector_error`` (inherit), or its own
    on_error: Literal["inherit", "block", "allow"] = "inherit"
    #: the most seconds one call may take: the profile's ``detector_timeout_s`` (inherit), none (null), or its own
    timeout_s: float | Literal["inherit"] | None = "inherit"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("stages")
    @classmethod
    def _some_stage(cls, v: tuple[StageName, ...]) -> tuple[StageName, ...]:
        if not v:
            raise ValueError("a detector with no stages never runs; to turn it off, write enabled: false")
        return v

    @field_validator("timeout_s", mode="before")
    @classmethod
    def _valid_timeout(cls, v: object) -> object:
        if v is None or v == "inherit":
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 3600:
            raise ValueError("timeout_s must be a number of seconds in (0, 3600], null (no limit) or 'inherit'")
        return float(v)


class CustomCategory(_Strict):
    """A category a profile adds on top of the taxonomy."""

    id: str
    kind: Literal["prohibited", "crisis", "domain"]
    clause: str

    @field_validator("clause")
    @classmethod
    def _clause_words(cls, v: str) -> str:
        v = v.strip()
        if len(v) < 3:
            raise ValueError("a clause must have at least 3 characters besides leading and trailing whitespace")
        return v

    @field_validator("id")
    @classmethod
    def _valid_id(cls, v: str) -> str:
        if not _ID.match(v):
            raise ValueError(f"category id {v!r} must be lower_snake_case (a-z, 0-9, _)")
        return v


class DisclaimerSettings(_Strict):
    """How AI-use disclaimers are attached to answers."""

    placement: Literal["prepend", "append"] = "append"
    frequency: Literal["every", "first"] = "every"
    format: Literal["plain", "markdown"] = "plain"
    #: "auto": the language of the request's locale when a text exists for it, else English
    language: Annotated[str, AfterValidator(_check_language)] = "auto"
    always: tuple[str, ...] = ()


class AuditSettings(_Strict):
    """One JSON line per decision; never the raw text."""

    enabled: bool = False
    path: str | None = None
    salt_env: str = "GUARDRAILS_AUDIT_SALT"


class StreamingSettings(_Strict):
    """Output screening while streaming.

    ``holdback_chars`` is the look-back buffer: at most that many characters of the
    streamed answer are held back from the caller until they have been screened in
    context (a PII value or a placeholder split across chunks is never released
    half-checked). ``check_every_chars`` sets how often the accumulated answer is
    screened; ``window_chars`` bounds how much of it each screening's detectors see, but for the semantic
    detector with ``hold_last_window``, which reads the whole answer so far (checks then come at most every
    sixteenth of it). ``hold_last_window`` also holds back the end of the answer so far that a check could not
    yet read as the finished answer's check will (its last ``long_answer_window_tokens`` word pieces, about 400
    characters: README, "Streaming"); off, text arrives sooner, but a harmful passage may be partly shown before
    a later check refuses it.
    """

    holdback_chars: int = Field(default=96, ge=8, le=8192)
    check_every_chars: int = Field(default=160, ge=1, le=65536)
    window_chars: int = Field(default=2000, ge=256, le=200_000)
    hold_last_window: bool = True


class Profile(_Strict):
    """A validated profile. Build it with :func:`load_profile`."""

    name: _Text
    description: str = ""
    extends: str | None = None
    #: a BCP 47 tag or POSIX name whose country, if any, is an ISO 3166-1 code ("en-GB", "en_GB.UTF-8", "fr")
    locale: Annotated[str, AfterValidator(_check_locale)] | None = None
    on_detector_error: Literal["block", "allow"] = "block"
    #: the most seconds one detector call may take (per text; null: no limit); past it the call is a failure
    detector_timeout_s: float | None = Field(default=None, gt=0.0, le=3600.0)
    unsupported_language: Literal["allow", "flag", "block"] = "flag"
    crisis_mode: Literal["refer", "refer_and_continue"] = "refer"
    crisis_overrides_block: bool = True
    default_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    history_window: int = Field(default=3, ge=0, le=50)
    #: which earlier messages an adapter judges when the guard has not seen them (a history from a database, another
    #: worker or the client): user ``turns``, the model's ``answers``. Leave one out only where that part of the
    #: history can come from nowhere but this guard's own answers (a store no client writes to)
    screen_history: tuple[Literal["turns", "answers"], ...] = ("turns", "answers")
    #: a plain-text document the user attaches (an Anthropic ``document`` block of a text source, LangChain's
    #: ``text-plain`` block): ``judge`` reads
    #: its words as part of the turn; ``redact`` only redacts them, as a retrieved document is (the answer is judged
    #: either way). For apps built on uploads: long documents are often flagged when judged (README "Long texts")
    attached_documents: Literal["judge", "redact"] = "judge"
    #: a longer text is refused as too long, unread. The default is what the detectors judge in full in seconds: the
    #: semantic classifier embeds every window of a text or refuses it (``embeddings.MAX_WINDOWS_PER_TEXT``, 16,384),
    #: and 200,000 characters of prose or code need 2,000-4,300 windows (5-10 s per check on 2 cores), of short
    #: lines such as CSV rows 9,000-10,700 (12-28 s). A larger value is allowed: a text that needs more windows
    #: than the cap is then a semantic failure, handled by ``on_detector_error`` (block by default), never judged
    #: in part
    max_text_chars: int = Field(default=200_000, ge=1)
    detectors: dict[str, DetectorSpec] = Field(default_factory=dict)
    categories: dict[str, CategoryRule] = Field(default_factory=dict)
    custom_categories: tuple[CustomCategory, ...] = ()
    disclaimers: DisclaimerSettings = DisclaimerSettings()
    refusals: dict[str, _Text] = Field(default_factory=dict)
    redaction: dict[str, Any] = Field(default_factory=dict)
    audit: AuditSettings = AuditSettings()
    streaming: StreamingSettings = StreamingSettings()
    source: str = Field(default="<memory>", exclude=True)

    def taxonomy(self) -> Taxonomy:
        """The shipped taxonomy plus this profile's custom categories."""
        base = load_taxonomy()
        return base.extended(Category(id=c.id, kind=c.kind, clause=c.clause) for c in self.custom_categories)

    def rule(self, category: str) -> CategoryRule:
        return self.categories.get(category, CategoryRule())

    def action_for(self, category: str, kind: str) -> Action:
        """The action for a category: the profile's override or the kind's default."""
        rule = self.rule(category)
        if rule.action is not None:
            return Action.parse(rule.action)
        return _KIND_ACTION[kind]

    def threshold_for(self, category: str) -> float:
        rule = self.rule(category)
        return self.default_threshold if rule.threshold is None else rule.threshold

    def on_error_for(self, detector: str) -> Literal["block", "allow"]:
        """The failure policy of one detector (its own, or the profile's)."""
        spec = self.detectors.get(detector)
        if spec is None or spec.on_error == "inherit":
            return self.on_detector_error
        return spec.on_error

    def timeout_for(self, detector: str) -> float | None:
        """The time limit of one detector in seconds (its own, or the profile's); None for no limit."""
        spec = self.detectors.get(detector)
        if spec is None or spec.timeout_s == "inherit":
            return self.detector_timeout_s
        return spec.timeout_s

    def detectors_for(self, stage: str) -> tuple[str, ...]:
        return tuple(n for n, s in self.detectors.items() if s.enabled and stage in s.stages)


_KIND_ACTION: dict[str, Action] = {"prohibited": Action.BLOCK, "crisis": Action.REFER, "domain": Action.DISCLAIM}


def profiles_dir() -> Path:
    return configs_dir() / "profiles"


def builtin_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped in configs/profiles/."""
    return tuple(sorted(p.stem for p in profiles_dir().glob("*.yaml")))


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name, or a YAML file by path, with inheritance resolved."""
    if not isinstance(name_or_path, (str, Path)):
        raise ProfileError(f"expected a profile name or path, got {type(name_or_path).__name__}", value=name_or_path)
    path = _resolve(str(name_or_path), base=None, referrer=None)
    return _validate_layers(_load_chain(path, seen=()))


def validate_profile_mapping(data: Mapping[str, Any], *, source: str = "<memory>") -> Profile:
    """Validate an already-parsed profile mapping (``extends`` resolved against built-ins)."""
    raw = dict(data)
    parent = raw.get("extends")
    if parent is not None:
        if not isinstance(parent, str):
            raise ProfileError(
                f"'extends' must be a profile name or path (got {brief(parent)})",
                source=source,
                field="extends",
                value=parent,
            )
        return _validate_layers(((source, raw), *_load_chain(_resolve(parent, base=None, referrer=source), seen=())))
    return _validate_layers(((source, raw),))


def checked_profile(profile: Profile, *, injected: Collection[str] = (), injected_language: bool = False) -> Profile:
    """``profile`` validated as a loaded one is, its cross-field rules included (a ``Profile`` built by hand or
    changed with ``model_copy(update=...)`` skips them: an LLM judge where no redaction runs, an unknown category
    id, a threshold of 7); raises :class:`ProfileError` naming the bad field. ``injected``: the names of detector
    instances given beside the profile, of which it cannot know what they do (which redacts, which detects the
    language): the rule about redaction is then left to the caller, and ``injected_language`` says whether one of
    them detects the language (``detects_language``)."""
    _check_built(profile, source=profile.source, path=())
    audit = profile.audit
    if audit.path is not None and not audit.enabled and "enabled" not in audit.model_fields_set:
        raise ProfileError(
            "a path is set but audit.enabled is false (the default): nothing would be written there; set enabled=True",
            source=profile.source,
            field="audit.path",
            value=audit.path,
        )
    return _validate(
        profile.model_dump(), source=profile.source, injected=bool(injected), injected_language=injected_language
    )


def _check_built(model: BaseModel, *, source: str, path: tuple[str, ...]) -> None:
    """A field ``model_copy(update=...)`` set that the model does not have (a misspelled name): pydantic keeps it
    unchecked and ``model_dump`` drops it, so the setting would silently not apply."""
    known = type(model).model_fields
    for name, value in vars(model).items():
        if name not in known:
            raise ProfileError(
                f"unknown field {name!r} (a model_copy update names no such setting)",
                source=source,
                field=".".join((*path, name)),
                value=name,
            )
        if isinstance(value, BaseModel):
            _check_built(value, source=source, path=(*path, name))


def _resolve(ref: str, *, base: Path | None, referrer: str | None) -> Path:
    """The file of a profile name or path; ``referrer`` is the profile whose ``extends:`` gave it (errors name it)."""

    def error(message: str, source: str) -> ProfileError:
        if referrer is None:  # the name or path given to load_profile
            return ProfileError(message, source=source, value=ref)
        return ProfileError(message, source=referrer, field="extends", value=ref)

    if not ref.strip():
        raise error("empty profile name", "<profile>")
    looks_like_path = ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref
    if looks_like_path:
        p = Path(ref)
        if not p.is_absolute() and base is not None:
            p = base / p
        if not p.is_file():
            if referrer is None:
                raise error("profile file does not exist", str(p))
            raise error(f"the parent profile file does not exist: {p}", str(p))
        return p
    builtin = profiles_dir() / f"{ref}.yaml"
    if builtin.is_file():
        return builtin
    known = ", ".join(builtin_profiles())
    raise error(f"unknown profile {ref!r}; built-in profiles: {known}", "<profile>")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise ProfileError(
                f"the file is {size} bytes, over the {MAX_PROFILE_BYTES} bytes a profile may have", source=str(path)
            )
        with path.open("rb") as fh:
            data_bytes = fh.read(MAX_PROFILE_BYTES + 1)  # it may have grown since the stat
        if len(data_bytes) > MAX_PROFILE_BYTES:
            raise ProfileError(f"the file is over the {MAX_PROFILE_BYTES} bytes a profile may have", source=str(path))
        data = load_strict(data_bytes.decode("utf-8"), aliases=False)
    except UnicodeDecodeError as exc:
        raise ProfileError(f"not UTF-8 text: {exc.reason}", source=str(path)) from None
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror}", source=str(path)) from None
    except yaml.YAMLError as exc:
        raise ProfileError(describe_yaml_error(exc), source=str(path)) from None
    except RecursionError:
        raise ProfileError("invalid YAML: nested too deeply", source=str(path)) from None
    if not isinstance(data, dict):
        raise ProfileError(f"a profile must be a YAML mapping, got {type(data).__name__}", source=str(path), value=data)
    return data


#: one file of an ``extends:`` chain: its name (as errors show it) and its mapping
_Layer = tuple[str, dict[str, Any]]


def _load_chain(path: Path, *, seen: tuple[Path, ...]) -> tuple[_Layer, ...]:
    """The files of a profile's ``extends:`` chain, the profile itself first and its farthest ancestor last.

    ``seen`` is the chain of files that led here; an error in this file says it was reached from them.
    """
    resolved = path.resolve()
    try:
        data = _anchor_paths(_read_yaml(path), path.parent)
        parent = data.get("extends")
        if parent is None:
            return ((str(path), data),)
        if not isinstance(parent, str):
            raise ProfileError(
                f"'extends' must be a profile name or path (got {brief(parent)})",
                source=str(path),
                field="extends",
                value=parent,
            )
        parent_path = _resolve(parent, base=path.parent, referrer=str(path))
        chain = (*(p.resolve() for p in seen), resolved)
        if parent_path.resolve() in chain:
            loop = " -> ".join(str(p) for p in (*chain, parent_path.resolve()))
            raise ProfileError(f"circular 'extends': {loop}", source=str(path), field="extends", value=parent)
    except ProfileError as exc:
        if not seen or exc.source != str(path):
            raise
        raise _reached_through(exc, (*(str(p) for p in seen), str(path))) from None
    if len(seen) + 1 >= MAX_EXTENDS_DEPTH:  # named here, not with the whole chain: that would be 32 paths long
        start = f" (the chain starts at {seen[0]})" if seen else ""
        raise ProfileError(
            f"the 'extends' chain is longer than {MAX_EXTENDS_DEPTH} files at this file{start}",
            source=str(path),
            field="extends",
            value=parent,
        )
    return ((str(path), data), *_load_chain(parent_path, seen=(*seen, path)))


def _message(exc: ProfileError) -> str:
    """A ProfileError's message without the ``source: field:`` it starts with."""
    text = str(exc)
    where = f"{exc.source}: {exc.field}: " if exc.field else f"{exc.source}: "
    return text[len(where) :] if text.startswith(where) else text


def _reached_through(exc: ProfileError, chain: tuple[str, ...], note: str = "") -> ProfileError:
    """``exc``, an error in the file ``chain[-1]`` (an ancestor of ``chain[0]``), saying how it was reached."""
    route = " -> ".join(chain)
    return ProfileError(
        f"{_message(exc)}{note} (reached from {chain[0]} through extends: {route})",
        source=chain[-1],
        field=exc.field,
        value=exc.value,
    )


#: detector options that name files; a relative one is found next to the profile that sets it (as ``extends:``)
_PATH_OPTIONS = frozenset(
    {
        ("pii", "recognizer_files"),
        ("lexical", "pattern_files"),
        ("semantic", "model"),
        ("semantic", "output_model"),
        ("toxicity", "checkpoint"),
        ("toxicity", "huggingface_config_path"),
        ("toxicity", "mapping"),
    }
)


def _anchor_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Point relative file options at the profile's folder when the file is there (else they stay as given:
    a built-in name such as ``default``, or a path relative to the working directory)."""
    detectors = data.get("detectors")
    if not isinstance(detectors, dict):
        return data

    def anchored(value: Any) -> Any:
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            return value
        candidate = folder / value
        return str(candidate) if candidate.is_file() or candidate.is_dir() else value

    for name, spec in detectors.items():
        options = spec.get("options") if isinstance(spec, dict) else None
        if not isinstance(options, dict):
            continue
        for key, value in options.items():
            if (name, key) in _PATH_OPTIONS:
                options[key] = [anchored(v) for v in value] if isinstance(value, list) else anchored(value)
    return data


def _merge_layers(layers: tuple[_Layer, ...]) -> tuple[dict[str, Any], dict[tuple[str, ...], list[str]]]:
    """The merged profile of a chain (its farthest ancestor first: mappings merge key by key, anything else
    replaces), and for each key path of it the files whose values it holds (a mapping's: every file that
    contributed a key; anything else's: the one file that set it)."""
    merged: dict[str, Any] = {}
    origins: dict[tuple[str, ...], list[str]] = {}

    def forget(replaced: dict[Any, Any], path: tuple[str, ...]) -> None:
        """Drop the origins of a mapping's keys (it is being replaced): a walk of that mapping, so that each key
        path is recorded and dropped at most once and the whole merge stays linear in the number of keys."""
        for key, value in replaced.items():
            here = (*path, str(key))
            origins.pop(here, None)
            if isinstance(value, dict):
                forget(value, here)

    def merge(into: dict[Any, Any], override: Mapping[Any, Any], source: str, path: tuple[str, ...]) -> None:
        for key, value in override.items():
            here = (*path, str(key))
            old = into.get(key)
            if isinstance(value, Mapping) and isinstance(old, dict):
                origins[here].append(source)
                merge(old, value, source, here)
                continue
            if isinstance(old, dict):  # only a mapping has keys below it to forget
                forget(old, here)
            origins[here] = [source]
            if isinstance(value, Mapping):
                into[key] = {}
                merge(into[key], value, source, here)
            else:
                into[key] = value

    for source, data in reversed(layers):
        merge(merged, data, source, ())
    return merged, origins


def _validate_layers(layers: tuple[_Layer, ...]) -> Profile:
    """Merge and validate a chain (the profile first); an error is reported against the file that holds the
    bad value, saying through which ``extends:`` it was reached."""
    raw, origins = _merge_layers(layers)
    source = layers[0][0]
    _drop_outranked_referrals(raw, origins, [name for name, _ in layers])
    try:
        return _validate(raw, source=source)
    except ProfileError as exc:
        if len(layers) == 1 or exc.source != source or not exc.field:
            raise
        holders = _holders(origins, exc.field)
        if not holders or holders == [source]:
            raise
        order = [name for name, _ in layers]
        culprit = min(holders, key=order.index)  # the nearest file to the profile whose value is there
        others = [h for h in sorted(holders, key=order.index) if h != culprit]
        note = f" (merged with the values of {', '.join(others)})" if others else ""
        moved = ProfileError(_message(exc), source=culprit, field=exc.field, value=exc.value)
        if culprit == source:
            raise ProfileError(_message(exc) + note, source=source, field=exc.field, value=exc.value) from None
        raise _reached_through(moved, tuple(order[: order.index(culprit) + 1]), note) from None


def _drop_outranked_referrals(
    raw: dict[str, Any], origins: Mapping[tuple[str, ...], list[str]], order: list[str]
) -> None:
    """A category's inherited ``referral:`` goes when a file nearer the profile sets another action than refer
    (a child that blocks ``self_harm_promotion``, which general refers with the self-harm resources): it
    belonged to the parent's refer."""
    categories = raw.get("categories")
    if not isinstance(categories, dict):
        return
    for cat_id, rule in categories.items():
        if not isinstance(rule, dict) or "referral" not in rule or rule.get("action") in (None, "refer"):
            continue
        set_action = origins.get(("categories", str(cat_id), "action"), [])
        set_referral = origins.get(("categories", str(cat_id), "referral"), [])
        if set_action and set_referral and order.index(set_action[0]) < order.index(set_referral[0]):
            del rule["referral"]


def _holders(origins: Mapping[tuple[str, ...], list[str]], field: str) -> list[str]:
    """The files that set the value at ``field`` (a dotted path), or at its nearest enclosing key that was set."""
    best: tuple[str, ...] = ()
    for path in origins:
        joined = ".".join(path)
        if (field == joined or field.startswith(joined + ".")) and len(joined) > len(".".join(best)):
            best = path
    return list(origins[best]) if best else []


def _validate(raw: dict[str, Any], *, source: str, injected: bool = False, injected_language: bool = False) -> Profile:
    if "source" in raw:  # a field of the loaded profile, not a setting: a file's own would be overwritten silently
        raise ProfileError(
            "Extra inputs are not permitted ('source' is the file a profile was read from, set by the loader)",
            source=source,
            field="source",
            value=raw["source"],
        )
    try:
        profile = Profile.model_validate({**raw, "source": source})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        hint = ""
        if err.get("type") == "string_type" and isinstance(err.get("input"), bool):  # locale: no (Norwegian)
            hint = "; YAML reads yes/no, on/off and true/false as booleans: quote the text ('no')"
        raise ProfileError(
            f"{err['msg']} (got {brief(err.get('input'))}{hint})", source=source, field=field, value=err.get("input")
        ) from None
    _check_no_coercion(raw, profile, source=source, path=())
    audit = raw.get("audit")
    if isinstance(audit, Mapping) and audit.get("path") is not None and "enabled" not in audit:
        # enabled defaults to false: the path alone would be accepted and nothing written (write enabled: false to
        # keep a path for later, or to turn off a parent's audit log)
        raise ProfileError(
            "a path is set but audit.enabled is false (the default): nothing would be written there; add enabled: true",
            source=source,
            field="audit.path",
            value=audit.get("path"),
        )
    _check_ids(profile, source=source)
    _check_detectors(profile, source=source, together=not injected, injected_language=injected_language)
    _check_redaction(profile, source=source)
    return profile


def _check_redaction(profile: Profile, *, source: str) -> None:
    from guardrails.redaction import RedactionConfig

    try:
        config = RedactionConfig.model_validate(profile.redaction)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in ("redaction", *err["loc"]))
        raise ProfileError(
            f"{err['msg']} (got {brief(err.get('input'))})", source=source, field=field, value=err.get("input")
        ) from None
    _check_no_coercion(profile.redaction, config, source=source, path=("redaction",))
    spec = profile.detectors.get("pii")
    if spec is None or not spec.enabled:
        return  # another detector (a custom one) may name its own entities
    from guardrails.detectors.pii import PIIOptions, resolve_options

    entities = set(resolve_options(PIIOptions.model_validate(spec.options or {})).entities)
    for stage in ("input", "output"):
        for key in getattr(config, stage):
            if key != "default" and key not in entities:
                raise ProfileError(
                    f"{key!r} is not an entity the pii detector finds (a typo?); it finds: "
                    + ", ".join(sorted(entities)),
                    source=source,
                    field=f"redaction.{stage}.{key}",
                    value=key,
                )


def _check_ids(profile: Profile, *, source: str) -> None:
    try:
        taxonomy = profile.taxonomy()
    except ValueError as exc:
        raise ProfileError(str(exc), source=source, field="custom_categories") from None
    for cat_id, rule in profile.categories.items():
        if cat_id not in taxonomy:
            raise ProfileError(
                f"unknown category id {cat_id!r} (not in the taxonomy; declare new ones under custom_categories)",
                source=source,
                field=f"categories.{cat_id}",
                value=cat_id,
            )
        kind = taxonomy[cat_id].kind
        if kind == "crisis" and "output" in (rule.stages or ()) and profile.action_for(cat_id, kind) is Action.REFER:
            raise ProfileError(
                f"{cat_id} is a crisis category referred on the output stage, but a referral answers the user's "
                "request and never replaces a model's answer; remove output from its stages (an answer promoting "
                "self-harm is blocked as self_harm_promotion)",
                source=source,
                field=f"categories.{cat_id}.stages",
                value=list(rule.stages or ()),
            )
        action = profile.action_for(cat_id, kind)
        counts_on_input = rule.stages is None or "input" in rule.stages
        if kind == "crisis" and counts_on_input and action in (Action.ALLOW, Action.DISCLAIM):
            raise ProfileError(
                f"{cat_id} is a crisis category: on the input it is referred (refer, or block with the referral "
                f"attached), never answered by the model ({rule.action}); to stop it counting write stages: []",
                source=source,
                field=f"categories.{cat_id}.action",
                value=rule.action,
            )
        if kind == "domain" and action is Action.REFER:
            raise ProfileError(
                f"{cat_id} is a domain category: its action is allow, disclaim or block (refer is for crisis "
                "categories, and for a prohibited one with referral: <crisis id>)",
                source=source,
                field=f"categories.{cat_id}.action",
                value=rule.action,
            )
        if kind == "prohibited" and action is Action.REFER and rule.referral is None:
            raise ProfileError(
                f"{cat_id} with action refer needs referral: <crisis id> (whose resources the user is sent, e.g. "
                "crisis_self_harm); without one, block it",
                source=source,
                field=f"categories.{cat_id}.referral",
                value=None,
            )
        if rule.referral is not None and (taxonomy[cat_id].kind != "prohibited" or rule.action != "refer"):
            raise ProfileError(
                f"referral is for a prohibited category with action: refer, not for {cat_id!r} with action "
                f"{rule.action or 'default'}",
                source=source,
                field=f"categories.{cat_id}.referral",
                value=rule.referral,
            )
        if rule.referral is not None and (rule.referral not in taxonomy or taxonomy[rule.referral].kind != "crisis"):
            raise ProfileError(
                f"referral {rule.referral!r} is not a crisis category id (e.g. crisis_self_harm)",
                source=source,
                field=f"categories.{cat_id}.referral",
                value=rule.referral,
            )
        if rule.output_as is not None and (
            kind != "crisis" or rule.output_as not in taxonomy or taxonomy[rule.output_as].kind != "prohibited"
        ):
            raise ProfileError(
                f"output_as is for a crisis category and names a prohibited category id (e.g. crisis_self_harm: "
                f"{{output_as: self_harm_promotion}}), not {rule.output_as!r} on {cat_id!r}",
                source=source,
                field=f"categories.{cat_id}.output_as",
                value=rule.output_as,
            )
    for key in profile.refusals:
        if key != "default" and key not in taxonomy:
            raise ProfileError(f"unknown category id {key!r}", source=source, field=f"refusals.{key}", value=key)
    for i, cat_id in enumerate(profile.disclaimers.always):
        if cat_id not in taxonomy or taxonomy[cat_id].kind != "domain":
            raise ProfileError(
                f"{cat_id!r} is not a domain category", source=source, field=f"disclaimers.always.{i}", value=cat_id
            )


def _check_detectors(profile: Profile, *, source: str, together: bool = True, injected_language: bool = False) -> None:
    from guardrails.detectors import REGISTRY, detector_class

    taxonomy = profile.taxonomy()
    for name, spec in profile.detectors.items():
        if name not in REGISTRY:
            known = ", ".join(sorted(REGISTRY))
            raise ProfileError(
                f"unknown detector {name!r}; known: {known}", source=source, field=f"detectors.{name}", value=name
            )
        cls = detector_class(name)
        try:
            options = cls.Options.model_validate(spec.options)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in ("detectors", name, "options", *err["loc"]))
            raise ProfileError(
                f"{err['msg']} (got {brief(err.get('input'))})", source=source, field=field, value=err.get("input")
            ) from None
        _check_no_coercion(spec.options, options, source=source, path=("detectors", name, "options"))
        check = getattr(cls, "check_options", None)
        if check is not None:
            try:
                check(options, taxonomy=taxonomy)
            except ValueError as exc:
                raise ProfileError(str(exc), source=source, field=f"detectors.{name}.options") from None
    if together:  # (detector instances given beside the profile: the guard checks redaction with them)
        _check_redacted_stages(profile, source=source)
    if profile.unsupported_language == "block" and not (_detects_language(profile) or injected_language):
        raise ProfileError(
            "block needs language detection on the input, but no detector does it "
            "(semantic is disabled, off the input stage, or has language: false): nothing would be blocked",
            source=source,
            field="unsupported_language",
            value="block",
        )


def _detects_language(profile: Profile) -> bool:
    """Whether the semantic detector runs on the input with language detection on."""
    spec = profile.detectors.get("semantic")
    return bool(
        spec is not None and spec.enabled and "input" in spec.stages and spec.options.get("language", True) is not False
    )


def _check_redacted_stages(profile: Profile, *, source: str) -> None:
    """Refuse a detector that may be sent only redacted text (``needs_redacted_text``: the LLM judge) on a stage
    where no redacting detector (pii) runs: nothing would redact the text it is sent."""
    from guardrails.detectors import detector_class

    def flag(name: str, attr: str) -> bool:
        return bool(getattr(detector_class(name), attr, False))

    for name, spec in profile.detectors.items():
        if not spec.enabled or not flag(name, "needs_redacted_text"):
            continue
        for stage in spec.stages:
            if not any(flag(other, "redacts") for other in profile.detectors_for(stage)):
                raise ProfileError(
                    f"{name} runs on the {stage} stage, where pii is disabled: it would be sent unredacted text; "
                    f"enable pii on {stage} (detectors.pii.stages) or remove {stage} from {name}'s stages",
                    source=source,
                    field=f"detectors.{name}.stages",
                    value=list(spec.stages),
                )


def _check_no_coercion(raw: object, validated: object, *, source: str, path: tuple[str | int, ...]) -> None:
    """Refuse what pydantic's lax mode would have converted: a boolean or a string given for a number (YAML
    reads ``yes`` as true, which would become 1), or a number or a string given for true/false.

    Walks the raw mapping alongside the validated model; a field a validator rebuilt is simply not compared.
    """
    if isinstance(raw, (bool, str, int, float)):
        problem = _coerced(raw, validated)
        if problem is not None:
            raise ProfileError(
                f"{problem} (got {brief(raw)})", source=source, field=".".join(map(str, path)), value=raw
            )
        return
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if isinstance(validated, BaseModel):
                if isinstance(key, str) and key in type(validated).model_fields:
                    _check_no_coercion(value, getattr(validated, key), source=source, path=(*path, key))
            elif isinstance(validated, Mapping) and key in validated:
                _check_no_coercion(value, validated[key], source=source, path=(*path, str(key)))
    elif isinstance(raw, (list, tuple)) and isinstance(validated, (list, tuple)) and len(raw) == len(validated):
        for i, (item, checked) in enumerate(zip(raw, validated, strict=True)):
            _check_no_coercion(item, checked, source=source, path=(*path, i))


def _coerced(raw: bool | str | int | float, validated: object) -> str | None:
    if isinstance(validated, bool):
        return None if isinstance(raw, bool) else "expected true or false"
    if not isinstance(validated, (int, float)) or isinstance(validated, Enum):  # an IntEnum is read from its name
        return None
    if isinstance(raw, bool):
        return "expected a number, not a boolean (YAML reads yes/no, on/off and true/false as booleans)"
    if isinstance(raw, str):
        return "expected a number, not a string (write it without quotes)"
    return None
