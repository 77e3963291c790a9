"""Locale tags: which language and which country a BCP 47 tag or POSIX locale name names.

A locale picks the crisis resources of a country and the language of disclaimers. A
profile's locale is validated at load (:func:`parse_locale`); a request's locale that
names no real country gets the international directory and a logged warning.
"""

from __future__ import annotations

import re
from typing import Final

# ISO 639-1 language codes (current, not deprecated). A bare lowercase two-letter tag that
# is one of these is a language ("fr", "de", "it"), not a region, so it maps to no country.
ISO_639_1: Final = frozenset(
    [
        "aa",
        "ab",
        "ae",
        "af",
        "ak",
        "am",
        "an",
        "ar",
        "as",
        "av",
        "ay",
        "az",
        "ba",
        "be",
        "bg",
        "bh",
        "bi",
        "bm",
        "bn",
        "bo",
        "br",
        "bs",
        "ca",
        "ce",
        "ch",
        "co",
        "cr",
        "cs",
        "cu",
        "cv",
        "cy",
        "da",
        "de",
        "dv",
        "dz",
        "ee",
        "el",
        "en",
        "eo",
        "es",
        "et",
        "eu",
        "fa",
        "ff",
        "fi",
        "fj",
        "fo",
        "fr",
        "fy",
        "ga",
        "gd",
        "gl",
        "gn",
        "gu",
        "gv",
        "ha",
        "he",
        "hi",
        "ho",
        "hr",
        "ht",
        "hu",
        "hy",
        "hz",
        "ia",
        "id",
        "ie",
        "ig",
        "ii",
        "ik",
        "io",
        "is",
        "it",
        "iu",
        "ja",
        "jv",
        "ka",
        "kg",
        "ki",
        "kj",
        "kk",
        "kl",
        "km",
        "kn",
        "ko",
        "kr",
        "ks",
        "ku",
        "kv",
        "kw",
        "ky",
        "la",
        "lb",
        "lg",
        "li",
        "ln",
        "lo",
        "lt",
        "lu",
        "lv",
        "mg",
        "mh",
        "mi",
        "mk",
        "ml",
        "mn",
        "mr",
        "ms",
        "mt",
        "my",
        "na",
        "nb",
        "nd",
        "ne",
        "ng",
        "nl",
        "nn",
        "no",
        "nr",
        "nv",
        "ny",
        "oc",
        "oj",
        "om",
        "or",
        "os",
        "pa",
        "pi",
        "pl",
        "ps",
        "pt",
        "qu",
        "rm",
        "rn",
        "ro",
        "ru",
        "rw",
        "sa",
        "sc",
        "sd",
        "se",
        "sg",
        "si",
        "sk",
        "sl",
        "sm",
        "sn",
        "so",
        "sq",
        "sr",
        "ss",
        "st",
        "su",
        "sv",
        "sw",
        "ta",
        "te",
        "tg",
        "th",
        "ti",
        "tk",
        "tl",
        "tn",
        "to",
        "tr",
        "ts",
        "tt",
        "tw",
        "ty",
        "ug",
        "uk",
        "ur",
        "uz",
        "ve",
        "vi",
        "vo",
        "wa",
        "wo",
        "xh",
        "yi",
        "yo",
        "za",
        "zh",
        "zu",
    ]
)

#: ISO 3166-1 alpha-2: the 249 officially assigned country codes (as in the IANA time zone database's
#: iso3166.tab; a unit test compares the two where that file is installed). "UK", "EU" and the like are not.
ISO_3166_ALPHA2: Final = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
    IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
    ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a readable code list
)
#: user-assigned codes in general use for a country (Kosovo); like any country without resource data, its
#: crisis referrals use the international directory
_USER_ASSIGNED_COUNTRIES: Final = frozenset({"XK"})
#: the UN M.49 area codes of the IANA language subtag registry ("es-419": Latin American Spanish); they name
#: no country, so crisis referrals use the international directory
_UN_M49_AREAS: Final = frozenset(
    """
    001 002 003 005 009 011 013 014 015 017 018 019 021 029 030 034 035 039 053 054 057 061 142 143 145 150 151 154
    155 202 419
    """.split()  # noqa: SIM905 - a readable code list
)
#: country codes people write for another one
_COUNTRY_MEANT: Final = {"UK": "GB", "EL": "GR"}
#: withdrawn ISO 639 language codes and their current ones
_LANGUAGE_MEANT: Final = {"in": "id", "iw": "he", "ji": "yi", "jw": "jv", "mo": "ro"}

