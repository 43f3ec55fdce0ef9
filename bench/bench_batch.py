"""Benchmark: grade a synthetic class of HW6 submissions (issue 4, "Performance").

Builds a class of N copies of the demo class's student folders (``s000``, ``s001``, ...
round-robin over ``submissions/``, so the mix is deterministic) in a temporary folder and measures:

(a) wall time to grade the class with every check except p5 (``-k "not p5"``), 2 jobs, cold cache
    (a fresh, empty ``--cache-dir``: every probe runs, and its entry is written for (d)); the
    count of p5 scripts run is reported too, and must be 0;
(b) the grader's own overhead per submission, ``(wall * jobs - seconds inside probes) / N``, where
    "inside probes" is what the observations report (``ModuleObservation.seconds``,
    ``ScriptObservation.seconds``), and separately the per-probe process start cost (sandbox,
    interpreter, ``import torch``), which the current design pays once per probe;
(c) the speed-up from 1 to 2 jobs (no cache): on the whole rubric, p5 scripts included, for the
    first ``--script-subset`` submissions (the class as a TA grades it: student code dominates),
    and on the light checks only (``-k "not p5"``) for the first ``--subset`` (where the grader's
    own judging, which already runs beside the sandbox at 1 job, bounds it);
(d) the time to re-grade the class from (a)'s warm cache after a points change (a copy of
    ``rubrics/`` with one point value changed, passed with ``--rubrics``), with the same ``-k``:
    the cache holds no p5 observations, and running 200 scripts is what (e) extrapolates;
(e) p5: the time per ``ddescent.py`` script, from (c)'s whole-rubric runs, and the whole class
    extrapolated from them.

Each measurement runs in a fresh process (``bench_batch.py measure ...``, the library's ``grade``
with a runner that records every sandbox run); its command line is printed with the figures.
(d) is also timed through the ``grade`` command, as a TA runs it. The machine is shared: the
load averages before and after each measurement are recorded.

Run: ``python bench/bench_batch.py [--n 200] [--subset 40] [--only-abc] [--no-write]``; warm
sandbox workers are on unless ``GRADER_WARM=0`` (the cold path: one process per probe).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "submissions"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Batch grading (issue 4)"
HEADING = "### Latest run (written by bench/bench_batch.py)"
TARGET_OVERHEAD_MS = 150.0
TARGET_SPEEDUP = 1.8
TARGET_REGRADE_S = 10.0
BWRAP_TORCH = "bwrap + python -c 'import torch'"


# --- the synthetic class ---------------------------------------------------------------------


def demo_students() -> list[str]:
    """The demo class's student folders, sorted: the variants the synthetic class mixes."""
    return sorted(p.name for p in DEMO.iterdir() if p.is_dir() and (p / "answers.toml").is_file())


def build_class(dest: Path, n: int) -> dict[str, int]:
    """Copy the demo students round-robin into ``dest/s000`` ... and count each variant.

    Round-robin rather than random: the same N always gives the same class, and every variant is
    represented in any prefix of six or more (the subset for the speed-up is such a prefix).
    """
    variants = demo_students()
    counts = dict.fromkeys(variants, 0)
    dest.mkdir(parents=True)
    for i in range(n):
        variant = variants[i % len(variants)]
        shutil.copytree(DEMO / variant, dest / f"s{i:03d}")
        counts[variant] += 1
    return counts


def changed_rubrics(dest: Path) -> tuple[Path, str]:
    """A copy of ``rubrics/`` where p4b's equivalence aspect is worth one point more.

    A points change on the check that runs student code is the interesting case: it must still
    be served from the cache (points are not in the cache key). Returns the folder and a
    one-line description of the change.
    """
    import yaml

    shutil.copytree(ROOT / "rubrics", dest)
    path = dest / "hw6.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problem = next(p for p in data["problems"] if p["id"] == "p4b")
    check = next(c for c in problem["checks"] if c["id"] == "stm")
    check["aspects"]["equivalence"] += 1
    check["points"] += 1
    problem["points"] += 1
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    change = (
        f"p4b.stm equivalence {check['aspects']['equivalence'] - 1} -> "
        f"{check['aspects']['equivalence']} points (p4b {problem['points'] - 1} -> "
        f"{problem['points']})"
    )
    return dest, change


