"""The figures of one ``make bench`` run as JSON and as Markdown tables (``bench/results/latest.*``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STEPS = ("read", "validate", "store", "weight", "estimate", "trend", "publish")
STATISTICS = ("weight", "estimate", "trend")


def _f(x: Any, fmt: str = "{:.2f}") -> str:
    return fmt.format(x) if isinstance(x, (int, float)) and x == x else "–"


def _load(r: dict[str, Any]) -> str:
    return f"{_f(r.get('load_before'))} → {_f(r.get('load_after'))}"


def machine_line(m: dict[str, Any]) -> str:
    la = ", ".join(_f(x) for x in m.get("load_average", []))
    return (
        f"{m.get('cpu_model')}, {m.get('cores_logical')} logical cores ({m.get('cores_physical')} physical), "
        f"{m.get('memory_gb')} GB memory, Python {m.get('python')}, {m.get('platform')}; "
        f"load average at the start {la} (1, 5, 15 min)"
    )


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


def _exponent(e: dict[str, Any] | None) -> str:
    if not e:
        return "– (needs two sizes)"
    return f"b = {e['b']:.3f} over {e['points']} sizes (largest log residual {e['max_abs_log_residual']:.3f})"


def growth_lines(g: dict[str, Any]) -> list[str]:
    rows = [
        [
            f"{r['n']:,}",
            _f(r.get("wall")),
            _f(r.get("peak_mb"), "{:.0f}"),
            _f(r.get("statistics")),
            _load(r),
            r.get("status", ""),
        ]
        for r in g["runs"]
    ]
    lines = _table(
        ["respondents", "wall s", "peak MB (process tree)", "statistics s", "load before → after", "status"], rows
    )
    return lines + [
        "",
        f"Fitted exponent, wall time ≈ a·n^b: {_exponent(g.get('exponent_wall'))}.",
        f"Statistics (weight + estimate + trend) ≈ a·n^b: {_exponent(g.get('exponent_statistics'))}.",
    ]


def steps_lines(runs: list[dict[str, Any]]) -> list[str]:
    rows = []
    for r in runs:
        st = r.get("steps", {})
        rows.append(
            [
                r["label"],
                *(_f(st.get(s)) for s in STEPS),
                _f(r.get("statistics")),
                _f(r.get("wall")),
                _f(r.get("peak_mb"), "{:.0f}"),
                _load(r),
            ]
        )
    return _table(["run", *STEPS, "statistics", "wall", "peak MB", "load"], rows)


def repeat_lines(runs: list[dict[str, Any]]) -> list[str]:
    """Each database's wall times over the repeated runs (the table shows the run of median wall time)."""
    said = [
        f"{r['label']} {', '.join(f'{w:.2f}' for w in sorted(r['walls']))} s"
        for r in runs
        if len(r.get("walls", [])) > 1
    ]
    return ["", f"Wall time of each run (the table shows the median one): {'; '.join(said)}."] if said else []


REPORT_PARTS = ("build", "html", "csv", "xlsx", "px", "jsonstat", "charts", "interactive", "store", "index")


def where_lines(runs: list[dict[str, Any]]) -> list[str]:
    """Where a run's wall time goes: the publish step's parts (run.json's ``publish_parts``; on PostgreSQL and
    for many weights on a SQLite file a thread waits for the wave's load, records the run and stores its
    outputs beside the report: ``record`` and ``run outputs``) and, of the report, its formats
    (``publish.seconds``); the rest of the wall time is what no step measures: the process start-up and
    imports, and the exit (runs before the publish step's ``record`` part also waited for the store thread
    after the statistics: that wait is its own column then)."""
    rows = []
    for r in runs:
        st, pp, rp = r.get("steps", {}), r.get("publish_parts", {}), r.get("report_parts", {})
        if not pp or "wall" not in r:
            continue
        stats = sum(float(st.get(s, 0.0)) for s in STATISTICS)
        measured = sum(float(st.get(s, 0.0)) for s in ("read", "validate", "publish")) + stats
        waited = 0.0 if "record" in pp else max(0.0, float(st.get("store", 0.0)) - stats)
        rows.append(
            [
                r["label"],
                _f(pp.get("analysis_files")),
                _f(pp.get("record")),
                _f(pp.get("run_outputs")),
                _f(pp.get("report")),
                *(_f(rp.get(k)) for k in REPORT_PARTS),
                _f(waited),
                _f(r["wall"] - measured - waited),
            ]
        )
    if not rows:
        return []
    head = [
        "run",
        "analysis files",
        "record (wait for the load)",
        "run outputs",
        "report",
        *REPORT_PARTS,
        "wait for store after the statistics",
        "start, imports, exit",
    ]
    return ["", "Where the time goes (seconds; the report's parts are within `report`):", "", *_table(head, rows)]


