"""Profile values that used to be accepted and then converted or ignored at run time are refused at load,
naming the file, the field and the value."""

from __future__ import annotations

import os
from importlib import resources as importlib_resources
from pathlib import Path

import pytest

from guardrails import ProfileError, load_profile
from guardrails.profiles import validate_profile_mapping
from guardrails.resources import default_directory


def _write(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _refused(path: Path) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    return info.value


@pytest.mark.parametrize(
    ("bad", "hint", "good", "country"),
    [
        ("en-UK", "did you mean 'GB'?", "en-GB", "GB"),
        ("UK", "did you mean 'GB'?", "GB", "GB"),
        ("en_UK.UTF-8", "did you mean 'GB'?", "en_GB.UTF-8", "GB"),
        ("el-EL", "did you mean 'GR'?", "el-GR", "GR"),
        ("en-EN", "'en' is a language code", "en", None),
        ("fr-ZZ", "not an ISO 3166-1 country code", "fr-CI", "CI"),  # a country without resource data is fine
        ("es-999", "UN M.49", "es-419", None),
        ("iw-IL", "did you mean 'he'?", "he-IL", "IL"),
        ("english", "not a locale", "en", None),
    ],
    ids=["en-UK", "bare-UK", "posix-en_UK", "el-EL", "en-EN", "private-use-ZZ", "m49-999", "iw-IL", "a-word"],
)
def test_a_locale_that_names_no_real_country_is_refused_with_a_hint_and_its_corrected_form_loads(
    tmp_path: Path, bad: str, hint: str, good: str, country: str | None
) -> None:
    path = _write(tmp_path, f"name: x\nlocale: {bad}\n")
    error = _refused(path)
    assert (error.source, error.field, error.value) == (str(path), "locale", bad)
    assert hint in str(error) and repr(bad) in str(error)
    profile = load_profile(_write(tmp_path, f"name: x\nlocale: {good}\n"))
    assert profile.locale == good
    assert default_directory().country_for_locale(profile.locale) == country  # read the same way at run time


@pytest.mark.parametrize(
    ("body", "field", "kind"),
    [
        ("default_threshold: yes\n", "default_threshold", "boolean"),
        ("categories:\n  weapons: {threshold: yes}\n", "categories.weapons.threshold", "boolean"),
        ("history_window: on\n", "history_window", "boolean"),
        ("max_text_chars: true\n", "max_text_chars", "boolean"),
        ("streaming: {check_every_chars: yes}\n", "streaming.check_every_chars", "boolean"),
        ("detector_timeout_s: yes\n", "detector_timeout_s", "boolean"),
        ("detectors:\n  semantic: {options: {min_score: yes}}\n", "detectors.semantic.options.min_score", "boolean"),
        (
            "detectors:\n  lexical: {options: {patterns: [{id: p1, category: gambling, phrases: [bet], "
            "score: yes}]}}\n",
            "detectors.lexical.options.patterns.0.score",
            "boolean",
        ),
        (
            "redaction:\n  input: {default: {operator: mask, keep_last: yes}}\n",
            "redaction.input.default.keep_last",
            "boolean",
        ),
        ('default_threshold: "0.5"\n', "default_threshold", "string"),
        ('history_window: "3"\n', "history_window", "string"),
    ],
    ids=[
        "default-threshold",
        "category-threshold",
        "history-window",
        "max-text-chars",
        "streaming-int",
        "detector-timeout",
        "detector-option",
        "pattern-score",
        "redaction-operator-int",
        "quoted-float",
        "quoted-int",
    ],
)
def test_a_boolean_or_a_quoted_number_given_for_a_number_is_refused_not_converted(
    tmp_path: Path, body: str, field: str, kind: str
) -> None:
    path = _write(tmp_path, "name: x\n" + body)
    error = _refused(path)
    assert (error.source, error.field) == (str(path), field)
    assert f"expected a number, not a {kind}" in str(error)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("crisis_overrides_block: 0\n", "crisis_overrides_block", 0),
        ('detectors:\n  lexical: {enabled: "no"}\n', "detectors.lexical.enabled", "no"),
        ("audit: {enabled: 1}\n", "audit.enabled", 1),
    ],
    ids=["number", "quoted-no", "audit-number"],
)
def test_a_number_or_a_string_given_for_true_or_false_is_refused_not_converted(
    tmp_path: Path, body: str, field: str, value: object
) -> None:
    path = _write(tmp_path, "name: x\n" + body)
    error = _refused(path)
    assert (error.source, error.field, error.value) == (str(path), field, value)
    assert "expected true or false" in str(error)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('name: x\nrefusals: {weapons: ""}\n', "refusals.weapons"),
        ('name: x\nrefusals: {default: "   "}\n', "refusals.default"),
        ('name: " "\n', "name"),
    ],
    ids=["empty-refusal", "whitespace-refusal", "blank-name"],
)
def test_a_blank_refusal_text_or_profile_name_is_refused(tmp_path: Path, body: str, field: str) -> None:
    path = _write(tmp_path, body)
    error = _refused(path)
    assert (error.source, error.field) == (str(path), field)
    assert "empty or only whitespace" in str(error)


