from __future__ import annotations

from pathlib import Path

import pytest

from guardrails import ProfileError, load_profile
from guardrails.profiles import builtin_profiles

BUILTINS = ("general", "healthcare", "legal", "finance", "news")


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_profile_loads_and_validates(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.on_detector_error == "block"


def test_builtin_profiles_are_listed() -> None:
    assert set(BUILTINS) <= set(builtin_profiles())


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("healthcare", "domain_medical"),
        ("legal", "domain_legal"),
        ("finance", "domain_financial"),
        ("news", "domain_news"),
    ],
    ids=["healthcare", "legal", "finance", "news"],
)
def test_domain_profiles_always_attach_their_disclaimer(name: str, domain: str) -> None:
    assert load_profile(name).disclaimers.always == (domain,)


def _write(tmp_path: Path, body: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ("name: x\nbogus_key: 1\n", "bogus_key", "1"),
        ("name: x\ncategories:\n  weapons: {threshold: 1.5}\n", "categories.weapons.threshold", "1.5"),
        ("name: x\ncategories:\n  weapon: {action: block}\n", "categories.weapon", "weapon"),
        ("name: x\ncategories:\n  weapons: {action: explode}\n", "categories.weapons.action", "explode"),
        ("name: x\non_detector_error: maybe\n", "on_detector_error", "maybe"),
        (
            "name: x\ndetectors:\n  lexical: {options: {pattern_filez: [a]}}\n",
            "detectors.lexical.options.pattern_filez",
            "",
        ),
        ("name: x\ndetectors:\n  telepathy: {}\n", "detectors.telepathy", "telepathy"),
        ("name: x\ndisclaimers: {always: [weapons]}\n", "disclaimers.always.0", "weapons"),
        (
            "name: x\ndetectors:\n  lexical: {options: {patterns: [{id: p1, category: gambling}]}}\n",
            "detectors.lexical.options.patterns.0",
            "neither a regex nor",
        ),
        (
            "name: x\ndetectors:\n  lexical: {options: {patterns: [{id: p1, category: gambling, phrases: [bet], "
            "stages: [inptu]}]}}\n",
            "detectors.lexical.options.patterns.0.stages.0",
            "inptu",
        ),
        ("name: x\nattached_documents: ignore\n", "attached_documents", "ignore"),
    ],
    ids=[
        "unknown-key",
        "threshold-above-one",
        "unknown-category",
        "unknown-action",
        "bad-error-mode",
        "detector-option-typo",
        "unknown-detector",
        "disclaimer-not-domain",
        "pattern-that-matches-nothing",
        "pattern-stage-typo",
        "attached-documents-mode",
    ],
)
def test_broken_profile_fails_naming_file_field_and_value(tmp_path: Path, body: str, field: str, value: str) -> None:
    path = _write(tmp_path, body)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message
    assert field in message
    assert value in message


def test_custom_category_is_accepted_when_declared(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: x\ncustom_categories:\n  - {id: competitor_talk, kind: prohibited, clause: Talking about competitors}\n"
        "categories:\n  competitor_talk: {action: block, threshold: 0.4}\n",
    )
    profile = load_profile(path)
    assert "competitor_talk" in profile.taxonomy()
    assert profile.threshold_for("competitor_talk") == 0.4


def test_custom_category_cannot_redefine_a_taxonomy_id(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ncustom_categories:\n  - {id: weapons, kind: prohibited, clause: dup clause}\n")
    with pytest.raises(ProfileError, match="defined twice"):
        load_profile(path)


def test_extends_inherits_and_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: strict\nextends: healthcare\ncategories:\n  gambling: {threshold: 0.2}\n")
    profile = load_profile(path)
    assert profile.disclaimers.always == ("domain_medical",)
    assert profile.threshold_for("gambling") == 0.2
    assert "lexical" in profile.detectors


def test_extends_a_relative_file(tmp_path: Path) -> None:
    _write(tmp_path, "name: base\nlocale: en-GB\n", "base.yaml")
    child = _write(tmp_path, "name: child\nextends: base.yaml\n", "child.yaml")
    assert load_profile(child).locale == "en-GB"


def test_circular_extends_fails(tmp_path: Path) -> None:
    _write(tmp_path, "name: a\nextends: b.yaml\n", "a.yaml")
    _write(tmp_path, "name: b\nextends: a.yaml\n", "b.yaml")
    with pytest.raises(ProfileError, match="circular"):
        load_profile(tmp_path / "a.yaml")


@pytest.mark.parametrize(
    ("body", "message"),
    [("- just\n- a list\n", "mapping"), ("name: [unclosed\n", "invalid YAML"), ("", "mapping")],
    ids=["list", "broken-yaml", "empty-file"],
)
def test_yaml_that_is_not_a_mapping_fails_clearly(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path, body))