def statistics_lines(st: dict[str, Any]) -> list[str]:
    if st.get("status") != "ok":
        return [f"statistics alone: {st.get('status')}"]
    names = ("weight", "estimate", "trend", "statistics", "trend_rows")
    rows = [[k, *(_f(st[k].get(s)) for s in names)] for k in ("wall", "cpu")]
    heads = ["seconds", "weight", "estimate", "trend (on the estimation atoms)", "statistics", "trend from rows"]
    return _table(heads, rows) + [
        "",
        f"Load average {_f(st.get('load_before'))} → {_f(st.get('load_after'))}; "
        f"peak {_f(st.get('peak_mb'), '{:.0f}')} MB (including the read and validation before the clock starts).",
    ]


def store_lines(store: list[dict[str, Any]]) -> list[str]:
    rows = [
        [
            s["db"],
            s["step"],
            f"{s['rows']:,}",
            _f(s.get("seconds")),
            f"{s.get('rows_per_s') or 0:,}",
            _f(s.get("cpu_s")),
            _f(s.get("load_avg")),
        ]
        for s in store
    ]
    return _table(["database", "step", "rows", "s", "rows/s", "cpu s (this process)", "load"], rows)


def _case_label(case: str, waves: int) -> str:
    return "empty store" if case == "empty" else f"store with {waves} waves"


def load_lines(load: dict[str, Any]) -> list[str]:
    """The large wave (peak memory against the goal) and the run on a store of many waves (bench.load)."""
    out: list[str] = []
    big = load.get("big")
    if big:
        verdict = "within" if big.get("within_goal") else "above"
        out += [
            f"Large wave: `trygghet run` on {big['n']:,} respondents (SQLite, default outputs): "
            f"{big.get('status')}, wall {_f(big.get('wall'))} s, peak {_f(big.get('peak_mb'), '{:.0f}')} MB of the "
            f"process tree ({verdict} the goal of {big['goal_mb']:,} MB).",
            "",
            *steps_lines([{**big, "label": f"{big['n']:,}"}]),
            "",
        ]
    many = load.get("many")
    if many:
        pre = many.get("preload", {})
        ratio = many.get("ratio")
        out += [
            f"Many waves: {many['waves']} one-year waves of {many['n']:,} respondents loaded into a SQLite store "
            f"({pre.get('status')}, {_f(pre.get('wall'))} s), then `trygghet run` on the newest wave "
            f"({many['year']}, {many['n']:,} respondents) on that store and on an empty one"
            + (f": preloaded / empty wall = {ratio:.2f}." if ratio else "."),
            "",
            *steps_lines([{**r, "label": _case_label(r["case"], many["waves"])} for r in many["runs"]]),
            "",
        ]
    return out


def peer_lines(peers: dict[str, Any]) -> list[str]:
    tools = peers.get("tools", [])
    base = next((t for t in tools if t["tool"] == "trygghet" and t.get("status") == "ok"), None)
    rows = []
    for t in tools:
        if t.get("status") != "ok":
            rows.append([t["tool"], *(["–"] * 7), t.get("status", "")])
            continue
        st = t.get("steps", {})
        ratio = f"{t['compute'] / base['compute']:.1f}" if base and base.get("compute") else "–"
        rows.append(
            [
                t["tool"],
                _f(st.get("weight")),
                _f(st.get("estimate")),
                _f(st.get("model")),
                _f(t["compute"]),
                _f(t["wall"]),
                _f(t["peak_mb"], "{:.0f}"),
                ratio,
                _load(t),
            ]
        )
    lines = _table(
        ["tool", "weight", "estimate", "model", "compute", "wall", "peak MB", "compute × trygghet", "load"], rows
    )
    ag = peers.get("agreement", {})
    for p in ag.get("estimates", []):
        lines.append(f"- shares {p['a']} vs {p['b']}: max |Δ| = {p['max_abs_diff']:.1e} over {p['domains']} domains")
    for s in ag.get("se", []):
        lines.append(f"- SE {s['tool']} vs {s['reference']}: max |ratio − 1| = {s['max_rel_diff_se']:.1e}")
    for c in ag.get("model", []):
        lines.append(
            f"- model {c['tool']} vs {c['reference']}: max |Δ coef| = {c['max_abs_diff_coef']:.1e}, "
            f"max |SE ratio − 1| = {c['max_rel_diff_se']:.1e}"
        )
    return lines


