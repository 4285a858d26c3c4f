"""The ONE Lambda code asset every function runs: ``jobcore/``, ``resolvers/``, ``worker/`` + their deps.

Why one asset: resolvers, worker, DLQ consumer and reaper then ship byte-identical ``jobcore`` - no
version skew between the code that writes a job and the code that runs it. Each function also
carries the others' few kB of code; that costs nothing worth measuring.

Why bundle the third-party packages instead of using the public Powertools layer: the asset is
pip-installed from the same requirement ranges as the ``lambda`` extra in ``pyproject.toml`` (read
from that file, not repeated here), so the deployed Powertools, gql and pydantic are the versions
the local test suite resolves - the layer pins its own Powertools build and brings neither gql nor
pydantic, so we would bundle those anyway and manage a per-region layer ARN on top. The cost is a
few MB more per deployment package (still far below Lambda's 250 MB limit) and a slower first
synth; switch to the layer only if cold-start size ever matters more than parity.

``boto3``/``botocore`` (and their own ``s3transfer``/``jmespath``) are left out on purpose: the Lambda
Python runtime provides them, and a bundled copy would add ~80 MB unzipped and shadow the runtime's.
They are removed after pip too, because a bundled dependency may pull them in (``aws-xray-sdk``,
which powertools' Tracer needs, depends on botocore: 5.6 -> 22.3 MiB zipped until this step).

Packaging runs on the host (``LocalPipBundling``: pip with ``--platform`` picks Linux/arm64 wheels
on any OS, no Docker needed); if pip is not available it falls back to the SAM build image running
the same command. Tests skip bundling entirely with the ``aws:cdk:bundling-stacks: []`` context.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import jsii
from aws_cdk import (
    BundlingFileAccess,
    BundlingOptions,
    BundlingOutput,
    DockerImage,
    DockerVolume,
    IgnoreMode,
    ILocalBundling,
)
from aws_cdk import aws_lambda as lambda_

# Re-exported: the bundling rules live in the jsii-free module so bench/ applies the same ones.
from infra.bundle_rules import PIP_PLATFORM as PIP_PLATFORM
from infra.bundle_rules import PYTHON_VERSION as PYTHON_VERSION
from infra.bundle_rules import REPO_ROOT as REPO_ROOT
from infra.bundle_rules import RUNTIME_PACKAGES as RUNTIME_PACKAGES
from infra.bundle_rules import RUNTIME_PROVIDED as RUNTIME_PROVIDED
from infra.bundle_rules import lambda_requirements as lambda_requirements
from infra.bundle_rules import remove_runtime_provided as remove_runtime_provided

SCHEMA_PATH: Final = REPO_ROOT / "schema.graphql"
#: The APPSYNC_JS unit-resolver code every root field runs in front of the resolvers Lambda.
RESOLVER_JS_PATH: Final = REPO_ROOT / "resolvers" / "appsync_function.js"

LAMBDA_RUNTIME: Final = lambda_.Runtime.PYTHON_3_12
LAMBDA_ARCHITECTURE: Final = lambda_.Architecture.ARM_64

# Everything under the repo root is excluded except what the asset is built from, so the asset
# hash changes only when runtime code or the dependency ranges change (and so fingerprinting never
# walks .venv or node_modules). CDK's glob matching applies "*" at every depth, so each package is
# re-included both as a directory and with everything below it.
ASSET_EXCLUDE: Final = [
    "*",
    *(pattern for name in RUNTIME_PACKAGES for pattern in (f"!{name}", f"!{name}/**")),
    "!pyproject.toml",
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "**/.pytest_cache",
]

Runner = Callable[[Sequence[str]], None]


def pip_install_args(requirements: Sequence[str], target: str) -> list[str]:
    """pip arguments that fetch Linux/arm64 CPython wheels whatever the host is (no source builds)."""
    return [
        "install",
        "--no-cache-dir",
        "--disable-pip-version-check",
        # .pyc files compiled by the host interpreter would be for the wrong version; Lambda compiles.
        "--no-compile",
        "--platform",
        PIP_PLATFORM,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--target",
        target,
        *requirements,
    ]


def compile_args(target: str) -> list[str]:
    """Byte-compile the asset for the runtime's Python: Lambda's file system is read-only, so without
    shipped .pyc files every cold start compiles every module it imports (0.8-1.4 s here, vs about
    0.2 s with bytecode; bench/results). ``unchecked-hash`` pycs never look at source mtimes."""
    return ["-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", target]


def find_runtime_python(version: str = PYTHON_VERSION) -> str | None:
    """An interpreter of the Lambda runtime's version on this host, if any (pyenv shims that cannot run
    are skipped); None means the asset ships without bytecode and Lambda compiles on import."""
    candidates = [sys.executable, shutil.which(f"python{version}"), shutil.which("python3")]
    for candidate in candidates:
        if not candidate:
            continue
        try:
            found = subprocess.run(
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if found == version:
            return candidate
    return None


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".mypy_cache", ".pytest_cache") or n.endswith(".pyc")}


def copy_runtime_packages(source_root: Path, output_dir: Path) -> None:
    for name in RUNTIME_PACKAGES:
        shutil.copytree(source_root / name, output_dir / name, ignore=_copy_ignore, dirs_exist_ok=True)


def _run(cmd: Sequence[str]) -> None:
    # pip's chatter goes to stderr so the app's stdout stays clean for the CDK CLI.
    subprocess.run(list(cmd), check=True, stdout=sys.stderr)


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """Bundles on the host with the current interpreter's pip; returns False (-> Docker) without pip."""

    def __init__(
        self,
        requirements: Sequence[str],
        *,
        source_root: Path = REPO_ROOT,
        python: str = sys.executable,
        runner: Runner = _run,
        compiler: str | None = None,
    ) -> None:
        self._requirements = list(requirements)
        self._source_root = source_root
        self._python = python
        self._runner = runner
        #: Interpreter of the runtime's version used to byte-compile; looked up lazily when not given.
        self._compiler = compiler

    def has_pip(self) -> bool:
        try:
            self._runner([self._python, "-m", "pip", "--version"])
        except (OSError, subprocess.CalledProcessError):
            return False
        return True

    # jsii hands the BundlingOptions struct over as keyword arguments (exactly the keyword-only
    # parameters named here), so the signature mirrors ILocalBundling.try_bundle; only the
    # output directory matters for a host install.
    def try_bundle(
        self,
        output_dir: str,
        *,
        image: DockerImage,
        bundling_file_access: BundlingFileAccess | None = None,
        command: Sequence[str] | None = None,
        entrypoint: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        local: ILocalBundling | None = None,
        network: str | None = None,
        output_type: BundlingOutput | None = None,
        platform: str | None = None,
        security_opt: str | None = None,
        user: str | None = None,
        volumes: Sequence[DockerVolume | dict[str, Any]] | None = None,
        volumes_from: Sequence[str] | None = None,
        working_directory: str | None = None,
    ) -> bool:
        if not self.has_pip():
            return False
        self._runner([self._python, "-m", "pip", *pip_install_args(self._requirements, output_dir)])
        remove_runtime_provided(Path(output_dir))
        copy_runtime_packages(self._source_root, Path(output_dir))
        compiler = self._compiler or find_runtime_python()
        if compiler is not None:
            self._runner([compiler, *compile_args(output_dir)])
        else:
            print(f"no Python {PYTHON_VERSION} on this host: the asset ships without bytecode", file=sys.stderr)
        return True


