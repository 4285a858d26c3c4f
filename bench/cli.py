"""``python -m bench``: run every scenario against the local server and the Amplify AppSync simulator.

Prints ONE JSON summary on stdout; progress goes to stderr. Writes ``bench/results/latest.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import artifacts, lambda_cost, load, pipeline, servers
from bench.stats import median_of, rounded

RESULTS = servers.BENCH / "results"


@dataclass(frozen=True)
class Plan:
    """How much of everything to run: ``full`` for ``make bench`` (~5 min), ``quick`` for a smoke run."""

    repeats: int
    submit_requests: dict[int, int]
    submit_warmup: int
    delivery_updates: int
    list_jobs: int
    list_requests: int
    fanout_sizes: tuple[int, ...]
    fanout_repeats: dict[int, int]
    fanout_publishes: int
    e2e_jobs: int
    sustained_seconds: float
    sustained_warmup: float
    sustained_clients: int
    import_runs: int
    #: Artifact throughput: object size (MiB) and repeats of each transfer.
    artifact_mib: int = 64
    artifact_repeats: int = 3


FULL = Plan(
    repeats=3, submit_requests={1: 600, 16: 1600}, submit_warmup=150, delivery_updates=200,
    list_jobs=120, list_requests=300,
    fanout_sizes=(500, 2000), fanout_repeats={500: 3, 2000: 2}, fanout_publishes=8,
    e2e_jobs=200, sustained_seconds=30, sustained_warmup=3, sustained_clients=32, import_runs=5,
)
QUICK = Plan(
    repeats=1, submit_requests={1: 200, 16: 400}, submit_warmup=50, delivery_updates=50,
    list_jobs=120, list_requests=100,
    fanout_sizes=(100, 300), fanout_repeats={100: 1, 300: 1}, fanout_publishes=3,
    e2e_jobs=40, sustained_seconds=5, sustained_warmup=1, sustained_clients=16, import_runs=3,
    artifact_mib=16, artifact_repeats=2,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit(wanted: int = 65536) -> int:
    """Thousands of sockets need descriptors; the servers inherit the limit from this process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over a short window (what else runs on this machine)."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def _versions() -> dict[str, Any]:
    def run(*cmd: str) -> str | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip() or None
        except (OSError, subprocess.TimeoutExpired):
            return None

    simulator = None
    package = servers.BENCH / "node_modules" / "@aws-amplify" / "amplify-appsync-simulator" / "package.json"
    if package.exists():
        simulator = json.loads(package.read_text())["version"]
    return {"python": platform.python_version(), "node": run("node", "--version"), "simulator": simulator}