def versus_svy(report: dict[str, Any]) -> list[str]:
    """All indicators' statistics alone against svy doing one indicator (the issue's goal: 15× faster)."""
    st = report.get("statistics", {})
    svy = next(
        (t for t in report.get("peers", {}).get("tools", []) if t["tool"] == "svy" and t.get("status") == "ok"), None
    )
    if st.get("status") != "ok" or svy is None:
        return []
    mine = st["wall"]["statistics"]
    return [
        f"- all 15 indicators' statistics alone ({mine:.2f} s) against svy's one indicator "
        f"({svy['compute']:.2f} s): {svy['compute'] / mine:.1f}× faster"
    ]


def code_lines(code: dict[str, Any] | None) -> list[str]:
    """``Code: commit abc1234`` and the files that differed from it (none: "no uncommitted changes")."""
    if not code:
        return []
    commit = code.get("commit") or "unknown (not a git checkout)"
    changed = code.get("changed") or []
    if not changed:
        return [f"Code: commit {commit}, no uncommitted changes.", ""]
    names = ", ".join(f"`{c}`" for c in changed[:10]) + (f" and {len(changed) - 10} more" if len(changed) > 10 else "")
    return [f"Code: commit {commit} with uncommitted changes in {len(changed)} files: {names}.", ""]


def markdown(report: dict[str, Any]) -> str:
    """The whole report as Markdown: machine, growth, steps, store, peers, notes."""
    w = report["wave"]
    out = [
        f"# trygghet benchmark, {report['started']}",
        "",
        f"Machine: {machine_line(report['machine'])}.",
        "",
        *code_lines(report.get("code")),
        f"Synthetic waves (`survey.data.synth`): {w['districts']} districts × {w['years']} years, seed {w['seed']}, "
        "all 15 indicators. Seconds are wall time; a busy machine (load above its core count) inflates them.",
        "",
    ]
    if report.get("growth"):
        out += [
            "## Growth: the whole `trygghet run` (SQLite, default outputs)",
            "",
            *growth_lines(report["growth"]),
            "",
        ]
    if report.get("steps"):
        n = report["steps"][0].get("n", 0)
        out += [
            f"## Steps at {n:,} respondents (from run.json; store runs in a thread beside the statistics)",
            "",
            *steps_lines(report["steps"]),
            *repeat_lines(report["steps"]),
            *where_lines(report["steps"]),
            "",
        ]
    if report.get("statistics"):
        n = report["statistics"].get("n", 0)
        out += [
            f"## Statistics alone at {n:,} respondents (bench.statistics: no database thread beside them, "
            "modules imported before the clock)",
            "",
            *statistics_lines(report["statistics"]),
            "",
        ]
    if report.get("store"):
        out += ["## Store throughput (bench.bench_ingest)", "", *store_lines(report["store"]), ""]
    if report.get("load"):
        out += ["## Load (bench.load, issue 11)", "", *load_lines(report["load"])]
    if report.get("peers"):
        out += [
            f"## Peers: one indicator at {report['peers']['n']:,} respondents",
            "",
            "Task (bench/peers.py): raking, `unsafe_after_dark` per year × district with SEs, a logistic trend "
            "model; each tool in its own process.",
            "",
            *peer_lines(report["peers"]),
            *versus_svy(report),
            "",
        ]
    if report.get("notes"):
        out += ["## Notes", "", *(f"- {n}" for n in report["notes"]), ""]
    return "\n".join(out)


def write(report: dict[str, Any], results: Path) -> tuple[Path, Path]:
    """``latest.json`` and ``latest.md`` (and a time-stamped copy of the JSON) under ``results``."""
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, default=float)
    (results / f"bench-{report['started']}.json").write_text(text, encoding="utf-8")
    js, md = results / "latest.json", results / "latest.md"
    js.write_text(text, encoding="utf-8")
    md.write_text(markdown(report), encoding="utf-8")
    return js, md