def test_a_category_action_redact_is_refused_pointing_to_the_redaction_block(tmp_path: Path) -> None:
    # the policy would label such a turn REDACT and pass its text on unchanged
    path = _write(tmp_path, "name: x\ncategories:\n  weapons: {action: redact}\n")
    error = _refused(path)
    assert (error.source, error.field, error.value) == (str(path), "categories.weapons.action", "redact")
    assert "redaction:" in str(error)


def test_a_detector_with_no_stages_is_refused_in_favour_of_enabled_false(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndetectors:\n  lexical: {stages: []}\n")
    error = _refused(path)
    assert (error.source, error.field) == (str(path), "detectors.lexical.stages")
    assert "enabled: false" in str(error)


def test_a_disclaimer_language_is_auto_or_a_language_code_the_texts_are_written_in(tmp_path: Path) -> None:
    for bad in ("spanish", "GB", "de", "xx"):
        path = _write(tmp_path, f"name: x\ndisclaimers: {{language: {bad}}}\n")
        error = _refused(path)
        assert (error.source, error.field, error.value) == (str(path), "disclaimers.language", bad)
    assert load_profile(_write(tmp_path, "name: x\ndisclaimers: {language: es}\n")).disclaimers.language == "es"


def test_a_disclaimer_language_in_posix_or_region_form_is_kept_as_its_language_code(tmp_path: Path) -> None:
    for given in ("es_ES.UTF-8", "es-ES", "ES-es"):
        profile = load_profile(_write(tmp_path, f"name: x\ndisclaimers: {{language: {given}}}\n"))
        assert profile.disclaimers.language == "es", given


def test_numbers_in_exponent_form_are_numbers_not_refused_strings(tmp_path: Path) -> None:
    body = "name: x\ndefault_threshold: 5e-1\ndetector_timeout_s: 1e1\ncategories:\n  gambling: {threshold: 4e-1}\n"
    profile = load_profile(_write(tmp_path, body))
    assert (profile.default_threshold, profile.detector_timeout_s) == (0.5, 10.0)
    assert profile.threshold_for("gambling") == 0.4


@pytest.mark.parametrize("locale", ["C", "C.UTF-8", "POSIX", " en-GB "])
def test_the_c_locale_and_a_padded_tag_are_accepted(tmp_path: Path, locale: str) -> None:
    assert load_profile(_write(tmp_path, f"name: x\nlocale: '{locale}'\n")).locale == locale


def test_a_source_key_in_a_profile_is_refused_not_silently_overwritten(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nsource: elsewhere.yaml\n")
    error = _refused(path)
    assert (error.source, error.field, error.value) == (str(path), "source", "elsewhere.yaml")


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        ("no_such_profile", "unknown profile 'no_such_profile'"),
        ("missing_parent.yaml", "does not exist"),
        ('""', "empty profile name"),
    ],
    ids=["unknown-name", "missing-file", "empty"],
)
def test_an_extends_error_names_the_file_that_refers_to_the_parent(tmp_path: Path, parent: str, message: str) -> None:
    child = _write(tmp_path, f"name: child\nextends: {parent}\n", "child.yaml")
    error = _refused(child)
    assert (error.source, error.field) == (str(child), "extends")
    assert message in str(error)