def test_unknown_profile_name_lists_builtins() -> None:
    with pytest.raises(ProfileError, match="general"):
        load_profile("no_such_profile")


def test_missing_profile_path_fails(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "missing.yaml")


def test_profile_argument_of_wrong_type_fails() -> None:
    with pytest.raises(ProfileError):
        load_profile(42)  # type: ignore[arg-type]


def test_redaction_block_is_validated_at_load(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nredaction:\n  input: {CREDIT_CARD: shred}\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "redaction.input" in str(info.value) and "shred" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('text: "the private words a user typed", label: [unclosed\n', id="broken-yaml"),
        pytest.param('{"id": "1", "text": "the private words a user typed"}\n', id="a-jsonl-row-given-as-profile"),
    ],
)
def test_a_profile_error_points_at_the_place_without_quoting_the_file(tmp_path: Path, body: str) -> None:
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, body))
    assert "private words" not in str(info.value)


def test_yaml_nested_too_deeply_is_a_profile_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="nested too deeply"):
        load_profile(_write(tmp_path, "name: x\nextra: " + "[" * 2000 + "]" * 2000 + "\n"))


def test_a_relative_file_option_is_found_next_to_the_profile_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "my_patterns.yaml").write_text(
        "patterns:\n  - {id: p1, category: gambling, phrases: [place a bet]}\n", encoding="utf-8"
    )
    body = "name: x\nextends: general\ndetectors:\n  lexical: {options: {pattern_files: [default, my_patterns.yaml]}}\n"
    path = _write(folder, body)
    monkeypatch.chdir(tmp_path)  # not the profile's folder
    options = load_profile(path).detectors["lexical"].options
    assert options["pattern_files"] == ["default", str(folder / "my_patterns.yaml")]


def test_a_redaction_rule_for_an_entity_the_pii_detector_never_finds_is_refused_as_a_likely_typo(
    tmp_path: Path,
) -> None:
    with pytest.raises(ProfileError, match=r"redaction\.input\.US_SNN") as info:
        load_profile(_write(tmp_path, "name: x\nextends: general\nredaction:\n  input: {US_SNN: block}\n"))
    assert "US_SSN" in str(info.value)  # the list it finds, to spot the typo
    assert load_profile(_write(tmp_path, "name: x\nextends: general\nredaction:\n  input: {US_SSN: block}\n"))


def test_a_key_given_twice_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    body = "name: x\ncategories:\n  weapons: {action: block}\ncategories:\n  gambling: {action: block}\n"
    with pytest.raises(ProfileError, match=r"line 4, column 1: the key 'categories' appears twice"):
        load_profile(_write(tmp_path, body))
    # without anchors (refused: see test_profile_strictness) a merge key can only hide a second value of a key
    merged = "name: x\ncategories:\n  weapons: {<<: {threshold: 0.5, action: allow}, threshold: 0.7}\n"
    with pytest.raises(ProfileError, match=r"merge keys \(<<:\) are not supported"):
        load_profile(_write(tmp_path, merged))


@pytest.mark.parametrize(
    ("value", "read_as"), [("010", "octal"), ("0200000", "octal"), ("1:30", "base 60"), ("0b11", "binary")]
)
def test_a_number_yaml_1_1_reads_as_another_number_is_refused(tmp_path: Path, value: str, read_as: str) -> None:
    with pytest.raises(ProfileError, match=rf"line 2, column 17: a number with a leading zero.*{read_as}"):
        load_profile(_write(tmp_path, f"name: x\nhistory_window: {value}\n"))


def test_a_category_referral_must_name_a_crisis_category(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("extends: general\nname: p\ncategories:\n  gambling: {action: refer, referral: gambling}\n")
    with pytest.raises(ProfileError, match=r"referral 'gambling' is not a crisis category id"):
        load_profile(path)


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ("gambling: {referral: crisis_self_harm}", "referral is for a prohibited category with action: refer"),
        ("domain_medical: {action: refer, referral: crisis_self_harm}", "domain_medical is a domain category"),
    ],
)
def test_a_category_referral_needs_a_prohibited_category_referred(tmp_path: Path, rule: str, error: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"extends: general\nname: p\ncategories:\n  {rule}\n")
    with pytest.raises(ProfileError, match=error):
        load_profile(path)


