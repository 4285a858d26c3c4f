"""A thousand generated bad GraphQL requests against the running server: each gets a well-formed AppSync
error with an errorType, the server keeps serving, and no job is created."""

from __future__ import annotations

import json
import random
import sqlite3
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from support.server import API_KEY, LocalServer

SEED = 7_2026
COUNT = 1000
SUBMIT = "mutation($i: SubmitJobInput!) { submitJob(input: $i) { id status } }"

Request = tuple[bytes, dict[str, str]]


def _body(query: Any, variables: Any = None, **extra: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables, **extra}).encode()


def _nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _submit(rng: random.Random, **overrides: Any) -> bytes:
    job_input: dict[str, Any] = {"type": "echo"}
    job_input.update(overrides)
    return _body(SUBMIT, {"i": job_input})


def _generators() -> list[Callable[[random.Random], bytes]]:
    words = ["query", "mutation", "{", "}", "(", ")", "job", "submitJob", "id:", '"x"', "$", "...", "on", "@", "!", "[", "]"]
    return [
        lambda r: bytes(r.randrange(256) for _ in range(r.randrange(1, 200))),  # not JSON at all
        lambda r: json.dumps(r.choice([[], 1, None, "query", True, [{"query": "{ job }"}]])).encode(),
        lambda r: _body(r.choice([None, 1, [], {"q": 1}])),  # query is not a string
        lambda r: _body("{ job(id: \"1\") { id } }", r.choice([[], "vars", 3])),  # variables not an object
        lambda r: _body(" ".join(r.choice(words) for _ in range(r.randrange(1, 40)))),  # token soup
        lambda r: _body("{ " + "".join(r.choices(string.ascii_letters, k=8)) + " }"),  # unknown field
        lambda r: _body("{ job(id: 1.5) { id } }"),
        lambda r: _body("{ job { id } }"),  # missing argument
        lambda r: _submit(r, type="t" + "".join(r.choices(string.ascii_lowercase, k=6))),  # unknown task type
        lambda r: _submit(r, payload="{" + "".join(r.choices(string.printable, k=20))),  # malformed AWSJSON
        lambda r: _submit(r, payload={"inline": "object"}),  # AWSJSON that is not a string
        lambda r: _submit(r, payload=_nested_json(r.randrange(33, 20_000))),  # deeply nested AWSJSON
        lambda r: _submit(r, payload=json.dumps("x" * r.randrange(100_001, 400_000))),  # over the size limit
        lambda r: _submit(r, type="x" * r.randrange(129, 5000)),  # over-long string
        lambda r: _submit(r, idempotencyKey="k" * r.randrange(257, 5000)),
        lambda r: _submit(r, type=r.choice([1, None, [], {"a": 1}, True])),  # wrong types
        lambda r: _submit(r, type="sleep", payload=json.dumps({"seconds": r.choice([-1, "x", 10**9])})),  # schema
        lambda r: _body("{ job(id: \"1\") " + "{ id " * r.randrange(20, 3000) + "}" * r.randrange(1, 50)),
        lambda r: _body("{ " + " ".join(f"a{i}: job(id: \"{i}\") {{ id }}" for i in range(r.randrange(100, 3000))) + " }"),
        lambda r: _body("{ __typename }" + " " * r.randrange(70_000, 200_000)),  # huge document
        lambda r: _body('mutation { updateJob(input: {id: "x", status: SUCCEEDED, leaseToken: "t"}) { id } }'),
        lambda r: _body('subscription { onJobUpdated(id: "x") { id } }'),
        lambda r: _body("query A { __typename } query B { __typename }", None, operationName=r.choice([None, "C", 5])),
        lambda r: _body(SUBMIT),  # missing variables
        lambda r: _body(SUBMIT, {"i": {"type": "echo", "payload": "1", "extra": r.randrange(9)}}),  # unknown input field
        lambda r: b"{" * r.randrange(1000, 100_000),  # nested garbage body
    ]


def _requests(count: int) -> Iterator[tuple[int, Request]]:
    rng = random.Random(SEED)
    generators = _generators()
    for index in range(count):
        generator = generators[index % len(generators)] if index < len(generators) else rng.choice(generators)
        yield index, (generator(rng), {"x-api-key": API_KEY, "content-type": "application/json"})


def _assert_well_formed(index: int, response: requests.Response) -> None:
    context = f"request #{index}: HTTP {response.status_code} {response.text[:300]}"
    assert response.status_code in (200, 400, 401, 413), context
    body = response.json()
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, context
    for error in errors:
        assert isinstance(error.get("message"), str) and error["message"], context
        assert isinstance(error.get("errorType"), str) and error["errorType"], context
    if response.status_code == 200:
        data = body.get("data")
        assert data is None or all(value is None for value in data.values()), context


pytestmark = pytest.mark.local_server("--no-worker")


def test_a_thousand_bad_requests_get_clear_errors_and_change_nothing(server: LocalServer) -> None:
    session = requests.Session()
    for index, (body, headers) in _requests(COUNT):
        response = session.post(server.url, data=body, headers=headers, timeout=30)
        _assert_well_formed(index, response)
    assert session.get(f"http://127.0.0.1:{server.port}/health", timeout=5).status_code == 200
    with sqlite3.connect(server.data_dir / "jobs.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM jobs").fetchone() == (0,)
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone() == (0,)
    assert server.process.poll() is None


def test_the_server_still_accepts_good_requests_after_the_fuzz(server: LocalServer) -> None:
    response = requests.post(server.url, data=_submit(random.Random(1)),
                             headers={"x-api-key": API_KEY, "content-type": "application/json"}, timeout=10)
    assert response.json()["data"]["submitJob"]["status"] == "PENDING"
