"""Every client selects every Job field, `owner` included, in each of its operations.

AppSync publishes to subscribers exactly what the triggering mutation selected, and onMyJobsUpdated's filter
reads `owner` from that selection: a client mutation without it would update the job yet reach no
onMyJobsUpdated subscriber. The Job field list is written in several clients; this holds them to the contract.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, build_schema, parse, validate

from jobcore.contract import contract_sdl

ROOT = Path(__file__).resolve().parents[2]


def contract_job_fields() -> set[str]:
    schema = build_schema(contract_sdl())
    return set(schema.type_map["Job"].fields)  # type: ignore[attr-defined]


def top_level(selection_set: object) -> set[str]:
    return {s.name.value for s in selection_set.selections if isinstance(s, FieldNode)}  # type: ignore[attr-defined]


def test_the_python_clients_fragment_selects_every_job_field_and_every_operation_uses_it() -> None:
    document = parse((ROOT / "client" / "operations" / "jobs.graphql").read_text())
    fragment = next(d for d in document.definitions if isinstance(d, FragmentDefinitionNode))
    assert fragment.type_condition.name.value == "Job"
    assert top_level(fragment.selection_set) == contract_job_fields()
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert {o.name.value for o in operations if o.name} >= {"ListJobs", "RetryJob", "OnMyJobsUpdated"}
    text = (ROOT / "client" / "operations" / "jobs.graphql").read_text()
    # Every operation that returns jobs selects them through the fragment (createUpload returns an Upload).
    returning_jobs = [o for o in operations if o.name and o.name.value != "CreateUpload"]
    assert text.count("...JobFields") == len(returning_jobs)


@pytest.mark.parametrize("path", ["web/src/jobs.ts", "tests/amplify/subscribe.mjs", "tests/amplify/mine.mjs"])
def test_javascript_clients_select_every_job_field(path: str) -> None:
    source = (ROOT / path).read_text()
    found = re.search(r"const JOB_FIELDS = `([^`]*)`", source)
    assert found, f"{path} defines no JOB_FIELDS"
    selection = parse("{ job(id: 1) { " + found.group(1) + " } }")
    job = selection.definitions[0].selection_set.selections[0]  # type: ignore[attr-defined]
    assert top_level(job.selection_set) == contract_job_fields()


def test_the_consoles_operations_validate_against_the_contract() -> None:
    schema = build_schema(contract_sdl())
    source = (ROOT / "web" / "src" / "jobs.ts").read_text()
    fields = re.search(r"const JOB_FIELDS = `([^`]*)`", source).group(1)  # type: ignore[union-attr]
    operations = re.findall(r"export const [A-Z_]+ = `((?:query|mutation|subscription)[^`]*)`", source)
    assert len(operations) == 6, operations  # submit, cancel, get, retry, list, onMyJobsUpdated
    for operation in operations:
        document = parse(operation.replace("${JOB_FIELDS}", fields))
        assert validate(schema, document) == [], operation
