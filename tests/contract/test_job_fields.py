"""The Job field list has one source: ``type Job`` in schema.graphql.

The selections that spell it out (the worker's updateJob, the Python client's JobFields fragment, the
console's and the Amplify scripts' JOB_FIELDS) are generated from it by ``tools/job_fields.py``; the
typed mirrors (``jobcore.wire``'s shapes, the client's dataclasses) are held to it here, and the local
server's strawberry types by test_schema_contract's schema comparison.

Why every field, everywhere: AppSync publishes to subscribers exactly what the triggering mutation
selected, and onMyJobsUpdated's filter reads ``owner`` from that selection, so a selection without a
field hands subscribers a partial job, or (without ``owner``) reaches no onMyJobsUpdated subscriber.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from graphql import FieldNode, GraphQLObjectType, OperationDefinitionNode, build_schema, get_named_type, parse, validate

from client import models
from jobcore import wire
from jobcore.contract import contract_sdl, schema_path
from tools import job_fields

ROOT = Path(__file__).resolve().parents[2]


def contract_fields(type_name: str) -> list[str]:
    return list(build_schema(contract_sdl()).type_map[type_name].fields)  # type: ignore[attr-defined]


def test_every_job_field_selection_is_generated_from_the_schema() -> None:
    assert job_fields.stale() == [], "run: python -m tools.job_fields"


def test_the_generated_selection_is_every_field_of_job_and_of_the_types_it_holds() -> None:
    selection = parse("{ job(id: 1) {" + "".join(f" {t}" for t in job_fields.selection_terms()) + " } }")
    job = selection.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    schema = build_schema(contract_sdl())

    def check(node: Any, object_type: GraphQLObjectType) -> None:
        selected = [s for s in node.selection_set.selections if isinstance(s, FieldNode)]
        assert [s.name.value for s in selected] == list(object_type.fields)
        for field in selected:
            named = get_named_type(object_type.fields[field.name.value].type)
            if isinstance(named, GraphQLObjectType):
                check(field, named)

    check(job, schema.type_map["Job"])  # type: ignore[arg-type]


def test_a_field_added_to_the_schema_makes_every_selection_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for target in job_fields.TARGETS:
        (tmp_path / target.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / target.path, tmp_path / target.path)
    grown = tmp_path / "schema.graphql"
    grown.write_text(schema_path().read_text().replace("  owner: String!\n", "  owner: String!\n  priority: Int\n", 1))
    monkeypatch.setenv("APPSYNC_JOBS_SCHEMA", str(grown))
    assert job_fields.stale(tmp_path) == [t.path for t in job_fields.TARGETS]


def test_every_operation_of_the_python_client_spreads_the_fragment() -> None:
    text = (ROOT / "client" / "operations" / "jobs.graphql").read_text()
    operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    assert {o.name.value for o in operations if o.name} >= {"ListJobs", "RetryJob", "OnMyJobsUpdated"}
    # Every operation that returns jobs selects them through the fragment (createUpload returns an Upload).
    returning_jobs = [o for o in operations if o.name and o.name.value != "CreateUpload"]
    assert text.count("...JobFields") == len(returning_jobs)


def test_the_consoles_operations_validate_against_the_contract() -> None:
    schema = build_schema(contract_sdl())
    source = (ROOT / "web" / "src" / "jobs.ts").read_text()
    fields = re.search(r"const JOB_FIELDS = `([^`]*)`", source).group(1)  # type: ignore[union-attr]
    operations = re.findall(r"export const [A-Z_]+ = `((?:query|mutation|subscription)[^`]*)`", source)
    assert len(operations) == 6, operations  # submit, cancel, get, retry, list, onMyJobsUpdated
    for operation in operations:
        document = parse(operation.replace("${JOB_FIELDS}", fields))
        assert validate(schema, document) == [], operation


@pytest.mark.parametrize(
    ("shape", "type_name"),
    [(wire.JobShape, "Job"), (wire.ArtifactShape, "Artifact"), (wire.JobErrorShape, "JobError")],
)
def test_the_resolvers_wire_shapes_have_exactly_the_contracts_fields(shape: type, type_name: str) -> None:
    assert list(shape.__annotations__) == contract_fields(type_name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize(
    ("model", "type_name"), [(models.Job, "Job"), (models.Artifact, "Artifact"), (models.JobError, "JobError")]
)
def test_the_python_clients_models_have_exactly_the_contracts_fields(model: type, type_name: str) -> None:
    assert {f.name for f in dataclasses.fields(model)} == {_snake(f) for f in contract_fields(type_name)}
