"""The human-readable outputs: a markdown results table and a plot (matplotlib, if installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_ms', '')} {_num(v)}" for k, v in value.items())
    return str(value)


def _ratio(ours: Any, theirs: Any) -> str:
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs:
        return f"{ours / theirs:.2f}"
    return "-"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown(summary: dict[str, Any]) -> str:
    results = summary["results"]
    machine = summary["machine"]
    sim = summary["simulator"]
    lines = [
        "# appsync-jobs benchmarks",
        "",
        f"Run {summary['when']} ({summary['plan']} plan, {summary['duration_s']:.0f} s) on {machine['cpus']} CPUs, "
        f"{machine['pinning']}. Python {machine['python']}, Node {machine.get('node') or '-'}, "
        f"`@aws-amplify/amplify-appsync-simulator` {machine.get('simulator') or '-'}. "
        f"Machine busy {machine['busy_before_start']:.0%} before the run (load {machine['loadavg_before']:.2f} -> "
        f"{machine['loadavg_after']:.2f}): other work on the machine inflates wall-clock figures, so compare with "
        "the simulator's figures from the same run, and see server CPU per request.",
        "",
    ]
    if not sim["available"]:
        lines += [f"**Simulator unavailable:** {sim['why_unavailable']}", ""]
    lines += ["## Targets", "", _row(["target", "rule", "ours", "simulator", "ratio", "met"]),
              _row(["---", "---", "---:", "---:", "---:", ":---:"])]
    for t in summary["targets"]:
        met = {True: "yes", False: "**no**", None: "-"}[t["met"]]
        lines.append(_row([t["target"], t["rule"], _num(t["ours"]), _num(t["simulator"]),
                           _num(t["ratio"], 2) if t["ratio"] is not None else "-", met]))
    lines += ["", "Times in ms, medians over repeats of each run's percentiles.", ""]

    http_rows = []
    for key, label in (("submit_c1", "submitJob, concurrency 1"), ("submit_c16", "submitJob, concurrency 16"),
                       ("list_100", "listJobs, 100 items, concurrency 1")):
        entry = results.get(key)
        if not entry:
            continue
        for side in ("ours", "simulator"):
            r = entry.get(side)
            if r:
                http_rows.append(_row([label, side, _num(r["rps"]), _num(r["p50"], 2), _num(r["p90"], 2), _num(r["p99"], 2),
                                       _num(r["server_cpu_ms"], 2), str(r.get("errors", 0)), str(r.get("repeats"))]))
    if http_rows:
        lines += ["## 1. submitJob and listJobs over HTTP", "",
                  _row(["load", "server", "req/s", "p50", "p90", "p99", "server CPU ms/req", "errors", "repeats"]),
                  _row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]), *http_rows, ""]

    rt_rows = []
    for key, label in (("delivery", "1 (onJobUpdated)"), ("delivery_mine", "1 (onMyJobsUpdated)")):
        for side in ("ours", "simulator"):
            r = (results.get(key) or {}).get(side)
            if r:
                rt_rows.append(_row([label, side, "-", _num(r["delivery_p50"], 2), _num(r["delivery_p90"], 2),
                                     _num(r["delivery_p99"], 2), _num(r["update_p50"], 2), _num(r["update_p99"], 2),
                                     str(r["missed"]), "-"]))
    for key in sorted((k for k in results if k.startswith("fanout_")), key=lambda k: int(k.split("_")[1])):
        for side in ("ours", "simulator"):
            r = results[key].get(side)
            if r:
                rt_rows.append(_row([
                    key.split("_")[1], side,
                    f"{_num(r['setup_p50'], 1)} / {_num(r['setup_p99'], 1)} ({_num(r['setup_total_s'], 1)} s all)",
                    _num(r["median_p50"], 1), _num(r["last_p50"], 1), _num(r["last_p99"], 1),
                    _num(r["update_p50"], 2), _num(r["update_p99"], 2),
                    f"{r['missed']} ({r['connected']} held)", _num(r["rss_per_connection_kib"], 1),
                ]))
    if rt_rows:
        lines += ["## 2. Subscriptions over the AppSync real-time endpoint", "",
                  "One subscriber: `delivery` is sending `updateJob` -> the subscriber holds the event. Fan-out: every "
                  "subscriber on its own connection, all on one job.", "",
                  _row(["subscribers", "server", "setup p50 / p99", "half have it (p50)", "last has it p50",
                        "last has it p99", "updateJob p50", "updateJob p99", "missed", "RSS KiB/conn"]),
                  _row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]), *rt_rows, ""]

    e2e = (results.get("e2e") or {}).get("ours")
    sustained = (results.get("sustained") or {}).get("ours")
    if e2e or sustained:
        lines += ["## 3. End to end, with the worker", ""]
        if e2e:
            lines += [f"`echo` job: submit -> its SUCCEEDED event at a subscriber: p50 {_num(e2e['p50'], 1)} ms, "
                      f"p90 {_num(e2e['p90'], 1)}, p99 {_num(e2e['p99'], 1)} ms (submitJob answer alone: p50 "
                      f"{_num(e2e['submit_p50'], 1)} ms). Jobs that finished before their subscription started "
                      f"(`raced`, left out): {e2e['raced']}; failed: {e2e['failed']}.", ""]
            if e2e.get("phase_created_to_started") is not None:
                lines += ["Where the time goes (p50, from the job's own timestamps, ms precision): submit -> stored "
                          f"{_num(e2e['phase_to_created'], 1)} ms; stored -> claimed RUNNING by the worker "
                          f"{_num(e2e['phase_created_to_started'], 1)} ms; RUNNING -> SUCCEEDED recorded "
                          f"{_num(e2e['phase_started_to_finished'], 1)} ms; recorded -> event at the subscriber "
                          f"{_num(e2e['phase_finished_to_event'], 1)} ms.", ""]
        if sustained:
            w = sustained.get("window_rates") or {}
            lines += [f"Sustained: **{_num(sustained['jobs_per_s'], 1)} jobs/s** completed over "
                      f"{_num(sustained['measured_s'], 0)} s with {sustained['clients']} clients (5 s windows: min "
                      f"{_num(w.get('min'))}, median {_num(w.get('median'))}, max {_num(w.get('max'))}); server process "
                      f"CPU {sustained['server_cpu_util']:.0%} of one core; unfinished after drain: "
                      f"{sustained['unfinished_after_drain']}, failed: {sustained['failed_jobs']}.", ""]

    lam = (results.get("lambda") or {}).get("ours")
    if lam:
        imports = lam["imports"]
        lines += ["## 4. Lambda handlers", "",
                  "Import cost in a fresh interpreter, minus the bare interpreter's: CPU time (wall time in brackets).", "",
                  _row(["module", "bytecode cached", "no bytecode (a real Lambda cold start)", "-X importtime (cached)"]),
                  _row(["---", "---:", "---:", "---:"])]
        for module in ("resolvers.handler", "worker.handler"):
            c, n = imports["cached_bytecode"][module], imports["no_bytecode"][module]
            lines.append(_row([f"`{module}`", f"{_num(c['import_ms'], 0)} ms ({_num(c['import_wall_ms'], 0)})",
                               f"{_num(n['import_ms'], 0)} ms ({_num(n['import_wall_ms'], 0)})",
                               f"{_num(c['importtime_ms'], 0)} ms"]))
        asset = lam["asset"]
        lines.append("")
        if asset.get("available"):
            biggest = ", ".join(f"{k} {v:.1f}" for k, v in asset["largest_mib"].items())
            lines += [f"Asset ({asset['platform']}): **{asset['zip_mib']:.1f} MiB zipped**, {asset['unzipped_mib']:.1f} MiB "
                      f"unzipped (Lambda limits 50 / 250 MiB); our code {asset['our_code_kib']:.0f} KiB; largest (MiB): "
                      f"{biggest}.", ""]
        else:
            lines += [f"Asset size unavailable: {asset.get('why')}", ""]
    return "\n".join(lines) + "\n"


def plot(summary: dict[str, Any], path: Path) -> str | None:
    """Four panels; returns why the plot was skipped, or None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib); plot skipped"
    results = summary["results"]
    colors = {"ours": "#1f77b4", "simulator": "#ff7f0e"}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    fig.suptitle(f"appsync-jobs local server vs Amplify AppSync simulator - {summary['when']} ({summary['plan']})")

    ax = axes[0][0]
    keys = [k for k in ("submit_c1", "submit_c16") if k in results]
    for i, side in enumerate(("ours", "simulator")):
        values = [(results[k].get(side) or {}).get("rps") for k in keys]
        xs = [j + (i - 0.5) * 0.38 for j in range(len(keys))]
        bars = ax.bar(xs, [v or 0 for v in values], width=0.36, color=colors[side], label=side)
        for bar, key in zip(bars, keys, strict=True):
            p50 = (results[key].get(side) or {}).get("p50")
            if p50 is not None:
                ax.annotate(f"p50 {p50:.1f} ms", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(keys)), [f"c={k.split('c')[-1]}" for k in keys])
    ax.set_title("1. submitJob over HTTP: requests/s (higher is better)")
    ax.legend()

    ax = axes[0][1]
    sizes = sorted(int(k.split("_")[1]) for k in results if k.startswith("fanout_"))
    for side in ("ours", "simulator"):
        xs, ys, upd = [], [], []
        if (results.get("delivery") or {}).get(side):
            xs.append(1)
            ys.append(results["delivery"][side]["delivery_p50"])
            upd.append(results["delivery"][side]["update_p50"])
        for size in sizes:
            r = results[f"fanout_{size}"].get(side)
            if r:
                xs.append(size)
                ys.append(r["last_p50"])
                upd.append(r["update_p50"])
        if xs:
            ax.plot(xs, ys, "o-", color=colors[side], label=f"{side}: last subscriber has it")
            ax.plot(xs, upd, "s--", color=colors[side], alpha=0.6, label=f"{side}: updateJob response")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("subscribers (one connection each)")
    ax.set_ylabel("ms (p50)")
    ax.set_title("2. updateJob -> subscribers (lower is better)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)

    ax = axes[1][0]
    labels, ours_v, sim_v = [], [], []
    for size in sizes:
        for metric, label in (("rss_per_connection_kib", f"RSS KiB/conn\n{size}"), ("setup_p50", f"setup ms p50\n{size}")):
            labels.append(label)
            ours_v.append((results[f"fanout_{size}"].get("ours") or {}).get(metric) or 0)
            sim_v.append((results[f"fanout_{size}"].get("simulator") or {}).get(metric) or 0)
    xs = range(len(labels))
    ax.bar([x - 0.19 for x in xs], ours_v, width=0.38, color=colors["ours"], label="ours")
    ax.bar([x + 0.19 for x in xs], sim_v, width=0.38, color=colors["simulator"], label="simulator")
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.set_title("2. real-time connections: memory and setup (lower is better)")
    ax.legend()

    ax = axes[1][1]
    bars_l, bars_v, goals = [], [], []
    e2e = (results.get("e2e") or {}).get("ours")
    if e2e:
        bars_l.append("e2e no-op\np50 ms")
        bars_v.append(e2e["p50"])
        goals.append(10)
    sustained = (results.get("sustained") or {}).get("ours")
    if sustained:
        bars_l.append("pipeline\njobs/s")
        bars_v.append(sustained["jobs_per_s"])
        goals.append(300)
    lam = (results.get("lambda") or {}).get("ours")
    if lam:
        for module in ("resolvers.handler", "worker.handler"):
            bars_l.append(f"import ms\n{module.split('.')[0]}")
            bars_v.append(lam["imports"]["cached_bytecode"][module]["import_ms"])
            goals.append(300)
    if bars_l:
        xs = range(len(bars_l))
        ax.bar(list(xs), bars_v, color=colors["ours"], label="measured")
        ax.scatter(list(xs), goals, marker="_", s=900, color="red", label="target", zorder=3)
        ax.set_xticks(list(xs), bars_l, fontsize=8)
        ax.set_yscale("log")
    ax.set_title("3-4. pipeline and Lambda vs targets (red)")
    if bars_l:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(summary: dict[str, Any], out: Path) -> dict[str, Any]:
    table = out / "latest.md"
    table.write_text(markdown(summary))
    picture = out / "latest.png"
    skipped = plot(summary, picture)
    return {"table": str(table), "plot": None if skipped else str(picture), "plot_skipped": skipped}