# --- one measurement, in its own process -----------------------------------------------------


@dataclass
class RecordingRunner:
    """Passes jobs to the real sandbox and records each run's timings and observations.

    It sits *inside* the cache, so it sees only the runs that really executed student code.
    """

    inner: Any
    isolation: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.isolation = self.inner.isolation

    def run(self, job: Any) -> Any:
        start = time.monotonic()
        result = self.inner.run(job)
        end = time.monotonic()
        probes = []
        for probe_id, outcome in sorted(result.outcomes.items()):
            obs = outcome.observation
            probes.append(
                {
                    "id": probe_id,
                    "kind": obs.kind if obs else None,
                    "seconds": obs.seconds if obs else None,
                    "run_seconds": getattr(obs, "run_seconds", None),
                    "problem": outcome.problem,
                }
            )
        record = {
            "student": job.submission_dir.name,
            "start": start,
            "end": end,
            "sandbox_seconds": result.seconds,
            "probes": probes,
        }
        with self.lock:
            self.runs.append(record)
        return result


def measure_main(args: argparse.Namespace) -> None:
    """Grade once with the library, as the CLI would, and write the timings as JSON."""
    from grader.pipeline import DEFAULT_COURSES, GradeOptions, grade
    from grader.sandbox.cache import CachingRunner
    from grader.sandbox.runner import SandboxRunner

    recorder = RecordingRunner(SandboxRunner())
    runner: Any = recorder
    if args.cache_dir is not None:  # the same layout as the CLI's --cache-dir
        runner = CachingRunner(recorder, args.cache_dir / "observations")
    options = GradeOptions(
        rubrics_dir=args.rubrics or DEFAULT_COURSES,
        select=args.select,
        jobs=args.jobs,
        runner=runner,
    )
    load_before = os.getloadavg()
    started, cpu_started = time.monotonic(), time.process_time()
    report = grade(args.paths, options)
    wall = time.monotonic() - started
    out = {
        "wall_s": wall,
        "grader_cpu_s": time.process_time() - cpu_started,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "students": len(report.submissions),
        "errors": sum(1 for s in report.submissions if s.error),
        "max_score": sorted({s.max_score for s in report.submissions}),
        "isolation": runner.isolation,
        "hits": getattr(runner, "hits", None),
        "misses": getattr(runner, "misses", None),
        "obs_start": min((r["start"] for r in recorder.runs), default=started),
        "obs_end": max((r["end"] for r in recorder.runs), default=started),
        "t0": started,
        "runs": recorder.runs,
    }
    args.json_out.write_text(json.dumps(out), encoding="utf-8")


# --- the orchestrator ------------------------------------------------------------------------


@dataclass
class Measured:
    """One measurement: its command, its own wall time (process included) and what it recorded."""

    label: str
    command: list[str]
    process_wall_s: float
    data: dict[str, Any]

    @property
    def wall(self) -> float:
        return float(self.data["wall_s"])

    def probe_seconds(self, kind: str | None = None) -> float:
        return sum(
            p["seconds"] or 0.0
            for r in self.data["runs"]
            for p in r["probes"]
            if kind is None or p["kind"] == kind
        )

    def n_probes(self) -> int:
        return sum(len(r["probes"]) for r in self.data["runs"])

    def sandbox_seconds(self) -> float:
        return sum(r["sandbox_seconds"] for r in self.data["runs"])

    def sandbox_phase(self) -> float:
        """Wall time from the first sandbox run's start to the last one's end."""
        return float(self.data["obs_end"] - self.data["obs_start"])

    def serial_phase(self) -> float:
        """The rest of the wall: ingest and collection before, judging and reports after."""
        return self.wall - self.sandbox_phase() if self.data["runs"] else self.wall

    def n_runs(self) -> int:
        return len(self.data["runs"])

    def load(self) -> str:
        before, after = self.data["load_before"], self.data["load_after"]
        return f"{before[0]:.2f} -> {after[0]:.2f}"


