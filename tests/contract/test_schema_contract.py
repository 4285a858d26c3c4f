"""schema.graphql is the only contract: the local server, the field table and the client are held to it."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes, find_dangerous_changes, parse, validate

from devserver.auth.auth_rules import AuthRules
from devserver.graphql.schema import schema as strawberry_schema
from devserver.graphql.strawberry_internals import graphql_schema
from jobcore.auth import AuthMode
from jobcore.contract import APPSYNC_PRELUDE, contract_sdl
from resolvers.handler import app

ROOT = Path(__file__).resolve().parents[2]


def contract():  # type: ignore[no-untyped-def]
    return build_schema(contract_sdl())


def local():  # type: ignore[no-untyped-def]
    return graphql_schema(strawberry_schema)


def _api_changes(changes: list) -> list:  # type: ignore[type-arg]
    # AppSync's built-in scalars and directives exist implicitly on AppSync, not in strawberry's SDL.
    builtin = {"AWSDate", "AWSTime", "AWSTimestamp", "AWSEmail", "AWSURL", "AWSPhone", "AWSIPAddress"}
    return [c for c in changes if not c.description.startswith(("Directive @aws_", *builtin))]


def test_the_local_server_serves_exactly_the_contract() -> None:
    assert _api_changes(find_breaking_changes(contract(), local())) == []
    assert find_breaking_changes(local(), contract()) == []
    assert find_dangerous_changes(contract(), local()) == []


def test_every_root_field_has_one_lambda_resolver() -> None:
    schema = contract()
    # Subscription fields too: their resolver is the subscribe-time ownership check.
    root_fields = {
        (root.name, f)
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
        for f in root.fields
    }
    registered = {(type_name, field) for (type_name, field) in _resolver_keys()}
    assert registered == root_fields


def _resolver_keys() -> set[tuple[str, str]]:
    keys = set()
    for key in app._resolver_registry.resolvers:
        type_name, field = key.split(".")
        keys.add((type_name, field))
    return keys


def test_client_operations_validate_against_the_contract() -> None:
    document = parse((ROOT / "client" / "operations" / "jobs.graphql").read_text())
    assert validate(contract(), document) == []


def test_worker_update_selects_every_job_field() -> None:
    from jobcore.documents import UPDATE_JOB

    document = parse(UPDATE_JOB)
    assert validate(contract(), document) == []
    selected = {s.name.value for s in document.definitions[0].selection_set.selections[0].selection_set.selections}  # type: ignore[attr-defined]
    assert selected == set(contract().type_map["Job"].fields)  # type: ignore[attr-defined]


def test_auth_rules_follow_appsync_multi_auth() -> None:
    rules = AuthRules.from_contract()
    assert not rules.permits(AuthMode.API_KEY, "Mutation", "updateJob")
    assert rules.permits(AuthMode.AWS_IAM, "Mutation", "updateJob")
    assert rules.permits(AuthMode.API_KEY, "Job", "status")
    assert rules.permits(AuthMode.AWS_IAM, "Job", "status")
    # A field with no directive on a type with none is reachable by the default mode only.
    sdl = APPSYNC_PRELUDE + "type Query { open: Int }"
    bare = AuthRules.from_contract(sdl)
    assert bare.permits(AuthMode.API_KEY, "Query", "open")
    assert not bare.permits(AuthMode.AWS_IAM, "Query", "open")


def test_the_local_server_publishes_each_mutation_where_aws_subscribe_says() -> None:
    """AppSync fans a mutation out to every subscription listing it in @aws_subscribe; the local server
    reads the same directive, so submitJob reaches onMyJobsUpdated but not onJobUpdated."""
    from devserver.graphql.schema import subscriptions_by_mutation

    published = subscriptions_by_mutation()
    assert published == {
        "submitJob": ("onMyJobsUpdated",),
        "updateJob": ("onJobUpdated", "onMyJobsUpdated"),
        "cancelJob": ("onJobUpdated", "onMyJobsUpdated"),
        "retryJob": ("onJobUpdated", "onMyJobsUpdated"),
    }
    mutation_type = contract().mutation_type
    assert mutation_type is not None
    assert set(published) <= set(mutation_type.fields)


def test_on_my_jobs_updated_takes_no_argument_a_client_could_set() -> None:
    subscription_type = contract().subscription_type
    assert subscription_type is not None
    assert subscription_type.fields["onMyJobsUpdated"].args == {}
    assert "owner" in contract().type_map["Job"].fields  # type: ignore[attr-defined]
