"""Redaction operators, the reversible per-conversation vault, and placeholder streaming helpers."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from guardrails.pii.vault import SEEDED_LABEL_CHARS, SEEDED_LABELS_MAX, Secret, Vault
from guardrails.redaction import Numbering, RedactionConfig, RedactionResult, Redactor
from guardrails.types import Finding, Stage

TEXT = "Maria Lopez paid with 4111 1111 1111 1111; mail maria@example.com. Maria Lopez again."


def find(text: str, value: str, label: str, score: float = 0.9, nth: int = 0) -> Finding:
    start = -1
    for _ in range(nth + 1):
        start = text.index(value, start + 1)
    return Finding(detector="pii", category=None, score=score, start=start, end=start + len(value), label=label)


FINDINGS = [
    find(TEXT, "Maria Lopez", "PERSON"),
    find(TEXT, "4111 1111 1111 1111", "CREDIT_CARD"),
    find(TEXT, "maria@example.com", "EMAIL_ADDRESS"),
    find(TEXT, "Maria Lopez", "PERSON", nth=1),
]


def redactor(**config: object) -> Redactor:
    return Redactor(config=RedactionConfig.model_validate(config), salt=b"test-salt")


def test_default_is_replace_with_typed_placeholders_on_both_stages() -> None:
    r = redactor()
    for stage in (Stage.INPUT, Stage.OUTPUT):
        result = r.redact(TEXT, FINDINGS, stage=stage, conversation_id=None)
        assert result == RedactionResult(
            text="<PERSON_1> paid with <CREDIT_CARD_1>; mail <EMAIL_ADDRESS_1>. <PERSON_1> again.",
            blocked_entities=(),
            replaced=4,
        )


def test_placeholders_are_stable_within_a_conversation_and_separate_across_conversations() -> None:
    r = redactor()
    a1 = r.redact("Call Ann Lee", [find("Call Ann Lee", "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id="a")
    a2 = r.redact(
        "Bo Chen and Ann Lee",
        [find("Bo Chen and Ann Lee", "Bo Chen", "PERSON"), find("Bo Chen and Ann Lee", "Ann Lee", "PERSON")],
        stage=Stage.INPUT,
        conversation_id="a",
    )
    b1 = r.redact("Bo Chen", [find("Bo Chen", "Bo Chen", "PERSON")], stage=Stage.INPUT, conversation_id="b")
    assert a1.text == "Call <PERSON_1>"
    assert a2.text == "<PERSON_2> and <PERSON_1>"
    assert b1.text == "<PERSON_1>"


def test_formatting_variants_of_a_number_share_a_placeholder() -> None:
    r = redactor()
    t = "4111 1111 1111 1111 or 4111-1111-1111-1111"
    result = r.redact(
        t,
        [find(t, "4111 1111 1111 1111", "CREDIT_CARD"), find(t, "4111-1111-1111-1111", "CREDIT_CARD")],
        stage=Stage.INPUT,
        conversation_id=None,
    )
    assert result.text == "<CREDIT_CARD_1> or <CREDIT_CARD_1>"


def test_a_value_with_an_invisible_character_shares_the_placeholder_of_the_plain_value() -> None:
    r = redactor()
    t = "mail jane.roe@example.com or jane.roe@exa\u200bmple.com"
    found = [find(t, "jane.roe@example.com", "EMAIL_ADDRESS"), find(t, "jane.roe@exa\u200bmple.com", "EMAIL_ADDRESS")]
    assert r.redact(t, found, stage=Stage.INPUT, conversation_id="c").text == (
        "mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_1>"
    )


def test_mask_keeps_the_last_four_digits_and_the_separators() -> None:
    r = redactor(input={"CREDIT_CARD": {"operator": "mask", "keep_last": 4}})
    result = r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None)
    assert "**** **** **** 1111" in result.text
    assert "4111 1111 1111 1111" not in result.text


def test_hash_is_salted_stable_and_does_not_contain_the_value() -> None:
    cfg = {"input": {"EMAIL_ADDRESS": "hash"}}
    one = redactor(**cfg).redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None).text
    again = redactor(**cfg).redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None).text
    other_salt = Redactor(config=RedactionConfig.model_validate(cfg), salt=b"another").redact(
        TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None
    )
    assert one == again and one != other_salt.text
    assert "maria@example.com" not in one and "<EMAIL_ADDRESS:" in one


def test_redact_removes_the_value() -> None:
    r = redactor(output={"default": "redact"})
    result = r.redact(TEXT, FINDINGS, stage=Stage.OUTPUT, conversation_id=None)
    assert result.text == " paid with ; mail .  again."
    assert result.replaced == 4


def test_block_reports_the_entity_and_still_hides_the_value() -> None:
    r = redactor(input={"CREDIT_CARD": "block"})
    result = r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None)
    assert result.blocked_entities == ("CREDIT_CARD",)
    assert "4111" not in result.text


def test_stage_specific_operators_apply_only_to_their_stage() -> None:
    r = redactor(input={"PERSON": "redact"})
    assert "<PERSON_1>" in r.redact(TEXT, FINDINGS, stage=Stage.OUTPUT, conversation_id=None).text
    assert "PERSON" not in r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id=None).text


def test_overlapping_findings_are_resolved_so_no_part_of_a_value_stays() -> None:
    t = "Visit 12 Baker Street, London soon"
    inner = find(t, "London", "LOCATION", score=0.95)
    outer = find(t, "12 Baker Street, London", "LOCATION", score=0.7)
    person = find(t, "Baker", "PERSON", score=0.99)
    result = redactor().redact(t, [inner, person, outer], stage=Stage.INPUT, conversation_id=None)
    assert result.text == "Visit <LOCATION_1> soon"


ADDRESS_AND_ID = "Update my file:\n12 Harbour Road\nSSN 536-22-8745\nthanks"


def address_and_id(inner: str) -> list[Finding]:
    """A long address span (the weaker finding) over a line holding a stronger finding of another entity: where
    their operators differ, the address is changed in the piece before the inner value ("12 Harbour Road\nSSN")."""
    t = ADDRESS_AND_ID
    return [find(t, "12 Harbour Road\nSSN 536-22-8745", "LOCATION", score=0.75), find(t, "536-22-8745", inner)]


@pytest.mark.parametrize(
    ("operator", "redacted", "blocked"),
    [
        pytest.param("block", "Update my file:\n<LOCATION_1> <US_SSN_1>\nthanks", ("US_SSN",), id="block"),
        pytest.param(
            {"operator": "mask", "keep_last": 4}, "Update my file:\n<LOCATION_1> ***-**-8745\nthanks", (), id="mask"
        ),
        pytest.param("redact", "Update my file:\n<LOCATION_1> \nthanks", (), id="redact"),
        pytest.param("replace", "Update my file:\n<LOCATION_1>\nthanks", (), id="same-operator-one-placeholder"),
    ],
)
def test_a_finding_inside_a_weaker_span_of_another_entity_keeps_its_own_operator(
    operator: object, redacted: str, blocked: tuple[str, ...]
) -> None:
    r = redactor(input={"US_SSN": operator})
    result = r.redact(ADDRESS_AND_ID, address_and_id("US_SSN"), stage=Stage.INPUT, conversation_id=None)
    assert (result.text, result.blocked_entities) == (redacted, blocked)


def test_a_weaker_span_that_is_masked_never_shows_part_of_a_stronger_value_inside_it() -> None:
    r = redactor(input={"LOCATION": {"operator": "mask", "keep_last": 4}})
    result = r.redact(ADDRESS_AND_ID, address_and_id("US_SSN"), stage=Stage.INPUT, conversation_id=None)
    assert "8745" not in result.text and "<US_SSN_1>" in result.text
    assert "Harbour" not in result.text


def test_a_blocked_entity_blocks_even_when_its_container_is_blocked_for_another_entity() -> None:
    r = redactor(input={"US_SSN": "block", "LOCATION": "block"})
    result = r.redact(ADDRESS_AND_ID, address_and_id("US_SSN"), stage=Stage.INPUT, conversation_id=None)
    assert set(result.blocked_entities) == {"US_SSN", "LOCATION"}
    assert result.text == "Update my file:\n<LOCATION_1>\nthanks"


def test_a_weaker_finding_inside_a_stronger_span_is_absorbed_by_it() -> None:
    t = "Visit 12 Baker Street soon"
    found = [find(t, "12 Baker Street", "LOCATION", score=0.9), find(t, "Baker", "PERSON", score=0.5)]
    result = redactor(input={"PERSON": "block"}).redact(t, found, stage=Stage.INPUT, conversation_id=None)
    assert (result.text, result.blocked_entities) == ("Visit <LOCATION_1> soon", ())


def test_findings_without_spans_or_labels_are_ignored() -> None:
    fs = [
        Finding(detector="pii", category=None, score=0.9),
        Finding(detector="x", category="c", score=0.9, start=0, end=3),
    ]
    assert redactor().redact("abc def", fs, stage=Stage.INPUT, conversation_id=None).replaced == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        pytest.param({"inputs": {}}, "inputs", id="unknown-key"),
        pytest.param({"input": {"PERSON": "scramble"}}, "scramble", id="unknown-operator"),
        pytest.param({"input": {"person": "replace"}}, "person", id="lower-case-entity"),
        pytest.param({"input": {"PERSON": {"operator": "mask", "keep_last": -1}}}, "keep_last", id="negative-keep"),
        pytest.param({"vault": {"ttl_seconds": 0}}, "ttl_seconds", id="zero-ttl"),
    ],
)
def test_invalid_redaction_config_names_the_bad_value(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RedactionConfig.model_validate(config)


# ---------------------------------------------------------------- reversible mode


def test_reversible_mode_restores_the_users_values_in_that_conversation_only() -> None:
    r = redactor(reversible=True)
    sent = r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="conv-1").text
    assert "Maria" not in sent
    answer = "Thanks <PERSON_1>, your receipt goes to <EMAIL_ADDRESS_1>."
    assert r.restore(answer, conversation_id="conv-1") == "Thanks Maria Lopez, your receipt goes to maria@example.com."
    assert r.restore(answer, conversation_id="conv-2") == answer
    assert r.restore(answer, conversation_id=None) == answer


def test_without_reversible_mode_nothing_is_restored_or_stored() -> None:
    r = redactor()
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    assert r.restore("<PERSON_1>", conversation_id="c") == "<PERSON_1>"
    assert r.vault.lookup("c", "<PERSON_1>") is None


def test_values_the_model_produced_are_never_restored() -> None:
    r = redactor(reversible=True)
    out = "Call Dr. Evil at +1 202 555 0101"
    result = r.redact(
        out,
        [find(out, "Dr. Evil", "PERSON"), find(out, "+1 202 555 0101", "PHONE_NUMBER")],
        stage=Stage.OUTPUT,
        conversation_id="c",
    )
    assert result.text == "Call <PERSON_1> at <PHONE_NUMBER_1>"
    assert r.restore(result.text, conversation_id="c") == result.text


def test_unknown_placeholders_stay_as_they_are() -> None:
    r = redactor(reversible=True)
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    assert r.restore("<PERSON_9> and <IBAN_CODE_1>", conversation_id="c") == "<PERSON_9> and <IBAN_CODE_1>"


def test_restoring_a_placeholder_streamed_in_pieces_gives_the_same_text() -> None:
    r = redactor(reversible=True)
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    answer = "Dear <PERSON_1>, we wrote to <EMAIL_ADDRESS_1> about 3 < 4."
    expected = r.restore(answer, conversation_id="c")
    for cut_a in range(1, len(answer)):
        for cut_b in (cut_a + 1, cut_a + 5):
            chunks = [answer[:cut_a], answer[cut_a:cut_b], answer[cut_b:]]
            pending, shown = "", []
            for chunk in chunks:
                pending += chunk
                hold = r.placeholder_prefix_len(pending)
                ready, pending = pending[: len(pending) - hold], pending[len(pending) - hold :]
                shown.append(r.restore(ready, conversation_id="c"))
            shown.append(r.restore(pending, conversation_id="c"))
            assert "".join(shown) == expected


@pytest.mark.parametrize(
    ("text", "held"),
    [
        pytest.param("Hello <", 1, id="bracket"),
        pytest.param("Hello <PERS", 5, id="partial-type"),
        pytest.param("Hello <PERSON_", 8, id="type-and-underscore"),
        pytest.param("Hello <PERSON_12", 10, id="partial-number"),
        pytest.param("Hello <PERSON_1>", 0, id="complete"),
        pytest.param("a < b", 0, id="less-than-sign"),
        pytest.param("no placeholder", 0, id="plain"),
    ],
)
def test_placeholder_prefix_len_reports_a_trailing_partial_placeholder(text: str, held: int) -> None:
    assert redactor().placeholder_prefix_len(text) == held


# ---------------------------------------------------------------- the vault


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_vault_entries_expire_after_the_ttl() -> None:
    clock = FakeClock()
    v = Vault(ttl_seconds=60, clock=clock)
    ph = v.placeholder("c", "PERSON", "k1", "Ann", restorable=True)
    clock.now = 59
    assert v.lookup("c", ph) == "Ann"
    clock.now = 59 + 61
    assert v.lookup("c", ph) is None
    assert len(v) == 0


def test_vault_keeps_at_most_max_conversations_least_recently_used_out_first() -> None:
    v = Vault(max_conversations=2)
    for cid in ("a", "b"):
        v.placeholder(cid, "PERSON", "k", cid.upper(), restorable=True)
    v.lookup("a", "<PERSON_1>")  # a is now the most recent
    v.placeholder("c", "PERSON", "k", "C", restorable=True)
    assert v.lookup("b", "<PERSON_1>") is None
    assert v.lookup("a", "<PERSON_1>") == "A" and v.lookup("c", "<PERSON_1>") == "C"


def test_a_placeholder_of_a_forgotten_conversation_is_unknown_to_its_next_life_when_asked_with_its_epoch() -> None:
    v = Vault(max_conversations=1)
    ph, _, first = v.assign("x", "PERSON", "k1", "Jane", restorable=True)
    v.placeholder("y", "PERSON", "k", "Other", restorable=True)  # x is forgotten
    again, _, second = v.assign("x", "PERSON", "k2", "John", restorable=True)
    assert ph == again == "<PERSON_1>" and first != second  # numbered from 1 again
    assert v.lookup("x", ph, epoch=first) is None
    assert v.lookup("x", ph, epoch=second) == v.lookup("x", ph) == "John"


def test_vault_keeps_at_most_max_entries_per_conversation_without_reusing_numbers() -> None:
    v = Vault(max_entries=2)
    phs = [v.placeholder("c", "PERSON", f"k{i}", f"name{i}", restorable=True) for i in range(3)]
    assert phs == ["<PERSON_1>", "<PERSON_2>", "<PERSON_3>"]
    assert v.lookup("c", "<PERSON_1>") is None
    assert v.lookup("c", "<PERSON_3>") == "name2"


def test_placeholders_anyone_types_number_at_most_a_bounded_set_of_labels_per_conversation() -> None:
    r = Redactor(config=RedactionConfig())
    v = r.vault
    typed = " ".join(f"<L{i:06d}_7>" for i in range(SEEDED_LABELS_MAX * 3)) + f" <{'X' * (SEEDED_LABEL_CHARS + 1)}_1>"
    r.seed(typed, conversation_id="c", numbering=Numbering())
    kept = [f"L{i:06d}" for i in range(SEEDED_LABELS_MAX * 3) if v.peek("c", f"L{i:06d}", "k")[1]]
    assert len(kept) == SEEDED_LABELS_MAX and v.peek("c", "X" * (SEEDED_LABEL_CHARS + 1), "k")[1] == 0
    # a standard label is numbered after a placeholder found, whatever was typed before
    r.seed("<PERSON_4>", conversation_id="c", numbering=Numbering())
    assert v.placeholder("c", "PERSON", "k2", "Joe", restorable=True) == "<PERSON_5>"


def test_vault_and_redactor_never_show_values_in_their_repr() -> None:
    r = redactor(reversible=True)
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    assert "Maria" not in repr(r) and "Maria" not in repr(r.vault)
    assert "Maria" not in repr(Secret("Maria")) and "Maria" not in str(Secret("Maria"))
    assert "Maria" not in repr(r.vault.__dict__)


def test_concurrent_redaction_in_one_conversation_numbers_each_value_once() -> None:
    r = redactor(reversible=True)
    names = [f"Person{i} Example" for i in range(20)]
    out: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        t = f"hello {name}"
        text = r.redact(t, [find(t, name, "PERSON")], stage=Stage.INPUT, conversation_id="shared").text
        with lock:
            out.append(text)

    threads = [threading.Thread(target=work, args=(n,)) for n in names * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    placeholders = {o.removeprefix("hello ") for o in out}
    assert placeholders == {f"<PERSON_{i}>" for i in range(1, 21)}
    restored = {r.restore(p, conversation_id="shared") for p in placeholders}
    assert restored == set(names)


def test_resolve_overlaps_keeps_containers_then_scores_and_is_sorted() -> None:
    from guardrails.pii.spans import resolve_overlaps

    def f(s: int, e: int, score: float, label: str = "X") -> Finding:
        return Finding(detector="pii", category=None, score=score, start=s, end=e, label=label)

    # (5, 20) contains (10, 14) and partly overlaps (18, 25): the three become their union, nothing left in clear
    kept = resolve_overlaps([f(10, 14, 0.9), f(5, 20, 0.5), f(18, 25, 0.8), f(30, 35, 0.4), f(0, 2, 0.1)])
    assert [(k.start, k.end) for k in kept] == [(0, 2), (5, 25), (30, 35)]
    # a container of lower score wins over everything it contains
    kept = resolve_overlaps([f(10, 14, 0.9), f(15, 18, 0.8), f(5, 20, 0.5)])
    assert [(k.start, k.end) for k in kept] == [(5, 20)]


def test_resolve_nested_keeps_what_a_container_holds_of_another_entity_unless_it_is_weaker() -> None:
    from guardrails.pii.spans import resolve_nested

    def f(s: int, e: int, score: float, label: str) -> Finding:
        return Finding(detector="pii", category=None, score=score, start=s, end=e, label=label)

    # kept inside the address: the SSN; absorbed: a weaker ID, a place of the same label, and a name (a street name)
    found = [f(5, 30, 0.75, "LOCATION"), f(20, 30, 0.9, "US_SSN"), f(8, 12, 0.5, "PHONE_NUMBER")]
    found += [f(14, 18, 0.95, "LOCATION"), f(6, 13, 0.9, "PERSON")]
    kept = resolve_nested([*found, f(40, 45, 0.6, "PERSON")])
    assert [(k.start, k.end, k.label) for k in kept] == [
        (5, 30, "LOCATION"),
        (20, 30, "US_SSN"),
        (40, 45, "PERSON"),
    ]


# ---------------------------------------------------------------- restoring through the output operators


def test_restored_values_are_masked_when_the_output_stage_masks_the_entity() -> None:
    r = redactor(reversible=True, output={"CREDIT_CARD": {"operator": "mask", "keep_last": 4}})
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    shown = r.restore("Your card <CREDIT_CARD_1> is saved, <PERSON_1>.", conversation_id="c")
    assert shown == "Your card **** **** **** 1111 is saved, Maria Lopez."


def test_restored_values_are_hashed_or_removed_when_the_output_stage_says_so() -> None:
    r = redactor(reversible=True, output={"EMAIL_ADDRESS": {"operator": "hash", "hash_chars": 8}, "PERSON": "redact"})
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    model_wrote = "maria@example.com"
    hashed = r.redact(
        model_wrote, [find(model_wrote, model_wrote, "EMAIL_ADDRESS")], stage=Stage.OUTPUT, conversation_id=None
    )
    assert r.restore("Hi <PERSON_1>, mail to <EMAIL_ADDRESS_1>", conversation_id="c") == f"Hi , mail to {hashed.text}"


def test_an_entity_the_output_stage_blocks_keeps_its_placeholder_instead_of_being_restored() -> None:
    r = redactor(reversible=True, output={"CREDIT_CARD": "block"})
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    shown = r.restore("Your card <CREDIT_CARD_1> is saved, <PERSON_1>.", conversation_id="c")
    assert shown == "Your card <CREDIT_CARD_1> is saved, Maria Lopez."


# ---------------------------------------------------------------- whose values are restorable


def test_values_that_are_not_the_users_own_are_never_restored() -> None:
    r = redactor(reversible=True)
    tool = "Customer 42: Maria Lopez"
    sent = r.redact(
        tool, [find(tool, "Maria Lopez", "PERSON")], stage=Stage.INPUT, conversation_id="c", restorable=False
    )
    assert sent.text == "Customer 42: <PERSON_1>"
    assert r.restore("<PERSON_1>", conversation_id="c") == "<PERSON_1>"


def test_a_value_becomes_restorable_once_the_user_gives_it_themselves() -> None:
    r = redactor(reversible=True)
    tool = "Customer 42: Maria Lopez"
    r.redact(tool, [find(tool, "Maria Lopez", "PERSON")], stage=Stage.INPUT, conversation_id="c", restorable=False)
    r.redact(TEXT, FINDINGS, stage=Stage.INPUT, conversation_id="c")
    assert r.restore("<PERSON_1>", conversation_id="c") == "Maria Lopez"


def test_redactions_within_a_scope_share_its_numbering_and_restorability() -> None:
    from guardrails.redaction import Numbering, redaction_scope

    r = redactor(reversible=True)
    one, two = "Ann Lee called", "Bo Chen called"
    turn = Numbering()
    with redaction_scope(turn, restorable=False):
        first = r.redact(one, [find(one, "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id=None)
        second = r.redact(two, [find(two, "Bo Chen", "PERSON")], stage=Stage.INPUT, conversation_id=None)
        kept = r.redact(two, [find(two, "Bo Chen", "PERSON")], stage=Stage.INPUT, conversation_id="c")
    assert (first.text, second.text) == ("<PERSON_1> called", "<PERSON_2> called")
    assert kept.text == "<PERSON_1> called" and r.restore("<PERSON_1>", conversation_id="c") == "<PERSON_1>"


def test_a_provisional_scope_numbers_as_the_vault_would_but_keeps_nothing() -> None:
    from guardrails.redaction import Numbering, redaction_scope

    r = redactor(reversible=True)
    r.redact("Ann Lee", [find("Ann Lee", "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id="c")
    t = "Bo Chen and Ann Lee"
    both = [find(t, "Bo Chen", "PERSON"), find(t, "Ann Lee", "PERSON")]
    with redaction_scope(Numbering(), provisional=True):
        provisional = r.redact(t, both, stage=Stage.INPUT, conversation_id="c")
    assert provisional.text == "<PERSON_2> and <PERSON_1>"
    assert r.vault.total_entries == 1 and r.restore("<PERSON_2>", conversation_id="c") == "<PERSON_2>"
    assert r.redact(t, both, stage=Stage.INPUT, conversation_id="c").text == "<PERSON_2> and <PERSON_1>"


@pytest.mark.parametrize("conversation_id", ["c", None], ids=["vault", "no-conversation"])
def test_new_values_are_numbered_after_placeholders_already_in_the_history(conversation_id: str | None) -> None:
    from guardrails.redaction import Numbering

    r = redactor()
    turn = Numbering()
    r.seed("Earlier answer: call <PERSON_2> or <EMAIL_ADDRESS_1>.", conversation_id=conversation_id, numbering=turn)
    t = "my friend is Ann Lee"
    result = r.redact(
        t, [find(t, "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id=conversation_id, numbering=turn
    )
    assert result.text == "my friend is <PERSON_3>"


@pytest.mark.parametrize("conversation_id", ["c", None], ids=["vault", "no-conversation"])
def test_a_placeholder_the_text_itself_holds_is_never_given_to_a_new_value(conversation_id: str | None) -> None:
    r = redactor(reversible=True)
    t = "Please write to <PERSON_1> about my friend Ann Lee."
    result = r.redact(t, [find(t, "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id=conversation_id)
    assert result.text == "Please write to <PERSON_1> about my friend <PERSON_2>."
    if conversation_id:
        assert r.restore("<PERSON_1> and <PERSON_2>", conversation_id=conversation_id) == "<PERSON_1> and Ann Lee"


def test_a_provisional_redaction_numbers_after_a_typed_placeholder_but_changes_no_vault() -> None:
    from guardrails.redaction import Numbering, redaction_scope

    r = redactor()
    t = "Ask <PERSON_3> about Ann Lee"
    with redaction_scope(Numbering(), provisional=True):
        assert r.redact(t, [find(t, "Ann Lee", "PERSON")], stage=Stage.INPUT, conversation_id="p").text == (
            "Ask <PERSON_3> about <PERSON_4>"
        )
    assert r.vault.peek("p", "PERSON", "anything") == (None, 0)


# ---------------------------------------------------------------- bounds


def test_default_vault_bounds_hold_at_most_a_hundred_thousand_entries_in_all() -> None:
    settings = RedactionConfig().vault
    assert settings.max_total_entries <= 100_000 and settings.max_entries <= 500
    assert redactor().vault.max_total_entries == settings.max_total_entries


def test_vault_keeps_at_most_max_total_entries_evicting_least_recently_used_conversations_whole() -> None:
    v = Vault(max_total_entries=4)
    for cid in ("a", "b"):
        for i in range(2):
            v.placeholder(cid, "PERSON", f"k{i}", f"{cid}{i}", restorable=True)
    v.lookup("a", "<PERSON_1>")  # b is now the least recently used
    v.placeholder("c", "PERSON", "k0", "c0", restorable=True)
    assert v.total_entries == 3 and len(v) == 2
    assert v.lookup("b", "<PERSON_1>") is None and v.lookup("b", "<PERSON_2>") is None
    assert v.lookup("a", "<PERSON_2>") == "a1" and v.lookup("c", "<PERSON_1>") == "c0"


def test_a_request_adds_at_most_max_new_entries_per_request_values_and_still_replaces_the_rest() -> None:
    r = redactor(reversible=True, vault={"max_new_entries_per_request": 2})
    t = "Ann Lee, Bo Chen, Cy Diaz and Ann Lee"
    names = [find(t, n, "PERSON") for n in ("Ann Lee", "Bo Chen", "Cy Diaz")] + [find(t, "Ann Lee", "PERSON", nth=1)]
    sent = r.redact(t, names, stage=Stage.INPUT, conversation_id="c")
    assert sent.text == "<PERSON_1>, <PERSON_2>, <PERSON_3> and <PERSON_1>"
    assert r.vault.total_entries == 2
    assert r.restore(sent.text, conversation_id="c") == "Ann Lee, Bo Chen, <PERSON_3> and Ann Lee"
    again = r.redact("Cy Diaz", [find("Cy Diaz", "Cy Diaz", "PERSON")], stage=Stage.INPUT, conversation_id="c")
    assert again.text == "<PERSON_4>"  # a new request; the number given past the cap is never given again


def test_mask_never_shows_half_or_more_of_the_letters_and_digits() -> None:
    r = redactor(input={"default": {"operator": "mask", "keep_last": 4}})
    shown = {
        value: r.redact(value, [find(value, value, label)], stage=Stage.INPUT, conversation_id=None).text
        for value, label in [
            ("Bob Smith", "PERSON"),
            ("jane@x.io", "EMAIL_ADDRESS"),
            ("Alice", "PERSON"),
            ("Al", "PERSON"),
            ("4111 1111 1111 1111", "CREDIT_CARD"),
            ("536-22-1234", "US_SSN"),
        ]
    }
    assert shown == {
        "Bob Smith": "*** **ith",
        "jane@x.io": "****@x.io",
        "Alice": "***ce",
        "Al": "**",
        "4111 1111 1111 1111": "**** **** **** 1111",
        "536-22-1234": "***-**-1234",
    }


def test_the_vault_keeps_a_digest_of_a_conversation_id_not_the_id() -> None:
    import sys

    vault = Vault()
    long_id = "c" * 200_000
    vault.placeholder(long_id, "PERSON", "k", "Jane Roe", restorable=True)
    assert vault.lookup(long_id, "<PERSON_1>") is not None
    assert vault.lookup("c" * 199_999, "<PERSON_1>") is None  # another id, another conversation
    assert all(sys.getsizeof(k) < 100 for k in vault._convs)  # the bound is the point
