"""What goes into the Lambda asset, without the CDK: stdlib only, so ``bench/`` measures the asset
that ``infra/assets.py`` builds by the same rules instead of a copy of them (importing ``assets``
would start the CDK's jsii runtime)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent

#: Our packages copied into the asset - nothing else from the repo (no devserver, client, tests).
RUNTIME_PACKAGES: Final = ("jobcore", "resolvers", "worker")
#: Provided by the Lambda runtime; never bundled (botocore's own s3transfer/jmespath included).
RUNTIME_PROVIDED: Final = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
#: One place for the interpreter version: the function runtime and pip's ``--python-version``
#: must agree, or pip would fetch wheels for the wrong ABI.
PYTHON_VERSION: Final = "3.12"
PIP_PLATFORM: Final = "manylinux2014_aarch64"


def lambda_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The ``lambda`` extra of ``pyproject.toml`` minus what the Lambda runtime already provides."""
    with pyproject.open("rb") as fh:
        data = tomllib.load(fh)
    extra: list[str] = data["project"]["optional-dependencies"]["lambda"]
    return [req for req in extra if distribution_name(req) not in RUNTIME_PROVIDED]


def distribution_name(requirement: str) -> str:
    name = requirement
    for stop in "[<>=!~;@ ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")


def remove_runtime_provided(target: Path) -> list[str]:
    """Delete what pip installed of ``RUNTIME_PROVIDED`` (as a dependency of something else) from the
    asset: the packages and their ``.dist-info``. Returns the names removed.

    A bundled dependency may pull them in: ``aws-xray-sdk``, which powertools' Tracer needs, depends
    on botocore (the asset went from 5.6 to 22.3 MiB zipped until this step)."""
    removed = []
    for entry in sorted(target.iterdir()):
        distribution = distribution_name(entry.name.split("-", 1)[0]) if entry.name.endswith(".dist-info") else None
        if entry.name.removesuffix(".py") in RUNTIME_PROVIDED or distribution in RUNTIME_PROVIDED:
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry.name)
    return removed
