"""The usage policy's categories, loaded from configs/taxonomy.yaml: the one source of truth."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from guardrails._paths import configs_dir
from guardrails._yaml import describe_yaml_error, load_strict
from guardrails.errors import TaxonomyError

Kind = Literal["prohibited", "crisis", "domain"]
KINDS: tuple[Kind, ...] = ("prohibited", "crisis", "domain")


@dataclass(frozen=True, slots=True)
class Category:
    """One policy category: a stable id, its kind and the clause it stands for."""

    id: str
    kind: Kind
    clause: str


class Taxonomy(Mapping[str, Category]):
    """An immutable mapping of category id to Category."""

    def __init__(self, categories: Iterable[Category], *, version: str = "") -> None:
        self._by_id: dict[str, Category] = {}
        for cat in categories:
            if cat.kind not in KINDS:
                raise TaxonomyError(f"category {cat.id!r} has unknown kind {cat.kind!r}; expected one of {KINDS}")
            if cat.id in self._by_id:
                raise TaxonomyError(f"category id {cat.id!r} is defined twice")
            self._by_id[cat.id] = cat
        self.version = version

    def __getitem__(self, key: str) -> Category:
        return self._by_id[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self, kind: Kind | None = None) -> tuple[str, ...]:
        """All ids, or those of one kind, in file order."""
        return tuple(c.id for c in self._by_id.values() if kind is None or c.kind == kind)

    def require(self, category_id: str, *, where: str = "") -> Category:
        """Return the category or raise TaxonomyError naming the unknown id."""
        try:
            return self._by_id[category_id]
        except KeyError:
            suffix = f" (in {where})" if where else ""
            raise TaxonomyError(f"unknown category id {category_id!r}{suffix}; not in the taxonomy") from None

    def extended(self, extra: Iterable[Category]) -> Taxonomy:
        """A new taxonomy with a profile's custom categories added."""
        return Taxonomy([*self._by_id.values(), *extra], version=self.version)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy YAML file (default: the shipped configs/taxonomy.yaml)."""
    if path is None:
        return _default_taxonomy()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return _load(configs_dir() / "taxonomy.yaml")


def _load(path: Path) -> Taxonomy:
    try:
        raw = load_strict(path.read_text(encoding="utf-8"), aliases=False)  # a key given twice is an error
    except (OSError, UnicodeDecodeError) as exc:
        raise TaxonomyError(f"{path}: cannot read taxonomy ({type(exc).__name__})") from None
    except yaml.YAMLError as exc:  # located, never quoted: PyYAML's message quotes the offending line
        raise TaxonomyError(f"{path}: cannot read taxonomy: {describe_yaml_error(exc)}") from None
    if not isinstance(raw, Mapping) or not isinstance(raw.get("categories"), list):
        raise TaxonomyError(f"{path}: expected a mapping with a 'categories' list")
    cats = []
    for i, item in enumerate(raw["categories"]):
        if not isinstance(item, Mapping) or not {"id", "kind", "clause"} <= set(item):
            raise TaxonomyError(f"{path}: categories[{i}] needs id, kind and clause")
        cats.append(Category(id=str(item["id"]), kind=item["kind"], clause=str(item["clause"])))
    return Taxonomy(cats, version=str(raw.get("version", "")))
