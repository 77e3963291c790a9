"""Crisis-referral resources: per-country helplines, emergency numbers and referral messages.

When a turn shows a crisis (``crisis_self_harm``, ``crisis_medical_emergency`` or
``crisis_danger``) the guard does not call the model; it answers with a short, warm
referral listing real services for the user's country. This module owns that data:

* ``configs/resources/<CC>.yaml`` - one file per country (ISO 3166-1 alpha-2 code);
* ``configs/resources/international.yaml`` - the fallback directory, used when the
  locale is missing or names a country without data (never another country's number);
* ``configs/resources/messages.yaml`` - the English message templates, per crisis kind.

Every file is validated with pydantic (unknown keys are errors) and every error names
the file and the field. Entries marked ``verified: false`` stay in the files for
maintainers but are never returned by :meth:`ResourceDirectory.lookup` and so never
reach a user.

Typical use::

    referral = default_directory().lookup("crisis_self_harm", "en-GB")
    text = render_referral(referral, category="crisis_self_harm")
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from guardrails._paths import configs_dir
from guardrails._yaml import describe_yaml_error, load_strict
from guardrails.errors import GuardrailsError
from guardrails.locales import ISO_3166_ALPHA2, parse_locale

__all__ = [
    "CRISIS_CATEGORIES",
    "GENERAL_MESSAGE",
    "CountryResources",
    "CrisisCategory",
    "InternationalDirectory",
    "MessageTemplate",
    "Referral",
    "ReferralMessages",
    "Resource",
    "ResourceDirectory",
    "ResourceError",
    "default_directory",
    "default_messages",
    "load_messages",
    "render_general_referral",
    "render_referral",
    "render_referrals",
]

CrisisCategory = Literal["crisis_self_harm", "crisis_medical_emergency", "crisis_danger"]
CRISIS_CATEGORIES: Final[tuple[CrisisCategory, ...]] = get_args(CrisisCategory)

INTERNATIONAL_FILE: Final = "international.yaml"
MESSAGES_FILE: Final = "messages.yaml"

_COUNTRY_FILE = re.compile(r"^[A-Z]{2}$")
_RESOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_PHONE = re.compile(r"^[0-9+*#()./ -]*[0-9][0-9+*#()./ -]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

# Region codes that name no country: "unknown" (ZZ) and the user-assigned ranges.
_NON_COUNTRY_REGIONS: Final = frozenset(
    ["AA", "ZZ"] + [f"Q{c}" for c in "MNOPQRSTUVWXYZ"] + [f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
)


class ResourceError(GuardrailsError, ValueError):
    """A resource, directory or message file is missing or invalid.

    The message always starts with the file (``source``) and, when known, the field path.
    """

    def __init__(self, message: str, *, source: str = "<resources>", field: str = "") -> None:
        self.source = source
        self.field = field
        where = f"{source}: {field}: " if field else f"{source}: "
        super().__init__(where + message)


# --------------------------------------------------------------------------- schema


def _check_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an absolute http(s) URL")
    return value


def _check_phone(value: str) -> str:
    if not _PHONE.fullmatch(value):
        raise ValueError("must contain digits and only phone punctuation (+ * # ( ) . / - space)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Resource(_Strict):
    """One service a person in crisis can contact (a helpline, text line or directory).

    ``verified`` means a maintainer confirmed the contact details from ``source_url`` on
    ``checked``; unverified entries are kept for maintenance but never shown to users.
    """

    id: str
    name: Annotated[str, Field(min_length=1)]
    categories: Annotated[tuple[CrisisCategory, ...], Field(min_length=1)]
    phone: str | None = None
    phone_alternates: tuple[str, ...] = ()
    text: str | None = None
    chat: str | None = None
    url: str | None = None
    hours: str | None = None
    languages: tuple[str, ...] = ()
    source_url: str | None = None
    checked: date | None = None
    verified: bool = False
    notes: str | None = None

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _RESOURCE_ID.fullmatch(value):
            raise ValueError("must be lowercase letters, digits and underscores")
        return value

    @field_validator("phone")
    @classmethod
    def _valid_phone(cls, value: str | None) -> str | None:
        return None if value is None else _check_phone(value)

    @field_validator("phone_alternates")
    @classmethod
    def _valid_alternates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_phone(v) for v in value)

    @field_validator("chat", "url", "source_url")
    @classmethod
    def _valid_urls(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("languages")
    @classmethod
    def _valid_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for lang in value:
            if not _LANGUAGE.fullmatch(lang):
                raise ValueError(f"{lang!r} is not a lowercase ISO 639 language code")
        return value

    @model_validator(mode="after")
    def _contactable_and_sourced(self) -> Resource:
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories: lists a category twice")
        if self.phone is None and self.phone_alternates:
            raise ValueError("phone_alternates: given without phone")
        if not (self.phone or self.text or self.chat or self.url):
            raise ValueError("needs at least one of phone, text, chat or url")
        if self.verified and (self.source_url is None or self.checked is None):
            raise ValueError("a verified entry needs source_url and checked")
        return self

    def serves(self, category: str) -> bool:
        """Whether this resource is meant for the given crisis category."""
        return category in self.categories


class CountryResources(_Strict):
    """Emergency numbers and crisis resources for one country.

    ``emergency_number`` is the general number; ``emergency_by_category`` lists, per crisis
    kind, the numbers to show instead (first is primary), e.g. France: medical -> 15, 112.
    """

    country: str
    country_name: Annotated[str, Field(min_length=1)]
    emergency_number: str
    emergency_alternates: tuple[str, ...] = ()
    emergency_by_category: dict[CrisisCategory, Annotated[tuple[str, ...], Field(min_length=1)]] = Field(
        default_factory=dict
    )
    emergency_source_url: str
    emergency_checked: date
    resources: tuple[Resource, ...] = ()
    notes: str | None = None

    @field_validator("country")
    @classmethod
    def _valid_country(cls, value: str) -> str:
        if not _COUNTRY_FILE.fullmatch(value) or value not in ISO_3166_ALPHA2:
            raise ValueError(f"{value!r} is not an upper-case ISO 3166-1 alpha-2 country code (e.g. 'GB', not 'UK')")
        return value

    @field_validator("emergency_number")
    @classmethod
    def _valid_number(cls, value: str) -> str:
        return _check_phone(value)

    @field_validator("emergency_alternates")
    @classmethod
    def _valid_alternates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_check_phone(v) for v in value)

    @field_validator("emergency_by_category")
    @classmethod
    def _valid_by_category(cls, value: dict[CrisisCategory, tuple[str, ...]]) -> dict[CrisisCategory, tuple[str, ...]]:
        for numbers in value.values():
            for number in numbers:
                _check_phone(number)
        return value

    @field_validator("emergency_source_url")
    @classmethod
    def _valid_source(cls, value: str) -> str:
        _check_url(value)
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> CountryResources:
        seen: set[str] = set()
        for res in self.resources:
            if res.id in seen:
                raise ValueError(f"resources: id {res.id!r} is used twice")
            seen.add(res.id)
        return self

    def emergency_numbers(self, category: str) -> tuple[str, ...]:
        """The emergency numbers to show for a crisis kind, primary first."""
        specific = self.emergency_by_category.get(category)  # type: ignore[call-overload]
        if specific:
            return tuple(specific)
        return (self.emergency_number, *self.emergency_alternates)

    def verified_resources(self, category: str) -> tuple[Resource, ...]:
        """Verified resources serving ``category``, in file order."""
        return tuple(r for r in self.resources if r.verified and r.serves(category))


class InternationalDirectory(_Strict):
    """Fallback directories of helplines (no phone numbers: they must fit any country)."""

    resources: Annotated[tuple[Resource, ...], Field(min_length=1)]
    notes: str | None = None

    @model_validator(mode="after")
    def _directory_only(self) -> InternationalDirectory:
        seen: set[str] = set()
        for index, res in enumerate(self.resources):
            if res.phone is not None or res.text is not None:
                raise ValueError(f"resources.{index}: a directory entry must not have phone or text")
            if res.url is None:
                raise ValueError(f"resources.{index}: a directory entry needs url")
            if res.id in seen:
                raise ValueError(f"resources: id {res.id!r} is used twice")
            seen.add(res.id)
        return self


_SECTION = Literal["opening", "lines", "emergency", "closing"]
_NO_DIGITS = re.compile(r"^[^0-9]*$")


class MessageTemplate(_Strict):
    """English wording for one crisis kind, and the order of its sections.

    Sections: ``opening``; ``lines`` (the country's services under ``lines_heading``, or the
    international directory under ``directory_heading``); ``emergency`` (``emergency`` with
    an ``{emergency}`` placeholder when the number is known, else ``emergency_unknown``);
    ``closing``. Templates hold no digits, so a fallback message never shows a number.
    """

    order: Annotated[tuple[_SECTION, ...], Field(min_length=1)]
    opening: str
    lines_heading: str
    directory_heading: str
    emergency: str
    emergency_unknown: str
    closing: str = ""

    @field_validator(
        "opening",
        "lines_heading",
        "directory_heading",
        "emergency",
        "emergency_unknown",
        "closing",
    )
    @classmethod
    def _no_digits(cls, value: str) -> str:
        if not _NO_DIGITS.fullmatch(value):
            raise ValueError("templates must not contain digits (numbers come from the data files)")
        return value

    @model_validator(mode="after")
    def _placeholders(self) -> MessageTemplate:
        if "{emergency}" not in self.emergency:
            raise ValueError("emergency: must contain the {emergency} placeholder")
        if "local emergency number" not in self.emergency_unknown or "{" in self.emergency_unknown:
            raise ValueError("emergency_unknown: must say 'local emergency number' and use no placeholder")
        if "emergency" not in self.order or "lines" not in self.order:
            raise ValueError("order: must include 'emergency' and 'lines'")
        if len(set(self.order)) != len(self.order):
            raise ValueError("order: lists a section twice")
        for name in ("opening", "lines_heading", "directory_heading", "closing"):
            if "{" in getattr(self, name):
                raise ValueError(f"{name}: placeholders are only allowed in 'emergency'")
        return self


class ReferralMessages(_Strict):
    """All message templates, one per crisis kind (``configs/resources/messages.yaml``)."""

    language: Literal["en"] = "en"
    crisis_self_harm: MessageTemplate
    crisis_medical_emergency: MessageTemplate
    crisis_danger: MessageTemplate

    def for_category(self, category: str) -> MessageTemplate:
        """The template of one crisis kind; raises ResourceError for any other id."""
        _require_category(category)
        template: MessageTemplate = getattr(self, category)
        return template


#: the referral for a crisis kind without its own template (a profile's custom crisis
#: category): acknowledgement, the general emergency number, the helpline directories
GENERAL_MESSAGE: Final[MessageTemplate] = MessageTemplate(
    order=("opening", "emergency", "lines", "closing"),
    opening=(
        "I'm really sorry you're going through this. You don't have to face it alone, "
        "and there are people who want to help you right now."
    ),
    emergency="If you or someone else is in danger or not safe right now, please call {emergency} now.",
    emergency_unknown=(
        "If you or someone else is in danger or not safe right now, please call your local emergency number now."
    ),
    lines_heading="You can talk to someone now. These services are confidential:",
    directory_heading="You can find a free, confidential helpline where you are here:",
    closing=(
        "If you can, reach out to someone you trust and tell them what is happening. "
        "Asking for help is a strong step, and support can make a real difference."
    ),
)


# --------------------------------------------------------------------------- loading

_M = TypeVar("_M", bound=BaseModel)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResourceError(f"cannot read file: {exc.strerror or exc}", source=str(path)) from exc
    try:
        return load_strict(text)  # a key given twice is refused, not read as its last value
    except yaml.YAMLError as exc:
        raise ResourceError(describe_yaml_error(exc), source=str(path)) from None


def _validate(model: type[_M], data: Any, path: Path) -> _M:
    if not isinstance(data, Mapping):
        got = "an empty file" if data is None else type(data).__name__
        raise ResourceError(f"expected a mapping at the top level, got {got}", source=str(path))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        first = ".".join(str(p) for p in problems[0]["loc"])
        details = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in problems)
        raise ResourceError(details, source=str(path), field=first) from exc


def _load_country(path: Path) -> CountryResources:
    country = _validate(CountryResources, _read_yaml(path), path)
    if country.country != path.stem:
        raise ResourceError(
            f"is {country.country!r} but the file is named {path.name!r}",
            source=str(path),
            field="country",
        )
    return country


def load_messages(folder: str | Path | None = None) -> ReferralMessages:
    """Load and validate ``messages.yaml`` from ``folder`` (default: the shipped configs)."""
    base = Path(folder) if folder is not None else configs_dir() / "resources"
    path = base / MESSAGES_FILE
    if not path.is_file():
        raise ResourceError("file not found", source=str(path))
    return _validate(ReferralMessages, _read_yaml(path), path)


@lru_cache(maxsize=1)
def default_messages() -> ReferralMessages:
    """The shipped message templates, loaded once."""
    return load_messages()


# --------------------------------------------------------------------------- lookup


def _require_category(category: str) -> CrisisCategory:
    for known in CRISIS_CATEGORIES:
        if category == known:
            return known
    raise ResourceError(
        f"unknown crisis category {category!r}; expected one of: {', '.join(CRISIS_CATEGORIES)}",
        source="lookup",
    )


@dataclass(frozen=True, slots=True)
class Referral:
    """What to show a user in crisis.

    ``resources`` holds only verified entries for the crisis kind. ``country`` and
    ``emergency_number`` are None when the locale names no country with data; then the
    message points to ``fallback`` (international directories) and to "your local
    emergency number", never to another country's number.
    """

    country: str | None
    emergency_number: str | None
    resources: tuple[Resource, ...]
    fallback: tuple[Resource, ...]
    emergency_alternates: tuple[str, ...] = ()
    country_name: str | None = None

    @property
    def is_fallback(self) -> bool:
        """True when no country was recognised and only the directory applies."""
        return self.country is None


class ResourceDirectory:
    """An immutable set of per-country resources plus the international fallback."""

    __slots__ = ("_countries", "_international", "source")

    def __init__(
        self,
        countries: Iterable[CountryResources],
        international: InternationalDirectory,
        *,
        source: str = "<memory>",
    ) -> None:
        by_code: dict[str, CountryResources] = {}
        for country in countries:
            if country.country in by_code:
                raise ResourceError(f"country {country.country!r} is defined twice", source=source)
            by_code[country.country] = country
        self._countries: Mapping[str, CountryResources] = MappingProxyType(dict(sorted(by_code.items())))
        self._international = international
        self.source = source

    @classmethod
    def load(cls, folder: str | Path | None = None) -> ResourceDirectory:
        """Load every ``<CC>.yaml`` and ``international.yaml`` from ``folder``.

        With no folder, returns the shipped directory (``configs/resources``), cached.
        Raises ResourceError naming the file (and field) for any missing or invalid file.
        """
        if folder is None:
            return default_directory()
        return cls._load_folder(Path(folder))

    @classmethod
    def _load_folder(cls, base: Path) -> ResourceDirectory:
        if not base.is_dir():
            raise ResourceError("resource folder not found", source=str(base))
        intl_path = base / INTERNATIONAL_FILE
        if not intl_path.is_file():
            raise ResourceError(
                "file not found (the fallback directory is required)",
                source=str(intl_path),
            )
        international = _validate(InternationalDirectory, _read_yaml(intl_path), intl_path)
        countries: list[CountryResources] = []
        for path in sorted(base.iterdir()):
            if path.suffix.lower() not in (".yaml", ".yml") or path.name in (
                INTERNATIONAL_FILE,
                MESSAGES_FILE,
            ):
                continue
            if path.suffix != ".yaml" or not _COUNTRY_FILE.fullmatch(path.stem):
                raise ResourceError(
                    "unexpected file; country files are named <CC>.yaml with an upper-case ISO 3166-1 code",
                    source=str(path),
                )
            countries.append(_load_country(path))
        return cls(countries, international, source=str(base))

    # -- queries -------------------------------------------------------------

    @property
    def countries(self) -> Mapping[str, CountryResources]:
        """Country code -> resources, read-only."""
        return self._countries

    @property
    def international(self) -> InternationalDirectory:
        """The fallback directory."""
        return self._international

    def __contains__(self, country: object) -> bool:
        return country in self._countries

    def get(self, country: str) -> CountryResources | None:
        """The resources of one country (upper-case ISO code), or None."""
        return self._countries.get(country.upper())

    def country_for_locale(self, locale: str | None) -> str | None:
        """The ISO 3166-1 region named by a locale, or None.

        Accepts BCP 47 tags ("en-GB", "zh-Hant-TW", "sr-Latn-RS-u-nu-latn"), POSIX-style
        names ("en_GB", "en_GB.UTF-8") and bare regions ("GB"; lower-case "gb" too, unless it
        is also an ISO 639-1 language code or a withdrawn one such as "in"). Returns None for language-only tags ("fr"),
        numeric UN M.49 regions ("es-419"), unknown/private-use regions ("xx-ZZ") and
        anything unparsable - it never guesses a country from a language.
        """
        return _region_of(locale)

    def lookup(self, category: str, locale: str | None) -> Referral:
        """The verified resources and emergency number for a crisis kind in a locale."""
        cat = _require_category(category)
        fallback = tuple(r for r in self._international.resources if r.verified and r.serves(cat))
        region = _region_of(locale)
        country = self._countries.get(region) if region is not None else None
        if country is None:
            return Referral(country=None, emergency_number=None, resources=(), fallback=fallback)
        numbers = country.emergency_numbers(cat)
        return Referral(
            country=country.country,
            emergency_number=numbers[0],
            resources=country.verified_resources(cat),
            fallback=fallback,
            emergency_alternates=numbers[1:],
            country_name=country.country_name,
        )

    def lookup_general(self, locale: str | None) -> Referral:
        """A general crisis referral for a locale: the country's general emergency number
        and the international directories, for crisis kinds without their own data (a
        profile's custom crisis category). Country lines are left out: they serve one
        built-in kind each, and the directories find the right service for any crisis.
        """
        verified = tuple(r for r in self._international.resources if r.verified)
        general = tuple(r for r in verified if all(r.serves(c) for c in CRISIS_CATEGORIES)) or verified
        region = _region_of(locale)
        country = self._countries.get(region) if region is not None else None
        if country is None:
            return Referral(country=None, emergency_number=None, resources=(), fallback=general)
        # the general number first, then the police and ambulance numbers where the country has others: a crisis of
        # unknown kind may be danger from another person as well as a medical one (Japan: 119, or 110)
        numbers = list(
            dict.fromkeys(
                (
                    country.emergency_number,
                    *country.emergency_alternates,
                    *country.emergency_numbers("crisis_danger"),
                    *country.emergency_numbers("crisis_medical_emergency"),
                )
            )
        )
        return Referral(
            country=country.country,
            emergency_number=numbers[0],
            resources=(),
            fallback=general,
            emergency_alternates=tuple(numbers[1:]),
            country_name=country.country_name,
        )


@lru_cache(maxsize=1)
def default_directory() -> ResourceDirectory:
    """The shipped directory (``configs/resources``), loaded and validated once."""
    return ResourceDirectory._load_folder(configs_dir() / "resources")


def _region_of(locale: str | None) -> str | None:
    """The country a locale names, read by :func:`guardrails.locales.parse_locale`; None for no country, an area
    ("es-419"), a user-assigned code ("XK") or a locale that is not one (the referral is then international)."""
    if locale is None:
        return None
    try:
        region = parse_locale(locale)[1]
    except ValueError:
        return None
    if region is None or not region.isalpha() or region in _NON_COUNTRY_REGIONS:
        return None
    return region


# --------------------------------------------------------------------------- rendering


def _fmt_number(number: str, markdown: bool) -> str:
    return f"**{number}**" if markdown else number


def _with_numbers_of(referral: Referral, others: Sequence[Referral]) -> Referral:
    """``referral`` with the emergency numbers of ``others`` it lacks added as alternates."""
    have = [referral.emergency_number, *referral.emergency_alternates]
    more = [n for r in others for n in (r.emergency_number, *r.emergency_alternates) if n is not None and n not in have]
    if not more:
        return referral
    return replace(referral, emergency_alternates=(*referral.emergency_alternates, *dict.fromkeys(more)))


def _fmt_emergency(referral: Referral, markdown: bool) -> str:
    assert referral.emergency_number is not None
    main = _fmt_number(referral.emergency_number, markdown)
    if not referral.emergency_alternates:
        return main
    others = " or ".join(_fmt_number(n, markdown) for n in referral.emergency_alternates)
    return f"{main} (or {others})"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text


def _fmt_resource(res: Resource, markdown: bool) -> str:
    name = f"[{res.name}]({res.url})" if markdown and res.url else res.name
    ways: list[str] = []
    if res.phone:
        numbers = [res.phone, *res.phone_alternates]
        ways.append("call " + " or ".join(_fmt_number(n, markdown) for n in numbers))
    if res.text:
        ways.append(_lower_first(res.text))
    if res.chat:
        ways.append(f"chat at {res.chat}")
    if not ways and res.url:
        if markdown:
            return f"- {name}"  # the name already links to the url
        ways.append(res.url)
    line = f"- {name}: " + ", ".join(ways)
    if res.hours:
        line += f" ({res.hours})"
    return line


def render_referral(
    referral: Referral,
    *,
    category: str,
    markdown: bool = False,
    messages: ReferralMessages | None = None,
) -> str:
    """Render a short, warm referral message for a crisis kind.

    Follows public safe-messaging guidance: acknowledges the person, puts the resources
    first and prominently, invites reaching out now, and never discusses methods, gives
    a diagnosis or triages. For ``crisis_self_harm`` the crisis lines come first; for
    ``crisis_medical_emergency`` and ``crisis_danger`` the emergency number comes first.
    With no known country it says "your local emergency number" and lists the
    international directories only. ``markdown=True`` bolds numbers and links names.
    """
    return render_referrals([(category, referral)], markdown=markdown, messages=messages)


def render_referrals(
    kinds: Sequence[tuple[str, Referral]],
    *,
    markdown: bool = False,
    messages: ReferralMessages | None = None,
) -> str:
    """Render one referral message for several crisis kinds at once, most urgent first.

    The first kind gives the message (its wording, emergency number and lines); each further
    kind adds its own lines, under its own heading, right after them. A service listed for an
    earlier kind is not listed again, and a kind with nothing new to add adds nothing.
    """
    if not kinds:
        raise ResourceError("no crisis kind to render a referral for", source="render")
    msgs = messages or default_messages()
    (category, referral), more = kinds[0], kinds[1:]
    extra = [(cat, ref, msgs.for_category(cat)) for cat, ref in more]
    return _render(referral, msgs.for_category(category), category, markdown, extra)


def render_general_referral(referral: Referral, *, markdown: bool = False) -> str:
    """Render the general crisis referral (:data:`GENERAL_MESSAGE`) for a crisis kind
    without its own template, e.g. a profile's custom crisis category. Pair it with
    :meth:`ResourceDirectory.lookup_general`.
    """
    return _render(referral, GENERAL_MESSAGE, "general", markdown)


def _render(
    referral: Referral,
    template: MessageTemplate,
    category: str,
    markdown: bool,
    extra: Sequence[tuple[str, Referral, MessageTemplate]] = (),
) -> str:
    known = referral.emergency_number is not None
    blocks: list[str] = []
    listed: set[str] = set()  # ids of the services already shown
    for section in template.order:
        if section == "opening" and template.opening:
            blocks.append(template.opening)
        elif section == "closing" and template.closing:
            blocks.append(template.closing)
        elif section == "emergency":
            if known:
                # each further kind's numbers too, where they differ (a medical emergency with danger: 119, or 110)
                more = [r for _, r, _ in extra if r.emergency_number is not None]
                shown = _with_numbers_of(referral, more)
                blocks.append(template.emergency.replace("{emergency}", _fmt_emergency(shown, markdown)))
            else:
                blocks.append(template.emergency_unknown)
        elif section == "lines":
            blocks.extend(_lines_block(referral, template, markdown, category, listed))
            for more_category, more_referral, more_template in extra:
                blocks.extend(_lines_block(more_referral, more_template, markdown, more_category, listed))
    return "\n\n".join(blocks)


def _lines_block(
    referral: Referral, template: MessageTemplate, markdown: bool, category: str, listed: set[str]
) -> list[str]:
    """The lines section of one kind: its services not in ``listed`` (then added to it), or none."""
    if referral.resources:
        heading, entries = template.lines_heading, referral.resources
    elif referral.fallback and (referral.country is None or category != "crisis_medical_emergency"):
        # No country-specific lines: point to the directory when the country is unknown, or
        # when a line would be expected (not for a medical emergency in a known country).
        heading, entries = template.directory_heading, referral.fallback
    else:
        return []
    fresh = [r for r in entries if r.id not in listed]
    listed.update(r.id for r in fresh)
    if not fresh:
        return []
    items = "\n".join(_fmt_resource(r, markdown) for r in fresh)
    return [f"{heading}\n{items}"]