# A BCP 47 language tag (language, extended languages, script, region, variants, extensions, private use), the
# form of ``guardrails.resources`` after it has dropped a POSIX name's ".charset" and "@modifier" and read "_"
# as "-" (en_GB.UTF-8 -> en-GB).
_LOCALE_TAG = re.compile(
    r"(?P<language>[A-Za-z]{2,3})(?:-[A-Za-z]{3}){0,3}(?:-[A-Za-z]{4})?(?:-(?P<region>[A-Za-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(?:-[0-9A-WYZa-wyz](?:-[A-Za-z0-9]{2,8})+)*"
    r"(?:-[Xx](?:-[A-Za-z0-9]{1,8})+)?"
)
#: a POSIX locale name: the tag, then an optional ".charset" and "@modifier" (dropped, as at run time)
#: POSIX names of the C locale, with or without a charset ("C.UTF-8", common in containers)
_NO_COUNTRY_POSIX: Final = frozenset({"C", "POSIX"})
_POSIX = re.compile(r"(?P<tag>[^.@]*)(?:\.[A-Za-z0-9_-]+)?(?:@[A-Za-z0-9_=;-]+)?")
#: a region override: ICU's "@rg=gbzzzz" keyword (Apple writes "en_US@rg=gbzzzz"), BCP 47's "-u-rg-gbzzzz"
_REGION_OVERRIDE = re.compile(r"(?:[@;]rg=|-u(?:-[A-Za-z0-9]{2,8})*?-rg-)(?P<region>[A-Za-z]{2})zzzz(?![A-Za-z0-9])")


def parse_locale(value: str) -> tuple[str, str | None]:
    """(language, region) of a locale read as ``guardrails.resources`` reads it; language "" for a bare country.

    Raises ValueError unless the tag is well formed, a two-letter language is an ISO 639-1 code and the region,
    if any, is an ISO 3166-1 country (or Kosovo's XK) or a UN M.49 area. A country without resource data
    ("fr-CI") is fine: its referrals use the international directory by design.
    """
    value = value.strip()  # as at run time
    posix = _POSIX.fullmatch(value)
    if posix is not None and posix["tag"] in _NO_COUNTRY_POSIX:
        return "", None  # the C locale: no language, no country (referrals use the international directory)
    match = _LOCALE_TAG.fullmatch(posix["tag"].replace("_", "-")) if posix else None
    if match is None:
        raise ValueError(
            "not a locale: expected a BCP 47 tag such as 'en-GB' or 'zh-Hant-TW', or a POSIX name such as 'en_GB.UTF-8'"
        )
    language, region = match["language"], match["region"]
    override = _REGION_OVERRIDE.search(value)
    if override is not None and override["region"].upper() in ISO_3166_ALPHA2:
        region = override["region"]  # the region the user chose over the language's own (en-US with UK settings)
    lower_language = language.islower() and (language in ISO_639_1 or language in _LANGUAGE_MEANT)
    if region is None and len(language) == 2 and not lower_language:
        # a bare two-letter tag is a country unless it is a lower-case language code, as at run time ("GB", "fr");
        # a withdrawn one ("in", the old code of Indonesian; "mo") is a language too, refused below, not India or Macau
        language, region = "", language
    if len(language) == 2 and language.lower() not in ISO_639_1:
        meant = _LANGUAGE_MEANT.get(language.lower())
        hint = f"; did you mean {meant!r}?" if meant else ""
        raise ValueError(f"{language!r} is not an ISO 639-1 language code{hint}")
    if region is None:
        return language, None
    if region.isdigit():
        if region not in _UN_M49_AREAS:
            raise ValueError(f"{region!r} is not a UN M.49 area of the language subtag registry (such as 419)")
        return language, region
    code = region.upper()
    if code in ISO_3166_ALPHA2 or code in _USER_ASSIGNED_COUNTRIES:
        return language, code
    if code in _COUNTRY_MEANT:
        hint = f"; did you mean {_COUNTRY_MEANT[code]!r}?"
    elif code.lower() in ISO_639_1:
        hint = f" ({code.lower()!r} is a language code)"
    else:
        hint = ""
    raise ValueError(f"{code!r} is not an ISO 3166-1 country code{hint}")