async def _each(
    start: Callable[[], servers.Server], scenario: Callable[[servers.Server], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    with start() as server:
        return await scenario(server)


class Runner:
    def __init__(self, plan: Plan, *, simulator: bool, only: set[str] | None) -> None:
        self.plan = plan
        self.only = only
        self.sim_why: str | None = None if simulator else "disabled with --no-simulator"
        self.results: dict[str, Any] = {}

    def wanted(self, name: str) -> bool:
        return self.only is None or name in self.only

    @property
    def sim(self) -> bool:
        return self.sim_why is None

    def _start_sim(self) -> servers.Server:
        return servers.start_simulator()

    async def prepare(self) -> None:
        if self.sim:
            log("checking the Amplify AppSync simulator (npm ci on first use)")
            self.sim_why = await asyncio.to_thread(servers.ensure_simulator)
        if self.sim:
            try:
                probe = await asyncio.to_thread(servers.start_simulator)
                probe.stop()
            except Exception as exc:  # the benchmark still runs our side
                self.sim_why = f"the simulator did not start: {str(exc)[-400:]}"
        if self.sim_why:
            log(f"simulator unavailable: {self.sim_why}")

    async def http_and_delivery(self) -> None:
        """Scenarios 1 and 2a on one server of each kind, repeats interleaved so drift hits both."""
        if not (self.wanted("submit") or self.wanted("delivery") or self.wanted("list")):
            return
        plan = self.plan
        ours = await asyncio.to_thread(servers.start_ours, worker=False)
        sim = None
        try:
            if self.sim:
                sim = await asyncio.to_thread(self._start_sim)
            targets = [("ours", ours)] + ([("simulator", sim)] if sim else [])
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for repeat in range(plan.repeats):
                for side, server in targets:
                    if self.wanted("submit"):
                        for concurrency, count in plan.submit_requests.items():
                            log(f"submitJob c={concurrency} on {side} ({repeat + 1}/{plan.repeats})")
                            result = await load.submit_load(
                                server, concurrency=concurrency, requests=count, warmup=plan.submit_warmup
                            )
                            runs.setdefault(f"submit_c{concurrency}", {}).setdefault(side, []).append(result)
                    if self.wanted("delivery"):
                        log(f"delivery, 1 subscriber, on {side} ({repeat + 1}/{plan.repeats})")
                        result = await load.delivery(server, updates=plan.delivery_updates, warmup=20)
                        flat = {**{f"delivery_{k}": v for k, v in result["delivery"].items()},
                                **{f"update_{k}": v for k, v in result["update_response"].items()},
                                "missed": result["missed"]}
                        runs.setdefault("delivery", {}).setdefault(side, []).append(flat)
                        log(f"delivery over onMyJobsUpdated, 1 subscriber, on {side} ({repeat + 1}/{plan.repeats})")
                        result = await load.delivery(server, updates=plan.delivery_updates, warmup=20, mine=True)
                        flat = {**{f"delivery_{k}": v for k, v in result["delivery"].items()},
                                **{f"update_{k}": v for k, v in result["update_response"].items()},
                                "missed": result["missed"]}
                        runs.setdefault("delivery_mine", {}).setdefault(side, []).append(flat)
                    if self.wanted("list"):
                        log(f"listJobs of 100 on {side} ({repeat + 1}/{plan.repeats})")
                        # Only the first repeat submits the jobs; later ones list the same (fuller) table.
                        result = await load.list_load(server, jobs=plan.list_jobs if repeat == 0 else 0, limit=100,
                                                      requests=plan.list_requests, warmup=20)
                        runs.setdefault("list_100", {}).setdefault(side, []).append(result)
            for name, sides in runs.items():
                self.results[name] = {side: median_of(values) for side, values in sides.items()}
        finally:
            ours.stop()
            if sim is not None:
                sim.stop()

    async def fanout(self) -> None:
        if not self.wanted("fanout"):
            return
        plan = self.plan
        for size in plan.fanout_sizes:
            sides: dict[str, list[dict[str, Any]]] = {}
            for repeat in range(plan.fanout_repeats[size]):
                for side in ["ours"] + (["simulator"] if self.sim else []):
                    log(f"fan-out to {size} subscribers on {side} ({repeat + 1}/{plan.fanout_repeats[size]})")

                    def start(side: str = side) -> servers.Server:
                        return servers.start_ours(worker=False) if side == "ours" else self._start_sim()

                    async def scenario(server: servers.Server, size: int = size) -> dict[str, Any]:
                        return await load.fanout(server, subscribers=size, publishes=plan.fanout_publishes)

                    result = await _each(start, scenario)
                    flat = {
                        **{f"setup_{k}": v for k, v in result["setup"].items()},
                        **{f"last_{k}": v for k, v in result["last_subscriber"].items()},
                        **{f"median_{k}": v for k, v in result["median_subscriber"].items()},
                        **{f"update_{k}": v for k, v in result["update_response"].items()},
                        **{k: v for k, v in result.items() if not isinstance(v, dict)},
                    }
                    sides.setdefault(side, []).append(flat)
                    await asyncio.sleep(1.0)  # let the sockets of the last run leave TIME_WAIT pressure behind
            self.results[f"fanout_{size}"] = {side: median_of(values) for side, values in sides.items()}

    async def end_to_end(self) -> None:
        plan = self.plan
        if not (self.wanted("e2e") or self.wanted("sustained")):
            return
        if self.wanted("e2e"):
            runs = []
            for repeat in range(plan.repeats):
                log(f"end to end, echo job -> SUCCEEDED event ({repeat + 1}/{plan.repeats})")

                async def scenario(server: servers.Server) -> dict[str, Any]:
                    return await pipeline.end_to_end(server, jobs=plan.e2e_jobs, warmup=20)

                result = await _each(lambda: servers.start_ours(worker=True), scenario)
                runs.append({**result["latency"], **{f"submit_{k}": v for k, v in result["submit_response"].items()},
                             **{f"phase_{k}": v for k, v in result["phases_p50"].items()},
                             "raced": result["raced"], "failed": result["failed"]})
            self.results["e2e"] = {"ours": median_of(runs)}
        if self.wanted("sustained"):
            log(f"sustained pipeline, {plan.sustained_clients} clients for {plan.sustained_seconds:.0f} s")

            async def sustained(server: servers.Server) -> dict[str, Any]:
                return await pipeline.sustained(
                    server, seconds=plan.sustained_seconds, warmup_seconds=plan.sustained_warmup,
                    clients=plan.sustained_clients, max_backlog=100,
                )

            self.results["sustained"] = {"ours": await _each(lambda: servers.start_ours(worker=True), sustained)}

    async def artifacts(self) -> None:
        """Presigned upload/download throughput through the local server's /artifacts (issue 11)."""
        if not self.wanted("artifacts"):
            return
        log(f"artifacts: {self.plan.artifact_repeats} x {self.plan.artifact_mib} MiB up and down")
        plan = self.plan
        self.results["artifacts"] = {"ours": await _each(
            artifacts.start, lambda server: artifacts.measure(server, mib=plan.artifact_mib, repeats=plan.artifact_repeats))}

    async def lambdas(self) -> None:
        if not self.wanted("lambda"):
            return
        log("Lambda handlers: cold imports")
        imports = await asyncio.to_thread(lambda_cost.import_times, self.plan.import_runs)
        log("Lambda asset: installing the lambda extra for Linux/arm64 (cached after the first run)")
        asset = await asyncio.to_thread(lambda_cost.asset_size)
        self.results["lambda"] = {"ours": {"imports": imports, "asset": asset}}


def targets(results: dict[str, Any], simulator: bool) -> list[dict[str, Any]]:
    """Each target of issue 7 with our figure, the simulator's, their ratio and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(name: str, rule: str, ours: Any, theirs: Any = None, met: bool | None = None, ratio: float | None = None) -> None:
        out.append({"target": name, "rule": rule, "ours": ours, "simulator": theirs, "ratio": ratio, "met": met})

    def pair(key: str, field: str) -> tuple[Any, Any]:
        entry = results.get(key) or {}
        return (entry.get("ours") or {}).get(field), (entry.get("simulator") or {}).get(field)

    def compare(name: str, key: str, field: str, higher_is_better: bool, unit: str) -> None:
        ours, theirs = pair(key, field)
        if ours is None:
            return
        if theirs is None:
            add(name, f"vs simulator ({unit})", ours, None, None)
            return
        ratio = ours / theirs if theirs else None
        met = (ours >= theirs) if higher_is_better else (ours <= theirs)
        add(name, f"{'>=' if higher_is_better else '<='} simulator ({unit}; ratio ours/simulator)", ours, theirs, met, ratio)

    compare("submitJob c=1 throughput", "submit_c1", "rps", True, "req/s")
    compare("submitJob c=1 latency p50", "submit_c1", "p50", False, "ms")
    compare("submitJob c=16 throughput", "submit_c16", "rps", True, "req/s")
    compare("submitJob c=16 latency p50", "submit_c16", "p50", False, "ms")
    compare("delivery latency p50 (1 subscriber)", "delivery", "delivery_p50", False, "ms")
    compare("onMyJobsUpdated delivery p50 (1 subscriber)", "delivery_mine", "delivery_p50", False, "ms")
    mine, single = pair("delivery_mine", "delivery_p50")[0], pair("delivery", "delivery_p50")[0]
    if mine is not None and single is not None:
        add("onMyJobsUpdated beside onJobUpdated (ours, delivery p50)", "reported, no target (ratio mine/job)",
            {"onMyJobsUpdated": mine, "onJobUpdated": single}, None, None, mine / single if single else None)
    compare("listJobs of 100 latency p50", "list_100", "p50", False, "ms")
    list_cpu = pair("list_100", "server_cpu_ms")[0]
    if list_cpu is not None:
        add("listJobs of 100: server CPU per call", "reported, no target", list_cpu, None, None)
    fan500 = next((k for k in ("fanout_500", "fanout_300") if k in results), None)
    if fan500:
        compare(f"fan-out to last of {fan500.split('_')[1]} p50", fan500, "last_p50", False, "ms")
    fan2000 = next((k for k in ("fanout_2000", "fanout_300") if k in results), None)
    if fan2000:
        held = (results[fan2000].get("ours") or {})
        size = int(fan2000.split("_")[1])
        add(f"{size} subscribers held, none missed", "all connected, 0 missed", {"connected": held.get("connected"),
            "missed": held.get("missed")}, None, held.get("connected") == size and held.get("missed") == 0)
        compare(f"RSS per connection ({size})", fan2000, "rss_per_connection_kib", False, "KiB")
        single = (results.get("delivery") or {}).get("ours", {}).get("update_p50")
        during = held.get("update_p50")
        if single is not None and during is not None:
            add(f"updateJob response during fan-out to {size} does not grow", "p50 <= 2 x the 1-subscriber p50",
                during, None, during <= 2 * single, during / single if single else None)
    e2e = (results.get("e2e") or {}).get("ours")
    if e2e:
        add("end-to-end no-op job p50", "<= 10 ms", e2e.get("p50"), None, e2e.get("p50", 1e9) <= 10)
    sustained = (results.get("sustained") or {}).get("ours")
    if sustained:
        add("sustained pipeline throughput", ">= 300 jobs/s", sustained.get("jobs_per_s"), None,
            (sustained.get("jobs_per_s") or 0) >= 300)
    lam = (results.get("lambda") or {}).get("ours")
    if lam:
        for module in lambda_cost.MODULES:
            cached = lam["imports"]["cached_bytecode"][module]["import_ms"]
            cold = lam["imports"]["no_bytecode"][module]["import_ms"]
            add(f"cold import {module}", "<= 300 ms (bytecode cached; no-bytecode figure beside it)",
                {"cached_bytecode_ms": cached, "no_bytecode_ms": cold}, None, cached <= 300)
    return out


async def run(plan: Plan, *, simulator: bool, only: set[str] | None) -> dict[str, Any]:
    began = time.monotonic()
    fd_limit = raise_fd_limit()
    pinning = servers.pin_self()
    busy = machine_busy()
    load_before = os.getloadavg()
    log(f"{pinning}; machine busy {busy:.0%} before starting; load {load_before[0]:.2f}")
    runner = Runner(plan, simulator=simulator, only=only)
    await runner.prepare()
    await runner.http_and_delivery()
    await runner.fanout()
    await runner.end_to_end()
    await runner.artifacts()
    await runner.lambdas()
    summary = {
        "bench": "appsync-jobs",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "plan": "quick" if plan is QUICK else "full",
        "duration_s": time.monotonic() - began,
        "machine": {
            "cpus": os.cpu_count(), "pinning": pinning, "server_root": str(servers.SERVER_ROOT),
            "busy_before_start": busy,
            "loadavg_before": load_before[0], "loadavg_after": os.getloadavg()[0], "fd_limit": fd_limit,
            **_versions(),
        },
        "simulator": {"available": runner.sim, "why_unavailable": runner.sim_why},
        "targets": targets(runner.results, runner.sim),
        "results": runner.results,
    }
    return rounded(summary)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, one repeat: a smoke run (~1 min)")
    parser.add_argument("--no-simulator", action="store_true", help="measure only the local server")
    parser.add_argument("--only", help="comma separated: submit,delivery,list,fanout,e2e,sustained,artifacts,lambda")
    parser.add_argument("--out", type=Path, help="where latest.{json,md,png} go (default: bench/results, or "
                        "bench/results/raw/quick for --quick, so a smoke run never replaces the full results)")
    parser.add_argument("--server-root", type=Path, help="run the local server from another checkout (before/after)")
    args = parser.parse_args(argv)
    if args.server_root:
        servers.SERVER_ROOT = args.server_root.resolve()
    plan = QUICK if args.quick else FULL
    out: Path = args.out or (RESULTS / "raw" / "quick" if args.quick else RESULTS)
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    try:
        import uvloop

        summary = uvloop.run(run(plan, simulator=not args.no_simulator, only=only))
    except ImportError:
        summary = asyncio.run(run(plan, simulator=not args.no_simulator, only=only))
    from bench import report

    out.mkdir(parents=True, exist_ok=True)
    notes = report.write(summary, out)
    summary["outputs"] = notes
    (out / "latest.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0
