"""YAML for hand-written config: errors that point at the place, not at the content, and no silent duplicates."""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["describe_yaml_error", "load_strict"]


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``invalid YAML at line L, column C: <problem>``, without PyYAML's quote of the offending text (a mistyped
    path may name a file of user data)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (plain YAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base": its keys may be overridden on purpose
                continue
            if not isinstance(key_node, yaml.ScalarNode):  # "? [a, b]": a list (or mapping) cannot be a key
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a mapping key must be a scalar (a name, a number or true/false), not a list or a mapping",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        _refuse_yaml11_number(node)
        return super().construct_yaml_int(node)  # type: ignore[no-untyped-call,no-any-return]

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        _refuse_yaml11_number(node)
        return super().construct_yaml_float(node)  # type: ignore[no-untyped-call,no-any-return]


#: YAML 1.1 number forms that YAML 1.2 (and every reader of a config) takes for something else: a leading zero is
#: octal ("010" is 8), a colon is base 60 ("1:30" is 90), "0b" is binary
_YAML11_NUMBER = re.compile(r"^[-+]?(?:0[0-9_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)$")


def _refuse_yaml11_number(node: yaml.ScalarNode) -> None:
    if _YAML11_NUMBER.match(str(node.value)):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "a number with a leading zero, a colon or 0b is read as octal, base 60 or binary by YAML 1.1: "
            "write it in plain decimal (or quote it if it is text)",
            node.start_mark,
        )


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)


# YAML 1.2 reads "1e-1" as a float; PyYAML's YAML 1.1 rules need a dot ("1.0e-1") and read it as a string, which
# a strict config would then refuse as a quoted number although nobody quoted it
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


class _PlainLoader(_StrictLoader):
    """A strict loader that also refuses anchors and aliases: each alias is a reference, and every walk over the
    loaded value expands it again, so a few hundred bytes of nested aliases make billions of nodes."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML anchors and aliases (&name, *name) are not supported: write the values out",
                event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[no-untyped-call,no-any-return]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # without anchors, "<<:" only hides a second value
                raise yaml.constructor.ConstructorError(
                    None, None, "YAML merge keys (<<:) are not supported: write the values out", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def load_strict(text: str, *, aliases: bool = True) -> Any:
    """``yaml.safe_load`` that also refuses duplicate keys and keys that are lists or mappings; with
    ``aliases=False`` it refuses anchors and aliases too (a ``yaml.YAMLError`` at their place)."""
    loader = _StrictLoader if aliases else _PlainLoader
    return yaml.load(text, Loader=loader)  # a SafeLoader subclass: no arbitrary objects
