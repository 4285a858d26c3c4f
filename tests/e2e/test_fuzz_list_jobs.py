"""A thousand generated nextToken/limit values against the running server: each gets a well-formed
ValidationError, none reveals another caller's jobs, and the server keeps serving.

The attacker (alice) holds real tokens of her own and of the victim's (bob's) listing; the generated
tokens are garbage, edits of real tokens, the victim's tokens, tokens of other filters and splices of
them, each paired with a random limit and filter. Every one of them must be refused.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from support.server import LocalServer, token_for

SEED = 10_2026
COUNT = 1000
LIST = ("query($s: JobStatus, $t: String, $l: Int, $n: String) "
        "{ listJobs(status: $s, type: $t, limit: $l, nextToken: $n) { items { id owner } nextToken } }")
STATUSES = [None, "PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]
TYPES = [None, "echo", "sleep"]
B64 = string.ascii_letters + string.digits + "-_"


pytestmark = pytest.mark.local_server("--no-worker")


def post(session: requests.Session, server: LocalServer, token: str, variables: dict[str, Any]) -> requests.Response:
    return session.post(server.url, json={"query": LIST, "variables": variables},
                        headers={"authorization": token}, timeout=30)


def submit(session: requests.Session, server: LocalServer, token: str, job_type: str) -> dict[str, Any]:
    query = 'mutation($t: String!) { submitJob(input: {type: $t, payload: "{\\"seconds\\": 0}"}) { id owner createdAt } }'
    answer = session.post(server.url, json={"query": query, "variables": {"t": job_type}},
                          headers={"authorization": token}, timeout=30).json()
    return answer["data"]["submitJob"]  # type: ignore[no-any-return]


def valid_token(session: requests.Session, server: LocalServer, token: str, status: str | None, job_type: str | None) -> str:
    answer = post(session, server, token, {"s": status, "t": job_type, "l": 1}).json()
    issued = answer["data"]["listJobs"]["nextToken"]
    assert issued, answer
    return str(issued)


def _mutate(rng: random.Random, token: str) -> str:
    kind = rng.randrange(5)
    index = rng.randrange(len(token))
    if kind == 0:  # one character changed
        replacement = rng.choice([c for c in B64 + "." if c != token[index]])
        return token[:index] + replacement + token[index + 1:]
    if kind == 1:  # truncated
        return token[:index]
    if kind == 2:  # extended
        return token + "".join(rng.choices(B64, k=rng.randrange(1, 8)))
    if kind == 3:  # a character dropped
        return token[:index] + token[index + 1:]
    return token.upper() if token.upper() != token else token.lower()


def _garbage(rng: random.Random) -> str:
    alphabet = rng.choice([B64, B64 + ".", string.printable, "ÿ€🙂\u0000\ud7ff.", "."])
    return "".join(rng.choices(alphabet, k=rng.randrange(0, 700)))


@pytest.fixture(scope="module")
def world(server: LocalServer) -> dict[str, Any]:
    session = requests.Session()
    alice, bob = token_for("alice"), token_for("bob")
    alice_jobs = [submit(session, server, alice, t) for t in ("echo", "sleep") * 4]
    bob_jobs = [submit(session, server, bob, t) for t in ("echo", "sleep") * 4]
    tokens = {
        (who, status, job_type): valid_token(session, server, caller, status, job_type)
        for who, caller in (("alice", alice), ("bob", bob))
        for status, job_type in ((None, None), ("PENDING", None), (None, "echo"), ("PENDING", "sleep"))
    }
    return {"alice": alice, "bob": bob, "alice_jobs": alice_jobs, "bob_jobs": bob_jobs, "tokens": tokens}


def cases(world: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, variables) of a request alice sends, each one invalid by construction."""
    rng = random.Random(SEED)
    tokens: dict[tuple[str, str | None, str | None], str] = world["tokens"]
    own = {k: v for k, v in tokens.items() if k[0] == "alice"}
    theirs = {k: v for k, v in tokens.items() if k[0] == "bob"}

    def filters() -> tuple[str | None, str | None]:
        return rng.choice(STATUSES), rng.choice(TYPES)

    def limit() -> int | None:
        return rng.choice([None, None, rng.randrange(1, 101)])

    def bad_limit() -> int:
        return rng.choice([0, -1, 101, rng.randrange(-2**31, 1), rng.randrange(101, 2**31)])

    def edited() -> tuple[str, dict[str, Any]]:
        key, value = rng.choice(sorted(own.items(), key=str))
        return "edited own token", {"s": key[1], "t": key[2], "l": limit(), "n": _mutate(rng, value)}

    def victims() -> tuple[str, dict[str, Any]]:
        key, value = rng.choice(sorted(theirs.items(), key=str))
        return "the victim's token", {"s": key[1], "t": key[2], "l": limit(), "n": value}

    def other_filters() -> tuple[str, dict[str, Any]]:
        key, value = rng.choice(sorted(own.items(), key=str))
        status, job_type = filters()
        while (status, job_type) == key[1:]:
            status, job_type = filters()
        return "own token, other filters", {"s": status, "t": job_type, "l": limit(), "n": value}

    def spliced() -> tuple[str, dict[str, Any]]:
        (key, mine), (_, victim) = rng.choice(sorted(own.items(), key=str)), rng.choice(sorted(theirs.items(), key=str))
        parts = [mine.split("."), victim.split(".")]
        rng.shuffle(parts)
        token = parts[0][0] + "." + parts[1][1]
        if token == mine:
            token = victim.split(".")[0] + "." + mine.split(".")[1]
        return "spliced tokens", {"s": key[1], "t": key[2], "l": limit(), "n": token}

    def garbage() -> tuple[str, dict[str, Any]]:
        status, job_type = filters()
        return "garbage token", {"s": status, "t": job_type, "l": limit(), "n": _garbage(rng)}

    def limits() -> tuple[str, dict[str, Any]]:
        status, job_type = filters()
        key = ("alice", status, job_type)
        return "limit out of range", {"s": status, "t": job_type, "l": bad_limit(), "n": rng.choice([None, own.get(key)])}

    generators: list[Callable[[], tuple[str, dict[str, Any]]]] = [edited, victims, other_filters, spliced, garbage, limits]
    for _ in range(COUNT):
        yield rng.choice(generators)()


