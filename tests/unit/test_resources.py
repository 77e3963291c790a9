"""Crisis-referral resources: the shipped data, the loader, lookup and rendering."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from guardrails.resources import (
    CRISIS_CATEGORIES,
    Referral,
    ResourceDirectory,
    ResourceError,
    default_directory,
    load_messages,
    render_referral,
    render_referrals,
)

COUNTRIES = (
    "US",
    "CA",
    "GB",
    "IE",
    "AU",
    "NZ",
    "IN",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "MX",
    "JP",
    "ZA",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "PT",
    "AT",
    "CH",
    "BE",
    "SG",
    "PH",
    "KR",
    "AR",
    "CO",
    "CL",
    "KE",
    "NG",
)
SHIPPED = Path(__file__).resolve().parents[2] / "configs" / "resources"


@pytest.fixture(scope="module")
def directory() -> ResourceDirectory:
    return default_directory()


def _render(
    directory: ResourceDirectory,
    category: str,
    locale: str | None,
    *,
    markdown: bool = False,
) -> str:
    return render_referral(directory.lookup(category, locale), category=category, markdown=markdown)


def _all_shipped_numbers(directory: ResourceDirectory) -> set[str]:
    numbers: set[str] = set()
    for country in directory.countries.values():
        numbers.add(country.emergency_number)
        numbers.update(country.emergency_alternates)
        for specific in country.emergency_by_category.values():
            numbers.update(specific)
        for res in country.resources:
            numbers.update(n for n in (res.phone, *res.phone_alternates) if n)
    return numbers


# --------------------------------------------------------------------------- shipped data


def test_every_shipped_country_file_is_one_of_the_countries_tested() -> None:
    shipped = {p.stem for p in SHIPPED.glob("*.yaml")} - {"international", "messages"}
    assert shipped == set(COUNTRIES)


@pytest.mark.parametrize("code", COUNTRIES)
def test_every_country_loads_with_an_emergency_number(directory: ResourceDirectory, code: str) -> None:
    country = directory.get(code)
    assert country is not None, f"configs/resources/{code}.yaml is missing"
    assert country.country == code
    assert re.search(r"\d", country.emergency_number)
    for category in CRISIS_CATEGORIES:
        assert country.emergency_numbers(category), f"{code}: no emergency number for {category}"


@pytest.mark.parametrize("code", COUNTRIES)
def test_every_country_has_a_verified_suicide_or_crisis_line(directory: ResourceDirectory, code: str) -> None:
    country = directory.get(code)
    assert country is not None
    lines = country.verified_resources("crisis_self_harm")
    assert lines, f"{code}: no verified crisis_self_harm resource"
    assert any(r.phone or r.text for r in lines), f"{code}: no verified line you can call or text"


@pytest.mark.parametrize("code", (*COUNTRIES, "international"))
def test_every_verified_entry_has_a_source_url_and_checked_date(directory: ResourceDirectory, code: str) -> None:
    if code == "international":
        entries = directory.international.resources
    else:
        country = directory.get(code)
        assert country is not None
        assert country.emergency_source_url.startswith("https://")
        assert country.emergency_checked is not None
        entries = country.resources
    for res in entries:
        if res.verified:
            assert res.source_url and res.source_url.startswith(("https://", "http://")), res.id
            assert res.checked is not None, res.id


def test_the_international_fallback_has_a_verified_directory_for_every_crisis_kind(
    directory: ResourceDirectory,
) -> None:
    for category in CRISIS_CATEGORIES:
        verified = [r for r in directory.international.resources if r.verified and r.serves(category)]
        assert verified, category
        assert all(r.phone is None and r.url for r in verified)


def test_the_shipped_messages_load_for_every_crisis_kind() -> None:
    messages = load_messages(SHIPPED)
    for category in CRISIS_CATEGORIES:
        template = messages.for_category(category)
        assert "{emergency}" in template.emergency
        assert "local emergency number" in template.emergency_unknown


# --------------------------------------------------------------------------- lookup


LOOKUP_CASES = [
    ("sv-SE", "crisis_self_harm", "90101"),
    ("ko-KR", "crisis_self_harm", "109"),
    ("ko-KR", "crisis_danger", "112"),
    ("de-AT", "crisis_medical_emergency", "144"),
    ("fr-BE", "crisis_self_harm", "0800 32 123"),
    ("es-CO", "crisis_danger", "155"),
    ("en-SG", "crisis_danger", "1800-777-0000"),
    ("en-GB", "crisis_self_harm", "116 123"),
    ("en-GB", "crisis_danger", "0808 2000 247"),
    ("en-GB", "crisis_medical_emergency", "999"),
    ("en-US", "crisis_self_harm", "988"),
    ("en-US", "crisis_danger", "1-800-799-7233"),
    ("en-US", "crisis_medical_emergency", "911"),
    ("en-AU", "crisis_self_harm", "13 11 14"),
    ("en-AU", "crisis_danger", "1800 737 732"),
    ("en-AU", "crisis_medical_emergency", "000"),
    ("fr-CA", "crisis_self_harm", "9-8-8"),
    ("en-IE", "crisis_self_harm", "1800 247 247"),
    ("en-IE", "crisis_danger", "1800 341 900"),
    ("en-NZ", "crisis_self_harm", "1737"),
    ("en-NZ", "crisis_danger", "0800 733 843"),
    ("hi-IN", "crisis_self_harm", "14416"),
    ("en-IN", "crisis_danger", "181"),
    ("de-DE", "crisis_self_harm", "0800 111 0 111"),
    ("de-DE", "crisis_danger", "116 016"),
    ("fr-FR", "crisis_self_harm", "3114"),
    ("fr-FR", "crisis_danger", "3919"),
    ("fr-FR", "crisis_medical_emergency", "15"),
    ("es-ES", "crisis_self_harm", "024"),
    ("es-ES", "crisis_danger", "016"),
    ("it-IT", "crisis_danger", "1522"),
    ("it-IT", "crisis_medical_emergency", "118"),
    ("nl-NL", "crisis_self_harm", "113"),
    ("nl-NL", "crisis_danger", "0800-2000"),
    ("pt-BR", "crisis_self_harm", "188"),
    ("pt-BR", "crisis_danger", "180"),
    ("pt-BR", "crisis_medical_emergency", "192"),
    ("es-MX", "crisis_self_harm", "800 911 2000"),
    ("ja-JP", "crisis_danger", "0120-279-889"),
    ("ja-JP", "crisis_medical_emergency", "119"),
    ("en-ZA", "crisis_self_harm", "0800 567 567"),
    ("en-ZA", "crisis_danger", "0800 428 428"),
    ("en_GB", "crisis_self_harm", "116 123"),
    ("GB", "crisis_self_harm", "116 123"),
]


@pytest.mark.parametrize(
    ("locale", "category", "number"),
    LOOKUP_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in LOOKUP_CASES],
)
def test_lookup_shows_the_expected_number(
    directory: ResourceDirectory, locale: str, category: str, number: str
) -> None:
    text = _render(directory, category, locale)
    assert re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", text), text


FIRST_CASES = [
    ("en-AU", "crisis_medical_emergency", "000"),
    ("en-US", "crisis_medical_emergency", "911"),
    ("fr-FR", "crisis_medical_emergency", "15"),
    ("ja-JP", "crisis_medical_emergency", "119"),
    ("en-ZA", "crisis_medical_emergency", "10177"),
    ("en-IE", "crisis_danger", "112"),
    ("de-DE", "crisis_danger", "110"),
    ("pt-BR", "crisis_danger", "190"),
    ("ja-JP", "crisis_danger", "110"),
    ("en-ZA", "crisis_danger", "10111"),
]


@pytest.mark.parametrize(
    ("locale", "category", "number"),
    FIRST_CASES,
    ids=[f"{c[0]}-{c[1]}" for c in FIRST_CASES],
)
def test_medical_and_danger_referrals_put_the_emergency_number_first(
    directory: ResourceDirectory, locale: str, category: str, number: str
) -> None:
    referral = directory.lookup(category, locale)
    assert referral.emergency_number == number
    first_paragraph = _render(directory, category, locale).split("\n\n")[0]
    assert re.search(rf"call {re.escape(number)}\b", first_paragraph), first_paragraph


@pytest.mark.parametrize(
    ("locale", "dv_line", "emergency"),
    [
        ("en-IE", "1800 341 900", "112"),
        ("en-GB", "0808 2000 247", "999"),
        ("es-ES", "016", "112"),
    ],
    ids=["IE", "GB", "ES"],
)
def test_danger_referral_lists_the_emergency_number_then_the_domestic_violence_line(
    directory: ResourceDirectory, locale: str, dv_line: str, emergency: str
) -> None:
    text = _render(directory, "crisis_danger", locale)
    assert text.index(f"call {emergency}") < text.index(dv_line)


@pytest.mark.parametrize(
    ("locale", "line", "emergency"),
    [
        ("en-GB", "116 123", "999"),
        ("en-US", "988", "911"),
        ("fr-FR", "3114", "112"),
        ("en-AU", "13 11 14", "000"),
    ],
    ids=["GB", "US", "FR", "AU"],
)
def test_self_harm_referral_lists_crisis_lines_before_the_emergency_number(
    directory: ResourceDirectory, locale: str, line: str, emergency: str
) -> None:
    text = _render(directory, "crisis_self_harm", locale)
    assert text.index(line) < text.index(f"call {emergency}")


def test_self_harm_referral_never_mentions_medical_triage_or_methods(
    directory: ResourceDirectory,
) -> None:
    for locale in ("en-GB", None):
        text = _render(directory, "crisis_self_harm", locale).lower()
        for word in ("method", "overdose", "diagnos", "dose", "pills"):
            assert word not in text


@pytest.mark.parametrize("category", CRISIS_CATEGORIES)
def test_lookup_returns_only_verified_resources_for_the_crisis_kind(
    directory: ResourceDirectory, category: str
) -> None:
    for code in COUNTRIES:
        referral = directory.lookup(category, code)
        assert referral.country == code
        assert all(r.verified and category in r.categories for r in referral.resources)


@pytest.mark.parametrize(
    "locale",
    ["xx-ZZ", None, "fr", "es-419", "", "de", "en", "zz", "x-private", "klingon"],
)
@pytest.mark.parametrize("category", CRISIS_CATEGORIES)
def test_unknown_locale_gives_the_international_fallback_and_no_country_number(
    directory: ResourceDirectory, locale: str | None, category: str
) -> None:
    referral = directory.lookup(category, locale)
    assert referral.country is None
    assert referral.emergency_number is None
    assert referral.resources == ()
    assert referral.fallback and all(r.verified for r in referral.fallback)
    for markdown in (False, True):
        text = render_referral(referral, category=category, markdown=markdown)
        assert "your local emergency number" in text
        assert "findahelpline.com" in text
        assert not re.search(r"\d", text), f"a digit leaked into the fallback message: {text!r}"
        for number in _all_shipped_numbers(directory):
            assert number not in text


def test_a_country_without_data_falls_back_like_an_unknown_locale(
    directory: ResourceDirectory,
) -> None:
    referral = directory.lookup("crisis_self_harm", "is-IS")
    assert referral.country is None and referral.emergency_number is None
    assert "your local emergency number" in render_referral(referral, category="crisis_self_harm")


def test_unknown_crisis_category_is_rejected_with_the_valid_ids(
    directory: ResourceDirectory,
) -> None:
    with pytest.raises(ResourceError, match="crisis_self_harm"):
        directory.lookup("self_harm", "en-GB")
    with pytest.raises(ResourceError):
        render_referral(directory.lookup("crisis_danger", "en-GB"), category="hate_harassment")


# --------------------------------------------------------------------------- locale parsing

LOCALES = [
    ("en-GB", "GB"),
    ("en_GB", "GB"),
    ("GB", "GB"),
    ("gb", "GB"),
    ("en-gb", "GB"),
    ("pt-BR", "BR"),
    ("fr-CA", "CA"),
    ("zh-Hant-TW", "TW"),
    ("sr-Latn-RS", "RS"),
    ("en-US-u-ca-gregory", "US"),
    ("en_GB.UTF-8", "GB"),
    ("de_DE@euro", "DE"),
    (" en-AU ", "AU"),
    ("es-419", None),
    ("fr", None),
    ("de", None),
    ("it", None),
    ("FR", "FR"),
    ("xx-ZZ", None),
    ("en-XA", None),
    ("x-private", None),
    ("en-x-GB", None),
    ("", None),
    (None, None),
    ("english", None),
    ("12", None),
    ("in", None),
    ("mo", None),
    ("iw", None),
    ("IN", "IN"),
    ("MO", "MO"),
]


@pytest.mark.parametrize(("locale", "region"), LOCALES, ids=[repr(x[0]) for x in LOCALES])
def test_country_for_locale_reads_the_region_and_never_guesses_from_a_language(
    directory: ResourceDirectory, locale: str | None, region: str | None
) -> None:
    assert directory.country_for_locale(locale) == region


# --------------------------------------------------------------------------- rendering


def test_markdown_referral_bolds_numbers_and_links_names(
    directory: ResourceDirectory,
) -> None:
    text = _render(directory, "crisis_self_harm", "en-GB", markdown=True)
    assert "**116 123**" in text
    assert "[Samaritans](https://www.samaritans.org)" in text
    assert "**999**" in text


def test_plain_referral_has_no_markdown(directory: ResourceDirectory) -> None:
    text = _render(directory, "crisis_self_harm", "en-GB")
    assert "**" not in text and "](" not in text


def test_a_medical_referral_in_a_known_country_does_not_send_people_to_a_directory(
    directory: ResourceDirectory,
) -> None:
    text = _render(directory, "crisis_medical_emergency", "en-GB")
    assert "findahelpline" not in text
    assert text.startswith("Please call 999")


def test_referral_is_an_immutable_value(directory: ResourceDirectory) -> None:
    referral = directory.lookup("crisis_self_harm", "en-GB")
    assert isinstance(referral, Referral)
    with pytest.raises(dataclasses.FrozenInstanceError):
        referral.country = "US"  # type: ignore[misc]


def test_the_default_directory_is_loaded_once_and_cached() -> None:
    assert ResourceDirectory.load() is ResourceDirectory.load()
    assert ResourceDirectory.load() is default_directory()


# --------------------------------------------------------------------------- loader on temp folders

_INTERNATIONAL = """\
resources:
  - id: test_directory
    name: Test Directory
    categories: [crisis_self_harm, crisis_danger, crisis_medical_emergency]
    url: https://directory.example
    source_url: https://directory.example/about
    checked: 2026-11-28
    verified: true