def test_a_circular_extends_names_the_file_that_closes_the_loop(tmp_path: Path) -> None:
    first = _write(tmp_path, "name: a\nextends: b.yaml\n", "a.yaml")
    second = _write(tmp_path, "name: b\nextends: a.yaml\n", "b.yaml")
    error = _refused(first)
    assert (error.source, error.field, error.value) == (str(second), "extends", "a.yaml")
    assert "circular" in str(error)


def test_an_extends_error_in_a_mapping_names_its_source_and_an_empty_extends_is_not_ignored() -> None:
    for parent in ("no_such_profile", "", 5):
        with pytest.raises(ProfileError) as info:
            validate_profile_mapping({"name": "x", "extends": parent}, source="mine.yaml")
        assert (info.value.source, info.value.field) == ("mine.yaml", "extends")


def test_a_profile_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    from guardrails.profiles import MAX_PROFILE_BYTES

    huge = _write(tmp_path, "name: x\n", "huge.yaml")
    os.truncate(huge, MAX_PROFILE_BYTES + 1)  # NUL bytes: parsing them would fail with a YAML error instead
    error = _refused(huge)
    assert error.source == str(huge)
    assert f"{MAX_PROFILE_BYTES + 1} bytes" in str(error) and f"{MAX_PROFILE_BYTES} bytes" in str(error)
    head = "name: x\n#"
    at_limit = _write(tmp_path, head + "." * (MAX_PROFILE_BYTES - len(head) - 1) + "\n", "at_limit.yaml")
    assert at_limit.stat().st_size == MAX_PROFILE_BYTES
    assert load_profile(at_limit).name == "x"


def _tz_iso3166_table() -> str | None:
    try:
        return importlib_resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        system = Path("/usr/share/zoneinfo/iso3166.tab")
        return system.read_text(encoding="utf-8") if system.is_file() else None


def test_the_country_codes_a_locale_may_name_are_the_iso_3166_list_of_the_time_zone_database() -> None:
    from guardrails.locales import ISO_3166_ALPHA2

    table = _tz_iso3166_table()
    if table is None:
        pytest.skip("no iso3166.tab (tzdata) on this machine")
    codes = {line.split("\t", 1)[0] for line in table.splitlines() if line and not line.startswith("#")}
    assert codes == ISO_3166_ALPHA2
    assert "UK" not in ISO_3166_ALPHA2 and "GB" in ISO_3166_ALPHA2


# A bad value in a parent profile: the error names the file that holds it and the chain that reached it.
_BAD_IN_PARENT = [
    ("foo: 2\n", "foo", 2, "Extra inputs are not permitted"),
    ("locale: en-UK\n", "locale", "en-UK", "did you mean 'GB'?"),
    ("categories:\n  weapons: {threshold: 1.5}\n", "categories.weapons.threshold", 1.5, "less than or equal to 1"),
    ("categories:\n  weapons: {threshold: yes}\n", "categories.weapons.threshold", True, "not a boolean"),
    ("detectors:\n  toxcity: {stages: [input]}\n", "detectors.toxcity", "toxcity", "unknown detector 'toxcity'"),
    (
        "detectors:\n  pii: {options: {ner_max_chars: 5}}\n",
        "detectors.pii.options.ner_max_chars",
        5,
        "greater than or equal to 1000",
    ),
    (
        "detectors:\n  lexical: {options: {patterns: [{id: p1, category: gambling, phrases: [bet], score: yes}]}}\n",
        "detectors.lexical.options.patterns.0.score",
        True,
        "not a boolean",
    ),
    ("redaction:\n  input: {US_SNN: block}\n", "redaction.input.US_SNN", "US_SNN", "not an entity the pii detector"),
]
_BAD_IDS = [
    "unknown-field",
    "locale",
    "category-threshold",
    "category-threshold-boolean",
    "unknown-detector",
    "pii-option",
    "lexical-pattern-score",
    "redaction-entity",
]
# the files between them set keys of the same mappings, so the bad value is merged with theirs
_SIBLINGS = "categories:\n  gambling: {threshold: 0.3}\ndetectors:\n  pii: {stages: [input, output]}\n"