def shown(argv: list[str], names: dict[str, str]) -> str:
    """The command as typed from the repository root, temp paths replaced by short names."""
    text = shlex.join(argv)
    for path, name in sorted(names.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, name)
    grade_bin = str(Path(sys.executable).with_name("grade"))
    text = text.replace(grade_bin, "grade").replace(sys.executable, "python")
    return text.replace(str(ROOT) + "/", "")


def run_measure(
    label: str,
    paths: list[Path],
    jobs: int,
    work: Path,
    select: str | None = None,
    cache_dir: Path | None = None,
    rubrics: Path | None = None,
) -> Measured:
    json_out = work / f"{label}.json"
    argv = [sys.executable, str(Path(__file__).resolve()), "measure", *map(str, paths)]
    argv += ["--jobs", str(jobs), "--json-out", str(json_out)]
    if select:
        argv += ["-k", select]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir)]
    if rubrics is not None:
        argv += ["--rubrics", str(rubrics)]
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {shlex.join(argv)}", flush=True)
    started = time.monotonic()
    subprocess.run(argv, cwd=ROOT, check=True)
    elapsed = time.monotonic() - started
    data = json.loads(json_out.read_text(encoding="utf-8"))
    print(f"    wall {data['wall_s']:.1f} s (process {elapsed:.1f} s)", flush=True)
    return Measured(label, argv, elapsed, data)


def run_cli(label: str, argv: list[str]) -> tuple[float, str]:
    """The real `grade` command, timed end to end (interpreter start and imports included)."""
    print(f"[{time.strftime('%H:%M:%S')}] {label}: {shlex.join(argv)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{label} exited {done.returncode}: {done.stderr[-2000:]}")
    print(f"    {elapsed:.2f} s", flush=True)
    return elapsed, done.stdout


