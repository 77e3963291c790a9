"""A withdrawn ISO 639 language code ("in", the old code of Indonesian) is a language, never a country."""

from __future__ import annotations

import pytest

from guardrails.errors import ProfileError
from guardrails.locales import parse_locale
from guardrails.profiles import validate_profile_mapping

WITHDRAWN = [("in", "id"), ("iw", "he"), ("ji", "yi"), ("jw", "jv"), ("mo", "ro")]


@pytest.mark.parametrize(("old", "current"), WITHDRAWN, ids=[old for old, _ in WITHDRAWN])
def test_a_bare_withdrawn_language_code_is_refused_with_its_current_code_not_read_as_a_country(
    old: str, current: str
) -> None:
    with pytest.raises(ValueError, match=rf"'{old}' is not an ISO 639-1 language code; did you mean '{current}'"):
        parse_locale(old)
    with pytest.raises(ProfileError, match=rf"did you mean '{current}'"):
        validate_profile_mapping({"name": "p", "extends": "general", "locale": old})


def test_the_same_letters_in_upper_case_still_name_the_country() -> None:
    assert parse_locale("IN") == ("", "IN")
    assert parse_locale("MO") == ("", "MO")