@pytest.mark.parametrize(("bad", "field", "value", "message"), _BAD_IN_PARENT, ids=_BAD_IDS)
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_a_bad_value_in_a_parent_profile_is_reported_against_that_file_reached_from_the_child(
    tmp_path: Path, bad: str, field: str, value: object, message: str, depth: int
) -> None:
    # chain: f0.yaml (loaded) -> f1.yaml -> ... -> f{depth-1}.yaml (holds the bad value) -> general
    files = [tmp_path / f"f{i}.yaml" for i in range(depth)]
    for i, path in enumerate(files[:-1]):
        _write(tmp_path, f"name: f{i}\nextends: {files[i + 1].name}\n" + _SIBLINGS, path.name)
    culprit = _write(tmp_path, "extends: general\n" + bad, files[-1].name)
    error = _refused(files[0])
    assert (error.source, error.field, error.value) == (str(culprit), field, value)
    text = str(error)
    assert text.startswith(f"{culprit}: {field}: ") and message in text
    route = " -> ".join(map(str, files))
    assert text.endswith(f"(reached from {files[0]} through extends: {route})")
    # the same value in the loaded file itself is reported there, with no route
    own = _write(tmp_path, "name: own\nextends: general\n" + bad, "own.yaml")
    error = _refused(own)
    assert (error.source, error.field, error.value) == (str(own), field, value)
    assert "reached from" not in str(error)


def test_a_bad_parent_value_that_a_child_overrides_is_never_seen_and_a_bad_child_value_names_the_child(
    tmp_path: Path,
) -> None:
    parent = _write(tmp_path, "extends: general\ncategories:\n  weapons: {threshold: 1.5}\n", "parent.yaml")
    fixed = _write(tmp_path, "name: fixed\nextends: parent.yaml\ncategories:\n  weapons: {threshold: 0.4}\n", "c.yaml")
    assert load_profile(fixed).threshold_for("weapons") == 0.4
    _write(tmp_path, "extends: general\ncategories:\n  weapons: {threshold: 0.4}\n", parent.name)
    child = _write(tmp_path, "name: c\nextends: parent.yaml\ncategories:\n  weapons: {threshold: 2}\n", "c.yaml")
    error = _refused(child)
    assert (error.source, error.field, error.value) == (str(child), "categories.weapons.threshold", 2)
    assert "reached from" not in str(error)


