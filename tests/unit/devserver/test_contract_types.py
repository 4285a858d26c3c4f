"""The local server's output types are the contract's, not a hand-written copy."""

from __future__ import annotations

import pytest
from graphql import build_schema

from devserver.graphql import contract_types, schema
from jobcore.contract import contract_sdl


@pytest.mark.parametrize("name", ["Job", "JobError", "Artifact", "JobConnection", "Upload"])
def test_each_output_type_is_built_from_schema_graphql_with_its_fields(name: str) -> None:
    served = getattr(schema, name)
    assert served.__module__ == contract_types.__name__  # built, not written out in schema.py
    fields = {f.name for f in served.__strawberry_definition__.fields}
    assert fields == set(build_schema(contract_sdl()).type_map[name].fields)  # type: ignore[attr-defined]


def test_field_descriptions_travel_with_the_fields() -> None:
    progress = next(f for f in schema.Job.__strawberry_definition__.fields if f.name == "progress")
    assert progress.description == build_schema(contract_sdl()).type_map["Job"].fields["progress"].description  # type: ignore[attr-defined]


def test_a_type_must_come_after_the_types_it_refers_to() -> None:
    with pytest.raises(TypeError, match="build JobError before"):
        contract_types.output_types("Job", enums={"JobStatus": schema.JobStatus})


def test_only_object_types_can_be_built() -> None:
    with pytest.raises(TypeError, match="not an object type"):
        contract_types.output_types("JobStatus", enums={})
