"""Write the Job field selection, derived from ``schema.graphql``, into every place that spells it out.

Every client and the worker select *every* Job field: AppSync publishes to subscribers exactly what
the triggering mutation selected, and onMyJobsUpdated's filter reads ``owner`` from that selection,
so a field missing from one selection reaches subscribers as null or not at all. The list is derived
from ``type Job`` (object-typed fields expanded to all of their fields) and written into:

- ``jobcore/documents.py`` (``JOB_FIELDS``, the worker's and reaper's ``updateJob``),
- ``client/operations/jobs.graphql`` (the ``JobFields`` fragment every operation spreads),
- ``web/src/jobs.ts`` and ``tests/amplify/operations.mjs`` (``JOB_FIELDS``).

Generated and checked in, not derived at import: a deployed Lambda would need the schema file and
graphql-core's ``build_schema`` (tens of ms on top of importing graphql-core) on every cold start to
produce a constant. ``tests/contract/test_job_fields.py`` fails when a file drifts from the schema.

    python -m tools.job_fields          # rewrite the files
    python -m tools.job_fields --check  # list the stale ones, exit 1 if any
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLObjectType, build_schema, get_named_type, parse, print_ast

from jobcore.contract import contract_sdl

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 110


def selection_terms(type_name: str = "Job") -> list[str]:
    """``type Job``'s fields in schema order, an object-typed one as ``name { its fields }``."""
    schema = build_schema(contract_sdl())

    def terms(object_type: GraphQLObjectType) -> list[str]:
        out = []
        for name, definition in object_type.fields.items():
            named = get_named_type(definition.type)
            out.append(f"{name} {{ {' '.join(terms(named))} }}" if isinstance(named, GraphQLObjectType) else name)
        return out

    root = schema.type_map[type_name]
    assert isinstance(root, GraphQLObjectType)
    return terms(root)


def wrapped(terms: list[str]) -> str:
    """The terms on lines of at most ``WIDTH`` characters, each indented two spaces, after a newline."""
    lines: list[str] = []
    for term in terms:  # whole terms: ``artifacts { ... }`` stays on one line
        if lines and len(lines[-1]) + 1 + len(term) <= WIDTH - 2:
            lines[-1] += " " + term
        else:
            lines.append(term)
    return "".join(f"\n  {line}" for line in lines)


def python_constant(terms: list[str]) -> str:
    return f'JOB_FIELDS = """{wrapped(terms)}\n"""'


def javascript_constant(terms: list[str]) -> str:
    return f"const JOB_FIELDS = `{wrapped(terms)}`;"


def graphql_fragment(terms: list[str]) -> str:
    return print_ast(parse(f"fragment JobFields on Job {{ {' '.join(terms)} }}").definitions[0])


@dataclass(frozen=True)
class Target:
    path: str
    #: The definition this tool owns in that file (and nothing else of it).
    pattern: re.Pattern[str]
    render: Callable[[list[str]], str]


PYTHON = re.compile(r'^JOB_FIELDS = """.*?"""', re.S | re.M)
JAVASCRIPT = re.compile(r"^const JOB_FIELDS = `[^`]*`;", re.M)
FRAGMENT = re.compile(r"^fragment JobFields on Job \{\n.*?^\}", re.S | re.M)

TARGETS = (
    Target("jobcore/documents.py", PYTHON, python_constant),
    Target("client/operations/jobs.graphql", FRAGMENT, graphql_fragment),
    Target("web/src/jobs.ts", JAVASCRIPT, javascript_constant),
    Target("tests/amplify/operations.mjs", JAVASCRIPT, javascript_constant),
)


def generated(target: Target, terms: list[str], root: Path = ROOT) -> tuple[str, str]:
    """(the file as it is, the file as it should be)."""
    current = (root / target.path).read_text()
    matches = target.pattern.findall(current)
    if len(matches) != 1:
        raise ValueError(f"{target.path}: expected one {target.pattern.pattern!r}, found {len(matches)}")
    return current, target.pattern.sub(lambda _: target.render(terms), current)


def stale(root: Path = ROOT) -> list[str]:
    """The targets whose Job fields differ from the schema's."""
    terms = selection_terms()
    return [t.path for t in TARGETS if (pair := generated(t, terms, root))[0] != pair[1]]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        behind = stale()
        for path in behind:
            print(f"{path}: Job fields differ from schema.graphql (run: python -m tools.job_fields)")
        return 1 if behind else 0
    terms = selection_terms()
    for target in TARGETS:
        current, wanted = generated(target, terms)
        if current != wanted:
            (ROOT / target.path).write_text(wanted)
            print(f"wrote {target.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