def test_an_error_about_options_merged_from_several_files_names_the_nearest_and_the_others(tmp_path: Path) -> None:
    parent = _write(
        tmp_path, "extends: general\ndetectors:\n  pii: {options: {thresholds: {EMAIL_ADDRESS: 0.5}}}\n", "parent.yaml"
    )
    middle = _write(tmp_path, "extends: parent.yaml\ndetectors:\n  pii: {options: {entities: [PERSON]}}\n", "mid.yaml")
    child = _write(tmp_path, "name: c\nextends: mid.yaml\n", "c.yaml")
    error = _refused(child)
    assert (error.source, error.field) == (str(middle), "detectors.pii.options")
    text = str(error)
    assert "'EMAIL_ADDRESS'" in text and f"merged with the values of {parent}" in text
    assert text.endswith(f"(reached from {child} through extends: {child} -> {middle})")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ("extends: no_such.yaml\n", "extends", "does not exist"),
        ("extends: [general]\n", "extends", "must be a profile name or path"),
        ("extends: general\nfoo: [\n", "", "invalid YAML at line"),
    ],
    ids=["missing-grandparent", "extends-not-a-string", "invalid-yaml"],
)
def test_an_error_reading_an_ancestor_names_it_and_the_chain_that_reached_it(
    tmp_path: Path, body: str, field: str, message: str
) -> None:
    child = _write(tmp_path, "name: c\nextends: mid.yaml\n", "c.yaml")
    middle = _write(tmp_path, "extends: top.yaml\n", "mid.yaml")
    top = _write(tmp_path, body, "top.yaml")
    error = _refused(child)
    assert (error.source, error.field) == (str(top), field)
    assert message in str(error)
    assert str(error).endswith(f"(reached from {child} through extends: {child} -> {middle} -> {top})")


def test_an_error_in_a_profile_mapping_over_a_builtin_parent_names_the_mapping() -> None:
    with pytest.raises(ProfileError) as info:
        validate_profile_mapping({"name": "x", "extends": "general", "foo": 2}, source="mine.yaml")
    assert (info.value.source, info.value.field, info.value.value) == ("mine.yaml", "foo", 2)
    assert "reached from" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "line"),
    [("? [a, b]\n: 1\n", 2), ("? {a: 1}\n: 1\n", 2), ("categories: {[weapons]: {threshold: 0.3}}\n", 2)],
    ids=["list-key", "mapping-key", "flow-list-key"],
)
def test_a_mapping_key_that_is_a_list_or_a_mapping_is_a_profile_error_naming_the_file(
    tmp_path: Path, key: str, line: int
) -> None:
    path = _write(tmp_path, "name: x\n" + key)
    error = _refused(path)
    assert error.source == str(path)
    assert f"invalid YAML at line {line}" in str(error) and "a mapping key must be a scalar" in str(error)


def test_yaml_anchors_and_aliases_are_refused_in_profiles_before_they_expand(tmp_path: Path) -> None:
    # 8 ** 4 values from 300 bytes: merging the expanded value took 5 s (8 ** 6 from 450 bytes: minutes)
    lines = ["name: bomb", "a0: &a0 {a: 1, b: 1, c: 1, d: 1, e: 1, f: 1, g: 1, h: 1}"]
    lines += [f"a{i}: &a{i} {{" + ", ".join(f"{k}: *a{i - 1}" for k in "abcdefgh") + "}" for i in range(1, 4)]
    bomb = _write(tmp_path, "\n".join([*lines, "redaction: *a3"]) + "\n")
    error = _refused(bomb)  # refused as it is read, before anything expands
    assert "line 2, column 5: YAML anchors and aliases (&name, *name) are not supported" in str(error)
    plain_alias = _write(
        tmp_path, "name: x\ncategories:\n  weapons: &w {threshold: 0.3}\n  gambling: *w\n", "alias.yaml"
    )
    assert "anchors and aliases" in str(_refused(plain_alias))


def test_an_extends_chain_longer_than_32_files_is_refused_at_the_file_where_it_stops(tmp_path: Path) -> None:
    # ~1000 levels used to end in a RecursionError, reported as "invalid YAML: nested too deeply"
    files = [tmp_path / f"f{i}.yaml" for i in range(1000)]
    for i, path in enumerate(files[:-1]):
        _write(tmp_path, f"name: f{i}\nextends: {files[i + 1].name}\n", path.name)
    _write(tmp_path, "name: last\nextends: general\n", files[-1].name)
    error = _refused(files[0])
    assert (error.source, error.field) == (str(files[31]), "extends")
    assert "longer than 32 files" in str(error) and f"the chain starts at {files[0]}" in str(error)
    assert load_profile(files[-31]).name == "f969"  # 31 files and the built-in general: 32