def docker_command(requirements: Sequence[str]) -> list[str]:
    """The same install inside the SAM build image (``/asset-input`` is the repo root)."""
    pip = shlex.join(["pip", *pip_install_args(requirements, "/asset-output")])
    provided = " ".join(f"/asset-output/{name} /asset-output/{name}-*.dist-info" for name in sorted(RUNTIME_PROVIDED))
    remove = f"&& rm -rf {provided}"
    copy = " ".join(f"&& cp -r /asset-input/{name} /asset-output/" for name in RUNTIME_PACKAGES)
    clean = "&& find /asset-output -name __pycache__ -type d -prune -exec rm -rf {} +"
    compile_ = "&& " + shlex.join(["python", *compile_args("/asset-output")])  # the image is the runtime's Python
    return ["bash", "-c", f"{pip} {remove} {copy} {clean} {compile_}"]


def lambda_code(requirements: Sequence[str] | None = None) -> lambda_.Code:
    """The shared asset. Synthesis bundles it unless the stack is listed out of bundling."""
    reqs = lambda_requirements() if requirements is None else list(requirements)
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        exclude=ASSET_EXCLUDE,
        ignore_mode=IgnoreMode.GLOB,
        bundling=BundlingOptions(
            image=LAMBDA_RUNTIME.bundling_image,
            command=docker_command(reqs),
            environment={"HOME": "/tmp", "PIP_NO_CACHE_DIR": "1"},
            local=LocalPipBundling(reqs),
        ),
    )


def long_worker_image() -> Any:
    """The long-task worker's container image, built by CDK from ``worker/Dockerfile`` at deploy time.

    Synthesis only fingerprints the build context (the same files as the Lambda asset, selected by
    ``ASSET_EXCLUDE``), so neither synth nor the tests need Docker; ``cdk deploy`` builds and pushes
    it for linux/arm64 (Graviton, like the Lambdas).
    """
    from aws_cdk import aws_ecr_assets as ecr_assets
    from aws_cdk import aws_ecs as ecs

    return ecs.ContainerImage.from_asset(
        str(REPO_ROOT),
        file="worker/Dockerfile",
        exclude=ASSET_EXCLUDE,
        ignore_mode=IgnoreMode.GLOB,
        platform=ecr_assets.Platform.LINUX_ARM64,
    )