"""

_FAKE_COUNTRY = """\
country: SE
country_name: Testland
emergency_number: "112"
emergency_source_url: https://example.org/emergency
emergency_checked: 2026-11-28
resources:
  - id: good_line
    name: Good Line
    categories: [crisis_self_harm, crisis_danger, crisis_medical_emergency]
    phone: "0200 111 222"
    hours: 24/7
    source_url: https://example.org/good
    checked: 2026-11-28
    verified: true
  - id: bad_line
    name: Unconfirmed Line
    categories: [crisis_self_harm, crisis_danger, crisis_medical_emergency]
    phone: "0777 999 888"
    text: Text HIDDEN to 55555
    url: https://unconfirmed.example
    verified: false
  - id: bad_directory_like
    name: Unconfirmed Site
    categories: [crisis_self_harm]
    url: https://also-unconfirmed.example
    source_url: https://example.org/bad
    checked: 2026-11-28
    verified: false
"""


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("category", CRISIS_CATEGORIES)
def test_unverified_entries_are_never_rendered(tmp_path: Path, category: str) -> None:
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.yaml": _FAKE_COUNTRY})
    directory = ResourceDirectory.load(folder)
    referral = directory.lookup(category, "sv-SE")
    assert referral.country == "SE"
    assert [r.id for r in referral.resources] == ["good_line"]
    for markdown in (False, True):
        text = render_referral(referral, category=category, markdown=markdown)
        assert "0200 111 222" in text
        for hidden in ("0777 999 888", "HIDDEN", "Unconfirmed", "unconfirmed.example"):
            assert hidden not in text


def test_shipped_unverified_entries_are_never_rendered(
    directory: ResourceDirectory,
) -> None:
    unverified = [(c.country, r) for c in directory.countries.values() for r in c.resources if not r.verified]
    assert unverified, "expected some unverified entries to exercise"
    for code, res in unverified:
        for category in CRISIS_CATEGORIES:
            for markdown in (False, True):
                text = _render(directory, category, code, markdown=markdown)
                assert res.name not in text, (code, res.id)
                assert not res.phone or res.phone not in text, (code, res.id)


def test_a_broken_yaml_file_raises_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = _folder(
        tmp_path,
        {
            "international.yaml": _INTERNATIONAL,
            "GB.yaml": "country: GB\nresources: [\n  - id: x\n",
        },
    )
    with pytest.raises(ResourceError, match=r"GB\.yaml: invalid YAML") as info:
        ResourceDirectory.load(folder)
    assert info.value.source.endswith("GB.yaml")


def test_an_unknown_key_raises_an_error_naming_the_file_and_the_field(
    tmp_path: Path,
) -> None:
    bad = _FAKE_COUNTRY.replace('    phone: "0200 111 222"', '    phon: "0200 111 222"')
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.yaml": bad})
    with pytest.raises(ResourceError, match=r"SE\.yaml: resources\.0\.phon") as info:
        ResourceDirectory.load(folder)
    assert info.value.field == "resources.0.phon"


def test_a_verified_entry_without_a_source_is_rejected(tmp_path: Path) -> None:
    bad = _FAKE_COUNTRY.replace("    source_url: https://example.org/good\n", "")
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.yaml": bad})
    with pytest.raises(ResourceError, match=r"SE\.yaml: resources\.0.*source_url"):
        ResourceDirectory.load(folder)


def test_a_country_file_must_match_its_file_name(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "NO.yaml": _FAKE_COUNTRY})
    with pytest.raises(ResourceError, match=r"NO\.yaml: country: is 'SE'"):
        ResourceDirectory.load(folder)


def test_a_lower_case_country_file_name_is_rejected(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "se.yaml": _FAKE_COUNTRY})
    with pytest.raises(ResourceError, match=r"se\.yaml"):
        ResourceDirectory.load(folder)


def test_a_key_given_twice_in_a_resource_file_is_refused_not_read_as_its_last_value(tmp_path: Path) -> None:
    bad = _FAKE_COUNTRY.replace("    verified: false\n", "    verified: false\n    verified: true\n", 1)
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.yaml": bad})
    with pytest.raises(ResourceError, match=r"SE\.yaml: .*'verified' appears twice"):
        ResourceDirectory.load(folder)


def test_a_country_file_with_an_upper_case_suffix_is_refused_not_skipped(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.YAML": _FAKE_COUNTRY})
    with pytest.raises(ResourceError, match=r"SE\.YAML: unexpected file"):
        ResourceDirectory.load(folder)


@pytest.mark.parametrize("code", ["UK", "EU", "XK", "ZZ"])
def test_a_country_file_whose_code_names_no_iso_country_is_refused(tmp_path: Path, code: str) -> None:
    folder = _folder(
        tmp_path, {"international.yaml": _INTERNATIONAL, f"{code}.yaml": _FAKE_COUNTRY.replace("SE", code, 1)}
    )
    with pytest.raises(ResourceError, match=rf"{code}\.yaml: country: .*'{code}' is not an upper-case ISO 3166-1"):
        ResourceDirectory.load(folder)


def test_the_international_directory_is_required(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"SE.yaml": _FAKE_COUNTRY})
    with pytest.raises(ResourceError, match=r"international\.yaml: file not found"):
        ResourceDirectory.load(folder)


def test_an_international_entry_may_not_carry_a_phone_number(tmp_path: Path) -> None:
    bad = _INTERNATIONAL.replace(
        "    url: https://directory.example\n",
        '    url: https://directory.example\n    phone: "116 123"\n',
    )
    folder = _folder(tmp_path, {"international.yaml": bad})
    with pytest.raises(ResourceError, match=r"international\.yaml: .*must not have phone"):
        ResourceDirectory.load(folder)


def test_an_empty_country_file_raises_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = _folder(tmp_path, {"international.yaml": _INTERNATIONAL, "SE.yaml": ""})
    with pytest.raises(ResourceError, match=r"SE\.yaml: expected a mapping"):
        ResourceDirectory.load(folder)


def test_messages_with_digits_are_rejected(tmp_path: Path) -> None:
    text = (SHIPPED / "messages.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "please call your local emergency number now.",
        "please call 112 or your local emergency number now.",
        1,
    )
    assert bad != text
    folder = _folder(tmp_path, {"messages.yaml": bad})
    with pytest.raises(ResourceError, match=r"messages\.yaml: crisis_self_harm\.emergency_unknown"):
        load_messages(folder)


def test_a_copy_of_the_shipped_folder_loads_like_the_default(tmp_path: Path, directory: ResourceDirectory) -> None:
    copy = tmp_path / "resources"
    shutil.copytree(SHIPPED, copy)
    loaded = ResourceDirectory.load(copy)
    assert loaded is not directory
    assert sorted(loaded.countries) == sorted(directory.countries)


@pytest.mark.parametrize("locale", ["en-GB", "de-DE", None], ids=["GB", "DE", "unknown"])
def test_a_referral_for_every_crisis_kind_at_once_lists_each_kinds_services_once(
    directory: ResourceDirectory, locale: str | None
) -> None:
    kinds = ("crisis_medical_emergency", "crisis_danger", "crisis_self_harm")
    text = render_referrals([(kind, directory.lookup(kind, locale)) for kind in kinds])
    entries = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(entries) == len(set(entries))
    for kind in kinds:
        referral = directory.lookup(kind, locale)
        for resource in referral.resources if referral.country else referral.fallback:
            assert resource.name in text, (kind, resource.id)


@pytest.mark.parametrize(
    ("locale", "numbers"), [("ja-JP", ["119", "110"]), ("pt-BR", ["192", "190"]), ("en-US", ["911"])]
)
def test_the_general_referral_gives_the_police_number_too_where_the_country_has_its_own(
    locale: str, numbers: list[str]
) -> None:
    from guardrails.testing import KeywordDetector, guard_with

    custom = {"id": "crisis_stalking", "kind": "crisis", "clause": "A person being stalked and afraid for their safety"}
    guard = guard_with(KeywordDetector({"trapped": "crisis_stalking"}), profile={"custom_categories": [custom]})
    referral = guard.check("I am trapped and he is outside", locale=locale).referral
    assert referral is not None
    line = next(x for x in referral.splitlines() if "call" in x)
    assert re.findall(r"\d+", line) == numbers


def test_a_medical_emergency_with_danger_gives_both_numbers() -> None:
    from guardrails.testing import KeywordDetector, guard_with

    guard = guard_with(KeywordDetector({"collapsed": "crisis_medical_emergency", "hits me": "crisis_danger"}))
    referral = guard.check("my dad collapsed and my brother hits me", locale="ja-JP").referral
    assert referral is not None and "119 (or 110)" in referral


@pytest.mark.parametrize(
    ("locale", "country"),
    [
        ("ja_JP@calendar=japanese", "JP"),
        ("de_DE@currency=EUR", "DE"),
        ("en_US@rg=gbzzzz", "GB"),
        ("en-US-u-rg-gbzzzz", "GB"),
        ("en-US-u-ca-gregory-rg-gbzzzz", "GB"),
    ],
)
def test_icu_keywords_are_read_and_a_region_override_names_the_country(locale: str, country: str) -> None:
    assert default_directory().lookup("crisis_self_harm", locale).country == country