def test_a_thousand_bad_tokens_and_limits_are_refused_and_leak_nothing(server: LocalServer, world: dict[str, Any]) -> None:
    session = requests.Session()
    secrets = {job["id"] for job in world["bob_jobs"]} | {world["bob_jobs"][0]["owner"]}
    seen: dict[str, int] = {}
    messages: set[str] = set()
    for description, variables in cases(world):
        response = post(session, server, world["alice"], variables)
        assert response.status_code == 200, (description, variables, response.text[:300])
        body = response.json()
        assert body.get("data") is None, (description, variables, body)
        errors = body["errors"]
        assert len(errors) == 1 and errors[0]["errorType"] == "ValidationError", (description, variables, errors)
        assert errors[0]["message"], (description, variables)
        leaked = [s for s in secrets if s in response.text]
        assert not leaked, (description, variables)
        seen[description] = seen.get(description, 0) + 1
        messages.add(errors[0]["message"])
    assert sum(seen.values()) == COUNT
    # Two answers only, whatever was wrong: nothing about why a token failed, or whose it was.
    assert messages == {"Invalid nextToken", "limit must be between 1 and 100"}, messages
    assert len(seen) == 6, seen  # every kind of bad input was tried

    # Still serving, and still right: alice's own listing, page by page, none of bob's.
    listed: list[dict[str, Any]] = []
    token = None
    for _ in range(20):
        page = post(session, server, world["alice"], {"l": 3, "n": token}).json()["data"]["listJobs"]
        listed.extend(page["items"])
        token = page["nextToken"]
        if token is None:
            break
    newest_first = sorted(world["alice_jobs"], key=lambda j: (j["createdAt"], j["id"]), reverse=True)
    assert [j["id"] for j in listed] == [j["id"] for j in newest_first]
    assert json.dumps(listed).count(world["bob_jobs"][0]["owner"]) == 0


@pytest.mark.parametrize("limit", [7, 100])
def test_250_jobs_page_by_page_over_http_each_exactly_once(server: LocalServer, world: dict[str, Any], limit: int) -> None:
    """The same walk a client makes: 250 of one user's jobs, every page over the socket, newest first."""
    session = requests.Session()
    carol = token_for(f"carol-{limit}")
    submitted = [submit(session, server, carol, "echo") for _ in range(250)]
    # Newest first; jobs created in the same millisecond come in descending id order.
    expected = [j["id"] for j in sorted(submitted, key=lambda j: (j["createdAt"], j["id"]), reverse=True)]
    listed: list[str] = []
    token = None
    for _ in range(300):
        page = post(session, server, carol, {"l": limit, "n": token}).json()["data"]["listJobs"]
        assert len(page["items"]) <= limit
        listed.extend(j["id"] for j in page["items"])
        token = page["nextToken"]
        if token is None:
            break
    assert listed == expected
    assert len(set(listed)) == 250
    # Nobody else's: alice's and bob's jobs exist on this server too.
    assert not set(listed) & {j["id"] for j in world["alice_jobs"] + world["bob_jobs"]}
