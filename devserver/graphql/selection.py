"""Selection sets as AppSync sees them: ``selectionSetList`` for resolver events, and the
projection that makes a subscriber receive only what the triggering mutation selected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    print_ast,
)

#: Nested field names selected under a field: {"id": {}, "error": {"type": {}, "message": {}}}.
Selection = dict[str, "Selection"]


def selection_of(field: FieldNode, fragments: Mapping[str, FragmentDefinitionNode]) -> Selection:
    return _collect(field.selection_set, fragments) if field.selection_set else {}


def _collect(selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]) -> Selection:
    out: Selection = {}
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            child = _collect(node.selection_set, fragments) if node.selection_set else {}
            _merge(out.setdefault(node.name.value, {}), child)
        elif isinstance(node, InlineFragmentNode):
            _merge(out, _collect(node.selection_set, fragments))
        elif isinstance(node, FragmentSpreadNode) and node.name.value in fragments:
            _merge(out, _collect(fragments[node.name.value].selection_set, fragments))
    return out


def _merge(into: Selection, other: Selection) -> None:
    for name, child in other.items():
        _merge(into.setdefault(name, {}), child)


def selection_set_list(selection: Selection, prefix: str = "") -> list[str]:
    """AppSync's ``info.selectionSetList``: every selected path below the field, ``/``-separated."""
    paths: list[str] = []
    for name, child in selection.items():
        if name.startswith("__"):
            continue
        path = f"{prefix}{name}"
        paths.append(path)
        paths.extend(selection_set_list(child, path + "/"))
    return paths


def selection_set_graphql(field: FieldNode) -> str:
    return print_ast(field.selection_set) if field.selection_set else ""


def project(value: Any, selection: Selection) -> Any:
    """Keep only the selected fields (others become null), as AppSync publishes a mutation's response."""
    if not selection or value is None:
        return value
    if isinstance(value, list):
        return [project(item, selection) for item in value]
    if not isinstance(value, Mapping):
        return value
    return {name: project(value.get(name), child) for name, child in selection.items()}