def test_screen_history_names_a_value_it_does_not_know(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: p\nextends: general\nscreen_history: [turns, everything]\n")
    with pytest.raises(ProfileError, match="everything"):
        load_profile(path)


@pytest.mark.parametrize(
    ("pii", "stage"),
    [("{stages: [input]}", "output"), ("{enabled: false}", "input")],
    ids=["pii-input-only", "pii-disabled"],
)
def test_the_llm_judge_on_a_stage_where_pii_does_not_run_is_refused_naming_the_stage(
    tmp_path: Path, pii: str, stage: str
) -> None:
    path = _write(tmp_path, f"name: x\ndetectors:\n  pii: {pii}\n  llm_judge: {{stages: [input, output]}}\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "detectors.llm_judge.stages" in message
    assert f"the {stage} stage" in message and "unredacted" in message


def test_the_llm_judge_where_pii_runs_too_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\ndetectors:\n  pii: {stages: [input]}\n  llm_judge: {stages: [input]}\n")
    assert load_profile(path).detectors_for("input")[-1] == "llm_judge"


@pytest.mark.parametrize("clause", ["   ", " ab  "], ids=["blank", "two-letters-padded"])
def test_a_custom_category_clause_of_fewer_than_three_characters_besides_blanks_is_refused(
    tmp_path: Path, clause: str
) -> None:
    path = _write(tmp_path, f'name: x\ncustom_categories:\n  - {{id: rival, kind: prohibited, clause: "{clause}"}}\n')
    with pytest.raises(ProfileError, match=r"custom_categories\.0\.clause"):
        load_profile(path)


def test_a_custom_category_clause_is_kept_without_its_surrounding_blanks(tmp_path: Path) -> None:
    path = _write(tmp_path, 'name: x\ncustom_categories:\n  - {id: rival, kind: prohibited, clause: "  Rivals "}\n')
    assert load_profile(path).taxonomy()["rival"].clause == "Rivals"


def test_a_guard_refuses_a_hand_built_profile_that_would_send_the_llm_judge_unredacted_text() -> None:
    from guardrails import Guard
    from guardrails.profiles import DetectorSpec, Profile

    profile = Profile(name="x", detectors={"llm_judge": DetectorSpec(stages=("input",), options={"model": "m:judge"})})
    with pytest.raises(ProfileError, match="would be sent unredacted text"):
        Guard(profile)


def test_a_guard_refuses_a_hand_built_or_copied_profile_with_an_unknown_id_or_a_bad_value() -> None:
    from guardrails import Guard
    from guardrails.profiles import CategoryRule, Profile

    with pytest.raises(ProfileError, match="unknown category id 'gamblng'"):
        Guard(Profile(name="x", categories={"gamblng": CategoryRule(action="block")}))
    with pytest.raises(ProfileError, match="default_threshold"):
        Guard(load_profile("general").model_copy(update={"default_threshold": 7.0}))


@pytest.mark.parametrize(
    "semantic",
    [{"options": {"language": False}}, {"enabled": False}, {"stages": ["output"]}],
    ids=["language-off", "disabled", "output-only"],
)
def test_blocking_unsupported_languages_without_language_detection_is_refused(semantic: dict[str, object]) -> None:
    from guardrails.profiles import validate_profile_mapping

    data = {"name": "x", "extends": "general", "unsupported_language": "block", "detectors": {"semantic": semantic}}
    with pytest.raises(ProfileError, match=r"unsupported_language: block needs language detection on the input"):
        validate_profile_mapping(data)
    validate_profile_mapping({**data, "unsupported_language": "flag"})  # a flag that stays unset is no promise


def test_a_taxonomy_file_that_is_not_valid_yaml_is_located_without_quoting_its_content(tmp_path: Path) -> None:
    from guardrails.errors import TaxonomyError
    from guardrails.taxonomy import load_taxonomy

    path = tmp_path / "tax.yaml"
    path.write_text('categories:\n  - {id: x, kind: prohibited, clause: "card 4111 1111 1111 1111 of Jane" : bad}\n')
    with pytest.raises(TaxonomyError, match=r"line 2, column \d+") as caught:
        load_taxonomy(path)
    assert "4111" not in str(caught.value) and "Jane" not in str(caught.value)


def test_a_child_that_blocks_a_category_its_parent_refers_drops_the_parents_referral(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("extends: general\nname: strict\ncategories:\n  self_harm_promotion: {action: block}\n")
    rule = load_profile(path).categories["self_harm_promotion"]
    assert (rule.action, rule.referral) == ("block", None)
    both = tmp_path / "both.yaml"  # a referral written beside the action in the same file is still checked
    both.write_text(
        "extends: general\nname: b\ncategories:\n  self_harm_promotion: {action: block, referral: crisis_self_harm}\n"
    )
    with pytest.raises(ProfileError, match=r"both\.yaml: categories\.self_harm_promotion\.referral"):
        load_profile(both)