def time_command(
    argv: list[str], repeats: int, env: dict[str, str], cwd: Path | None = None
) -> tuple[float, float]:
    """Median wall and median CPU (user + sys, from `wait4`) seconds of a short command.

    CPU is reported beside wall because the machine is shared: CPU is what a start costs, wall
    adds the wait for a core.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        walls.append(time.monotonic() - started)
        cpus.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}")
    return statistics.median(walls), statistics.median(cpus)


def start_costs(work: Path, repeats: int) -> dict[str, tuple[float, float]]:
    """What starting one probe process costs, piece by piece (sequential, medians).

    The bubblewrap lines use the sandbox's own bwrap arguments and environment
    (`grader.sandbox.runner`) around a command that only imports torch, which the module probe does
    before its clock starts: that import is outside `ModuleObservation.seconds`.
    """
    from grader.sandbox.confinement import bubblewrap_available, bwrap_argv, sandbox_env
    from grader.sandbox.jobs import Limits

    scratch = work / "bwrap-scratch"
    for folder in ("sub", "io/out", "home", "tmp"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    for name in ("probe.py", "plan.json", "inputs.npz"):
        (scratch / "io" / name).write_bytes(b"")
    py = [sys.executable, "-I", "-B", "-c"]
    plain_env = sandbox_env(str(scratch), Limits())
    costs = {
        f"python -c {label}": time_command([*py, code], repeats, plain_env, scratch / "sub")
        for label, code in (
            ("pass", "pass"),
            ("'import numpy'", "import numpy"),
            ("'import torch'", "import torch"),
        )
    }
    if not bubblewrap_available():
        return costs
    env = sandbox_env("/sandbox", Limits())
    setenv = [arg for key, value in env.items() for arg in ("--setenv", key, value)]
    base = [*bwrap_argv(scratch, "/sandbox"), *setenv, *py]
    for label, code in (("pass", "pass"), ("'import torch'", "import torch")):
        costs[f"bwrap + python -c {label}"] = time_command(
            [*base, code], repeats, env, scratch / "sub"
        )
    return costs


def verdict(ok: bool, detail: str) -> str:
    return f"met ({detail})" if ok else f"**missed** ({detail})"


def _ms(costs: dict[str, tuple[float, float]], label: str) -> str:
    if label not in costs:
        return "n/a"
    wall, cpu = costs[label]
    cpu_text = f"{cpu * 1000:.0f} ms CPU" if cpu > 0.01 else "CPU not visible through bwrap"
    return f"{wall * 1000:.0f} ms wall, {cpu_text}"


def table_rows(
    args: argparse.Namespace,
    mix: str,
    costs: dict[str, tuple[float, float]],
    a: Measured,
    c1: Measured,
    c2: Measured,
    regrade: tuple[Measured, float, str] | None,
    e1: Measured | None,
    e2: Measured | None,
) -> list[tuple[str, str, str, str, str]]:
    """The Markdown rows: (tag, what, value, target and verdict, load before -> after).

    Without (d) and (e) (`--only-abc`) their rows are left out."""
    if regrade is None or e1 is None or e2 is None:
        rows = table_rows(args, mix, costs, a, c1, c2, (a, 0.0, ""), a, a)
        return [
            row for row in rows if row[0] not in ("(d)", "(e)") and "whole rubric" not in row[1]
        ]
    n = args.n
    d, d_wall, change = regrade
    inside = a.probe_seconds()
    overhead_ms = (a.wall * 2 - inside) / n * 1000
    start_ms = (a.sandbox_seconds() - inside) / max(a.n_probes(), 1) * 1000
    in_grader_ms = (a.wall * 2 - a.sandbox_seconds()) / n * 1000
    speedup = c1.wall / c2.wall
    full_speedup = e1.wall / e2.wall
    # At 1 job the grader judges beside the one sandbox slot, so 2 jobs can gain at most
    # 2 S / (S + G): S the sandbox's seconds per submission at 1 job, G the grader's CPU.
    s_per = c1.sandbox_seconds() / max(int(c1.data["students"]), 1)
    g_per = c1.data["grader_cpu_s"] / max(int(c1.data["students"]), 1)
    bound = 2 * s_per / (s_per + g_per)
    regrade_ok = d_wall < TARGET_REGRADE_S and d.data.get("misses") == 0
    full_n = int(e1.data["students"])
    scripts = e1.probe_seconds("script") / max(full_n, 1)
    p5_class = e2.wall / max(full_n, 1) * n
    scripts_run = sum(1 for r in a.data["runs"] for p in r["probes"] if p["kind"] == "script")
    rows = [
        ("setup", "synthetic class", f"{n} submissions, round-robin: {mix}", "", ""),
        (
            "(a)",
            'wall, whole class, `-k "not p5"`, 2 jobs, cold cache',
            f"**{a.wall:.1f} s** ({a.wall / n * 1000:.0f} ms per submission): sandbox phase "
            f"{a.sandbox_phase():.1f} s ({a.n_runs()} sandbox runs, {a.n_probes()} probes, "
            f"{scripts_run} of them p5 scripts), serial ingest + collection + judging "
            f"{a.serial_phase():.1f} s",
            "",
            a.load(),
        ),
        (
            "(b)",
            "grader overhead per submission, (wall x 2 - probe seconds) / N",
            f"**{overhead_ms:.0f} ms** (time inside probes: {inside:.1f} s for the class, "
            f"{inside / n * 1000:.0f} ms per submission)",
            f"<= {TARGET_OVERHEAD_MS:.0f} ms with warm workers: "
            + verdict(
                overhead_ms <= TARGET_OVERHEAD_MS,
                f"{overhead_ms / TARGET_OVERHEAD_MS:.1f}x the target",
            ),
            a.load(),
        ),
        (
            "(b)",
            "... per-probe process start: (sandbox run - probe seconds) per probe",
            f"{start_ms:.0f} ms (scratch copy, then a warm worker's fork, tidy-up and reading the "
            "outcome; a worker's own start, once per job slot, included)",
            "",
            a.load(),
        ),
        (
            "(b)",
            "... in the grader process: (wall x 2 - sandbox seconds) / N",
            f"{in_grader_ms:.0f} ms (grader CPU {a.data['grader_cpu_s'] / n * 1000:.0f} ms "
            "per submission; the rest is a core idle in the serial phases)",
            "",
            a.load(),
        ),
        (
            "(b)",
            f"start cost alone, sequential, median of {args.start_repeats}: `python -I -B -c pass`",
            _ms(costs, "python -c pass"),
            "",
            "",
        ),
        ("(b)", "... `python -c 'import numpy'`", _ms(costs, "python -c 'import numpy'"), "", ""),
        ("(b)", "... `python -c 'import torch'`", _ms(costs, "python -c 'import torch'"), "", ""),
        (
            "(b)",
            "... the sandbox's bwrap + `python -c pass` / `'import torch'`",
            f"{_ms(costs, 'bwrap + python -c pass')} / {_ms(costs, BWRAP_TORCH)}",
            "",
            "",
        ),
        (
            "(c)",
            f"speed-up 1 -> 2 jobs, whole rubric (p5 scripts included), first "
            f"{full_n} submissions, no cache",
            f"**{full_speedup:.2f}x** ({e1.wall:.1f} s -> {e2.wall:.1f} s)",
            f">= {TARGET_SPEEDUP}x: "
            + verdict(full_speedup >= TARGET_SPEEDUP, f"{full_speedup:.2f}x"),
            f"{e1.load()}; {e2.load()}",
        ),
        (
            "(c)",
            f'... light checks only (`-k "not p5"`), first {args.subset} submissions, no cache',
            f"{speedup:.2f}x ({c1.wall:.1f} s -> {c2.wall:.1f} s; sandbox phase "
            f"{c1.sandbox_phase():.1f} s -> {c2.sandbox_phase():.1f} s). At most "
            f"2 S / (S + G) = {bound:.2f}x: at 1 job the grader already judges beside the "
            f"sandbox, S = {s_per * 1000:.0f} ms sandbox and G = {g_per * 1000:.0f} ms grader "
            "CPU per submission",
            "",
            f"{c1.load()}; {c2.load()}",
        ),
        (
            "(d)",
            f're-grade the class (`-k "not p5"`) from (a)\'s warm cache after a points '
            f"change ({change})",
            f"**{d_wall:.1f} s** with `grade` (its start and imports included); {d.wall:.1f} s "
            f"inside `grade()`; {d.data['hits']} cache hits, {d.data['misses']} misses; "
            f"max score now {d.data['max_score']}",
            f"< {TARGET_REGRADE_S:.0f} s: "
            + verdict(regrade_ok, f"{d_wall / TARGET_REGRADE_S:.1f}x the limit"),
            d.load(),
        ),
        (
            "(e)",
            f"p5 scripts, from (c)'s whole-rubric runs ({full_n} submissions)",
            f"{scripts:.1f} s per submission inside its script probe, at 1 job",
            "",
            f"{e1.load()}; {e2.load()}",
        ),
        (
            "(e)",
            f"whole rubric extrapolated to {n} submissions, 2 jobs",
            f"~{p5_class / 60:.1f} min ({e2.wall:.1f} s / {full_n} x {n})",
            "",
            "",
        ),
    ]
    return rows


def orchestrate(args: argparse.Namespace) -> None:
    from grader import __version__

    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    names = {str(work): "$WORK"}
    class_dir, subset_dir = work / "class", work / "subset"
    counts = build_class(class_dir, args.n)
    build_class(subset_dir, args.subset)
    mix = ", ".join(f"{k} x{v}" for k, v in counts.items())
    print(f"class: {args.n} submissions in {class_dir} ({mix})", flush=True)

    costs = start_costs(work, args.start_repeats)
    for label, (wall, cpu) in costs.items():
        print(
            f"    start cost {label}: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU",
            flush=True,
        )

    cold = work / "cache-a"
    a = run_measure("a_class_j2", [class_dir], 2, work, select="not p5", cache_dir=cold)
    c1 = run_measure("c_subset_j1", [subset_dir], 1, work, select="not p5")
    c2 = run_measure("c_subset_j2", [subset_dir], 2, work, select="not p5")
    commands = [
        ("(a)", shown(a.command, names)),
        ("(c)", shown(c1.command, names)),
        ("(c)", shown(c2.command, names)),
    ]
    if args.only_abc:
        rows = table_rows(args, mix, costs, a, c1, c2, None, None, None)
    else:
        rubrics, change = changed_rubrics(work / "rubrics-changed")
        grade_bin = str(Path(sys.executable).with_name("grade"))
        d_cli = [grade_bin, str(class_dir), "--rubrics", str(rubrics), "--cache-dir", str(cold)]
        d_cli += ["-k", "not p5", "-j", "2", "-q"]
        d_wall, d_out = run_cli("d_regrade_cli", d_cli)
        (work / "regrade_cli_stdout.txt").write_text(d_out, encoding="utf-8")
        d = run_measure(
            "d_regrade_lib", [class_dir], 2, work, select="not p5", cache_dir=cold, rubrics=rubrics
        )
        scripts_dir = work / "scripts-subset"
        build_class(scripts_dir, args.script_subset)
        e1 = run_measure("c_full_j1", [scripts_dir], 1, work)
        e2 = run_measure("c_full_j2", [scripts_dir], 2, work)
        rows = table_rows(args, mix, costs, a, c1, c2, (d, d_wall, change), e1, e2)
        commands += [
            ("(d)", shown(d_cli, names)),
            ("(d)", shown(d.command, names)),
            ("(e)", shown(e1.command, names)),
            ("(e)", shown(e2.command, names)),
        ]
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    lines = [
        HEADING,
        "",
        f"Run: `python bench/bench_batch.py --n {args.n} --subset {args.subset}"
        + (" --only-abc" if args.only_abc else "")
        + f"` (GRADER_WARM={os.environ.get('GRADER_WARM', '1')}) "
        f"on {time.strftime('%Y-%m-%d %H:%M')}; grader {__version__} at {revision()}, "
        f"isolation {a.data['isolation']}.",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}. **Shared**: other processes ran during the benchmark.",
        f"`uptime` before: `{uptime_before}`",
        f"`uptime` after: `{uptime_after}`",
        "",
        "| | measured | value | target (issue 4) | 1-min load before -> after |",
        "|---|---|---|---|---|",
        *(f"| {a_} | {b_} | {c_} | {d_} | {e_} |" for a_, b_, c_, d_, e_ in rows),
        "",
        "Commands (`$WORK` is the temporary folder the benchmark built; each `measure` runs the "
        "library's `grade()` in a fresh process with a runner that records every sandbox run):",
        "",
        *(f"- {tag} `{cmd}`" for tag, cmd in commands),
        "",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    print(f"raw measurements kept in {work}")
    if not args.no_write:
        write_results(table)
        print(f"written to {RESULTS}")


def revision() -> str:
    """The commit measured, marked when the working tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "grader", "rubrics", "reference"],
        capture_output=True,
        text=True,
    )
    commit = head.stdout.strip() or "unknown commit"
    return f"`{commit}`" + (" (grader/, rubrics/ or reference/ modified)" if dirty.stdout else "")


