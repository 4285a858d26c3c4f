"""The deploy walkthrough's install line installs what its later commands import.

The walkthrough (docs/deploy.md, and its short form in the README) installs the project with some extras
and then runs ``cdk`` (``python -m infra.app``), ``python -m infra.outputs`` and the ``appsync-jobs`` CLI.
Installing only ``.[infra]`` left the CLI's ``typer``/``gql`` missing (``ModuleNotFoundError``). This test
reads the install line, computes every distribution those extras pull in (from the installed packages'
own metadata), and imports the walkthrough's modules in a fresh interpreter that refuses any third-party
module outside that set - so an import of a package from another extra fails here as it would after a
clean install.
"""

from __future__ import annotations

import importlib.metadata as metadata
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = canonicalize_name(PYPROJECT["project"]["name"])
INSTALL_LINE = re.compile(r"pip install -e '\.\[([a-z0-9_,-]+)\]'")
WALKTHROUGHS = {"docs/deploy.md": ROOT / "docs" / "deploy.md", "README.md": ROOT / "README.md"}

#: What the walkthrough runs after installing: ``cdk synth`` (infra.app), the outputs helper, and the
#: CLI's entry point (``[project.scripts]``), whose commands it then calls.
WALKTHROUGH_MODULES = ("infra.app", "infra.outputs", PYPROJECT["project"]["scripts"]["appsync-jobs"].split(":")[0])

GUARD = """
import importlib.metadata as md, json, sys
allowed, first_party, modules = json.loads(sys.argv[1])
owners = md.packages_distributions()

def norm(name):
    return name.lower().replace("_", "-").replace(".", "-")

class OutsideTheExtras:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in sys.stdlib_module_names or top in first_party or top not in owners:
            return None
        dists = {norm(d) for d in owners[top]}
        if not dists & set(allowed):
            raise ModuleNotFoundError(f"No module named {name!r} (distribution {sorted(dists)} is not in the named extras)")
        return None

sys.meta_path.insert(0, OutsideTheExtras())
for module in modules:
    __import__(module)
print("ok")
"""


def install_extras(text: str) -> list[set[str]]:
    return [set(match.split(",")) for match in INSTALL_LINE.findall(text)]


def closure(extras: set[str]) -> set[str]:
    """Every distribution ``pip install -e '.[extras]'`` installs, from the installed metadata."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    pending = [Requirement(r) for extra in extras for r in optional[extra]]
    seen: set[str] = set()
    seen_extras: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name == PROJECT:  # "appsync-jobs[lambda,...]" - the project's own extras
            pending.extend(Requirement(r) for extra in requirement.extras for r in optional[extra])
            continue
        key = (name, frozenset(requirement.extras))
        if key in seen_extras:
            continue
        seen_extras.add(key)
        seen.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # not installed here: nothing of it can be imported either
        for text in requires:
            dependency = Requirement(text)
            wanted = {"", *requirement.extras}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in wanted):
                pending.append(dependency)
    return seen


@pytest.mark.parametrize("doc", sorted(WALKTHROUGHS))
def test_the_walkthrough_has_one_install_line_naming_real_extras(doc: str) -> None:
    (extras,) = install_extras(WALKTHROUGHS[doc].read_text(encoding="utf-8"))
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"])
    assert {"infra", "client"} <= extras


@pytest.mark.skipif(importlib.util.find_spec("aws_cdk") is None, reason="needs the infra extra installed")
@pytest.mark.parametrize("doc", sorted(WALKTHROUGHS))
def test_the_extras_it_installs_cover_every_import_of_the_commands_it_runs(doc: str) -> None:
    (extras,) = install_extras(WALKTHROUGHS[doc].read_text(encoding="utf-8"))
    first_party = [*PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"], "infra"]
    allowed = sorted(closure(extras))
    completed = subprocess.run(
        [sys.executable, "-c", GUARD, json.dumps([allowed, first_party, list(WALKTHROUGH_MODULES)])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().endswith("ok")


def test_the_guard_refuses_what_an_infra_only_install_lacks() -> None:
    # The bug this test exists for: '.[infra]' alone cannot import the CLI.
    first_party = [*PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"], "infra"]
    completed = subprocess.run(
        [sys.executable, "-c", GUARD, json.dumps([sorted(closure({"infra"})), first_party, [WALKTHROUGH_MODULES[-1]]])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert completed.returncode != 0
    assert "ModuleNotFoundError" in completed.stderr


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    following = re.search(r"^## ", text[start + len(heading) :], flags=re.MULTILINE)
    return text[start : start + len(heading) + following.start()] if following else text[start:]


def test_every_context_key_is_in_the_configure_table() -> None:
    from dataclasses import fields

    from infra.config import JobsConfig

    configure = _section(WALKTHROUGHS["docs/deploy.md"].read_text(encoding="utf-8"), "## Configure")
    missing = [f.name for f in fields(JobsConfig) if f"`{f.name}`" not in configure]
    assert missing == []


@pytest.mark.skipif(importlib.util.find_spec("aws_cdk") is None, reason="needs the infra extra installed")
def test_every_alarm_has_a_row_with_its_reason_and_the_docs_count_them_right(dev: Any) -> None:
    alarms = set(dev.stack.alarms)
    guide = WALKTHROUGHS["docs/deploy.md"].read_text(encoding="utf-8")
    table = _section(guide, "## Operations").split("### Dashboard")[0]
    documented = {
        name for row in table.splitlines() if row.startswith("| `") for name in re.findall(r"`([A-Za-z0-9]+)`", row.split("|")[1])
    }
    assert documented == alarms
    for doc in WALKTHROUGHS.values():
        counts = {int(n) for n in re.findall(r"\b(\d+) alarms\b", doc.read_text(encoding="utf-8"))}
        assert counts == {len(alarms)}, doc