def test_an_audit_path_without_enabled_true_is_refused(tmp_path: Path) -> None:
    error = _refused(_write(tmp_path, f"name: x\naudit: {{path: {tmp_path / 'a.jsonl'}}}\n"))
    assert error.field == "audit.path" and "audit.enabled is false (the default)" in str(error)
    # written out, enabled: false keeps the path for later, or turns a parent's audit log off
    assert not load_profile(_write(tmp_path, "name: x\naudit: {enabled: false, path: a.jsonl}\n")).audit.enabled
    _write(tmp_path, "name: p\nextends: general\naudit: {enabled: true, path: a.jsonl}\n", "parent.yaml")
    child = _write(tmp_path, "name: c\nextends: parent.yaml\naudit: {enabled: false}\n", "c.yaml")
    assert not load_profile(child).audit.enabled


def test_a_refused_disclaimer_language_names_the_languages_there_are_texts_for(tmp_path: Path) -> None:
    error = _refused(_write(tmp_path, "name: x\ndisclaimers: {language: de}\n"))
    assert "(en, es)" in str(error)


def test_a_markdown_disclaimer_has_its_prefix_in_the_language_of_its_text() -> None:
    from guardrails import responses

    spanish = responses.disclaimer("domain_medical", language="es", markdown=True)
    assert spanish is not None and spanish.startswith("> **Información generada por IA.** Esta respuesta")
    english = responses.disclaimer("domain_medical", language="fr", markdown=True)  # no French texts: English
    assert english is not None and english.startswith("> **AI-generated information.** This answer")


def test_an_error_in_an_entitys_operator_mapping_names_the_entity_and_the_field(tmp_path: Path) -> None:
    body = (
        "name: x\nredaction:\n  input:\n    CREDIT_CARD: {operator: mask}\n    US_SSN: {operator: mask, keep_lst: 4}\n"
    )
    error = _refused(_write(tmp_path, body))
    assert error.field == "redaction.input.US_SSN.keep_lst"


def test_a_profile_built_in_code_with_an_audit_path_but_no_enabled_is_refused_as_a_loaded_one_is(
    tmp_path: Path,
) -> None:
    from guardrails import Guard
    from guardrails.profiles import AuditSettings

    base = load_profile("general")
    lexical = {"lexical": base.detectors["lexical"]}
    path = str(tmp_path / "audit.jsonl")
    with pytest.raises(ProfileError, match=r"audit\.enabled") as info:
        Guard(base.model_copy(update={"detectors": lexical, "audit": AuditSettings(path=path)}))
    assert info.value.field == "audit.path"
    kept = Guard(base.model_copy(update={"detectors": lexical, "audit": AuditSettings(path=path, enabled=False)}))
    assert kept.audit is None  # an explicit enabled=False keeps a path for later, as in YAML


def test_a_misspelled_setting_in_a_model_copy_update_is_refused_not_dropped() -> None:
    from guardrails import Guard

    base = load_profile("general")
    update = {"detectors": {"lexical": base.detectors["lexical"]}, "default_treshold": 0.9}
    with pytest.raises(ProfileError, match="default_treshold") as info:
        Guard(base.model_copy(update=update))
    assert info.value.field == "default_treshold"


def test_warmup_warns_naming_a_custom_category_that_no_detector_reports() -> None:
    import warnings

    from guardrails import GuardrailsWarning
    from guardrails.testing import KeywordDetector, guard_with

    custom = {"custom_categories": [{"id": "competitor_talk", "kind": "prohibited", "clause": "Rival products"}]}
    silent = guard_with(KeywordDetector({"grenade": "weapons"}), profile=custom)
    with pytest.warns(GuardrailsWarning, match="competitor_talk"):
        silent.warmup()
    reporting = guard_with(KeywordDetector({"rivalco": "competitor_talk"}), profile=custom)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GuardrailsWarning)
        reporting.warmup()
