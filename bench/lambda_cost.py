"""Scenario 4: what the Lambda functions pay before their first event.

* Cold import of ``resolvers.handler`` and ``worker.handler`` in a fresh interpreter: the CPU time
  of ``python -c "import <module>"`` minus ``python -c "pass"`` (median of several runs; wall time
  and ``-X importtime``'s own cumulative figure beside it). Two cases: bytecode cached, and no
  bytecode at all - the deployed asset is built with ``pip --no-compile`` and ``/var/task`` is
  read-only, so a real Lambda cold start compiles every module it imports.
* The asset: ``jobcore/``, ``resolvers/``, ``worker/`` plus the ``lambda`` extra minus what the
  runtime provides, installed exactly as ``infra/assets.py`` does (Linux/arm64 wheels for the
  function's Python), zipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.servers import BENCH, ROOT

# The asset's rules without the CDK (infra/assets.py builds by the same ones).
from infra.bundle_rules import (
    PIP_PLATFORM,
    PYTHON_VERSION,
    RUNTIME_PACKAGES,
    lambda_requirements,
    remove_runtime_provided,
)

MODULES = ("resolvers.handler", "worker.handler")
CACHE = BENCH / "results" / "raw" / "lambda-asset"


def _env(pycache: Path, write: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _time_import(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, CPU ms) of a fresh interpreter running ``code``. CPU time (user + system, from
    ``wait4``) is what an idle core would take; wall time also counts whatever else the machine runs."""
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - began) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"python -c {code!r} failed with {process.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def _importtime(module: str, env: dict[str, str]) -> float:
    """``-X importtime``'s cumulative microseconds for the module itself, in ms."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], cwd=ROOT, env=env, check=True,
        capture_output=True, text=True,
    )
    for line in reversed(done.stderr.splitlines()):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    return float("nan")


def import_times(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cached, tempfile.TemporaryDirectory(prefix="bench-nopyc-") as empty:
        cached_env = _env(Path(cached), write=True)
        cold_env = _env(Path(empty), write=False)
        for module in MODULES:  # prime the bytecode cache
            _time_import(f"import {module}", cached_env)
        for label, env in (("cached_bytecode", cached_env), ("no_bytecode", cold_env)):
            base = [_time_import("pass", env) for _ in range(runs)]
            base_wall = statistics.median(w for w, _ in base)
            base_cpu = statistics.median(c for _, c in base)
            figures: dict[str, Any] = {"interpreter_ms": base_wall, "interpreter_cpu_ms": base_cpu}
            for module in MODULES:
                timings = [_time_import(f"import {module}", env) for _ in range(runs)]
                cpu = [c - base_cpu for _, c in timings]
                wall = [w - base_wall for w, _ in timings]
                figures[module] = {
                    # The figure the target is checked on: CPU time, robust to a busy machine.
                    "import_ms": statistics.median(cpu),
                    "import_wall_ms": statistics.median(wall),
                    "import_wall_ms_min": min(wall),
                    "importtime_ms": statistics.median(_importtime(module, env) for _ in range(max(1, runs // 2))),
                }
            out[label] = figures
    return out


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def asset_size() -> dict[str, Any]:
    requirements = lambda_requirements()
    key = hashlib.sha256("\n".join([PIP_PLATFORM, PYTHON_VERSION, *requirements]).encode()).hexdigest()[:16]
    deps = CACHE / f"deps-{key}"
    if not deps.exists():
        tmp = Path(tempfile.mkdtemp(prefix="deps-", dir=CACHE.parent if CACHE.parent.exists() else None))
        args = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--platform", PIP_PLATFORM, "--only-binary=:all:", "--implementation", "cp",
            "--python-version", PYTHON_VERSION, "--target", str(tmp), *requirements,
        ]
        try:
            subprocess.run(args, check=True, capture_output=True, text=True, timeout=300)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            detail = getattr(exc, "stderr", "") or str(exc)
            return {"available": False, "why": f"pip could not fetch the Lambda dependencies: {detail.strip()[-300:]}"}
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp.rename(deps)
    with tempfile.TemporaryDirectory(prefix="bench-asset-") as work:
        stage = Path(work) / "asset"
        shutil.copytree(deps, stage)
        remove_runtime_provided(stage)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")
        for package in RUNTIME_PACKAGES:
            shutil.copytree(ROOT / package, stage / package, ignore=ignore, dirs_exist_ok=True)
        archive = Path(work) / "asset.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(stage))
        ours = sum(_dir_size(stage / p) for p in RUNTIME_PACKAGES)
        biggest = sorted(
            ((p.name, _dir_size(p)) for p in stage.iterdir() if p.is_dir() and not p.name.endswith(".dist-info")),
            key=lambda item: -item[1],
        )[:6]
        return {
            "available": True,
            "zip_mib": archive.stat().st_size / 2**20,
            "unzipped_mib": _dir_size(stage) / 2**20,
            "our_code_kib": ours / 1024,
            "largest_mib": {name: size / 2**20 for name, size in biggest},
            "requirements": requirements,
            "platform": f"{PIP_PLATFORM} / CPython {PYTHON_VERSION}",
            "lambda_limits_mib": {"zip": 50, "unzipped": 250},
        }