def write_results(section: str) -> None:
    """Put the run under SECTION as HEADING, replacing the previous latest run only: the
    earlier runs and the notes on them, written by hand below it, stay."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n"
    start = text.find(HEADING)
    if start < 0:
        start = text.index(SECTION) + len(SECTION) + 1
        text = text[:start] + "\n" + text[start:]
        start += 1
        end = start
    else:
        ends = [i for i in (text.find("\n## ", start), text.find("\n### ", start + 1)) if i >= 0]
        end = min(ends) + 1 if ends else len(text)
    RESULTS.write_text(text[:start] + section.rstrip("\n") + "\n\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="batch grading benchmark (issue 4)")
    sub = parser.add_subparsers(dest="command")
    measure = sub.add_parser("measure", help="one measurement (used by the benchmark itself)")
    measure.add_argument("paths", nargs="+", type=Path)
    measure.add_argument("--jobs", type=int, required=True)
    measure.add_argument("-k", dest="select")
    measure.add_argument("--cache-dir", type=Path)
    measure.add_argument("--rubrics", type=Path)
    measure.add_argument("--json-out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=200, help="submissions in the synthetic class")
    parser.add_argument("--subset", type=int, default=40, help="submissions for the speed-up")
    parser.add_argument(
        "--script-subset",
        type=int,
        default=24,
        help="submissions for the whole-rubric speed-up (each runs a p5 script of seconds)",
    )
    parser.add_argument("--start-repeats", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help=f"do not touch {RESULTS.name}")
    parser.add_argument(
        "--only-abc",
        action="store_true",
        help="measure (a) to (c) on the light checks only: no cached re-grade (d), no p5 "
        "scripts (the whole-rubric speed-up and (e))",
    )
    args = parser.parse_args()
    if args.command == "measure":
        measure_main(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
