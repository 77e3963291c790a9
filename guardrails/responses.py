"""What the user sees: refusal and disclaimer texts (data in configs/responses/).

Crisis referrals are built by :mod:`guardrails.resources` from the per-country
resource files; this module only picks the text and formats it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import yaml

from guardrails._paths import configs_dir
from guardrails.taxonomy import Taxonomy


@lru_cache(maxsize=1)
def _refusals() -> dict[str, str]:
    data = _load("refusals.yaml")
    table = data.get("refusals")
    if not isinstance(table, dict) or "default" not in table:
        raise ValueError(f"{configs_dir() / 'responses' / 'refusals.yaml'}: expected refusals.default")
    return {str(k): str(v) for k, v in table.items()}


@lru_cache(maxsize=1)
def _disclaimers() -> dict[str, Any]:
    return _load("disclaimers.yaml")


def _load(name: str) -> dict[str, Any]:
    path = configs_dir() / "responses" / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def plain_area(category: str, taxonomy: Taxonomy) -> str:
    """The policy area in plain words, from the taxonomy clause."""
    cat = taxonomy.get(category)
    if cat is None:
        return category.replace("_", " ")
    clause = cat.clause.split(":")[-1].strip()
    return clause[:1].lower() + clause[1:]


def refusal(
    categories: Iterable[str],
    *,
    taxonomy: Taxonomy,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The refusal for the first category (in taxonomy order) that blocked the turn."""
    overrides = overrides or {}
    table = _refusals()
    ordered = [c for c in taxonomy if c in set(categories)]
    for cat in ordered:
        if cat in overrides:
            return overrides[cat]
        if cat in table:
            return table[cat]
    area = plain_area(ordered[0], taxonomy) if ordered else "a restricted area"
    template = overrides.get("default", table["default"])
    return template.replace("{area}", area)


def special_refusal(key: str, **fields: str) -> str:
    """A refusal that is not about a category: ``pii_blocked``, ``detector_error``, ``unsupported_language``."""
    text = _refusals()[key]
    for name, value in fields.items():
        text = text.replace("{" + name + "}", value)
    return text


def disclaimer(category: str, *, language: str = "en", markdown: bool = False) -> str | None:
    """The AI-use disclaimer for a category, in ``language`` (falling back to English); a category with no text
    of its own (a custom domain, a category whose action is ``disclaim``) gets the ``default`` one, so a DISCLAIM
    decision always carries a disclaimer."""
    data = _disclaimers()
    by_lang = data.get("disclaimers", {})
    lang = (language or "en").split("-")[0].lower()
    found = next(
        (
            (where, by_lang[where][key])
            for where, key in ((lang, category), ("en", category), (lang, "default"), ("en", "default"))
            if by_lang.get(where, {}).get(key)
        ),
        None,
    )
    if found is None:
        return None
    where, text = found
    if markdown:  # the prefix in the language of the text it goes with
        prefixes = data.get("markdown_prefix", {})
        return str(prefixes.get(where) or prefixes.get("en", "")) + str(text)
    return str(text)


def disclaimer_languages() -> tuple[str, ...]:
    """The languages the shipped disclaimer texts are written in."""
    return tuple(sorted(_disclaimers().get("disclaimers", {})))
