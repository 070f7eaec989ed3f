"""Benchmark: the explorer beside SPIN, on the same machine, in the same run.

    python benchmarks/explore.py [--seconds S] [--rate-states N] [--sleep-depth D]
                                 [--spin C:B,...] [--no-spin]
    python benchmarks/explore.py --verdicts [--seconds S]
    python benchmarks/explore.py --core [--core-states N] [--seconds S] [--spin C:B,...]
    python benchmarks/explore.py --clock [--seconds S] [--no-spin]
    python benchmarks/explore.py --jobs [--jobs-states N] [--seconds S] [--spin C:B,...]

Each ddbstep figure comes from a fresh `ddbstep explore ... --json` process
under GNU time (so the peak RSS is the process's own), bounded by --seconds:

  rate      states/s of the search as it is (step cache, packed frontier,
            sleep sets) against the same search with --no-cache, on the
            first --rate-states states of seed-race and seed-race-4x2: the
            same states, so the ratio is the cache's speed-up; and against
            --no-cache --no-sleep, every reduction added for speed off (the
            states kept at the last cost differ a little);
  sleep     the same searches with and without sleep sets (--no-sleep):
            seed-race to depth --sleep-depth and seed-race-3x1's shortest;
            the states kept are the same at each cost below the last, so
            the ratios are of transitions and seconds;
  default   seed-race, seed-race-4x2 and seed-race-3x1: the first panic
            (--first), the shortest, and the proof of the fix (--fix);
  verdicts  (--verdicts) the README's verdict table: every bundled scenario
            and the seed-shaped machines of "Is the fix appropriate?";
  core      (--core) the compiled step cache (engine/_stepcache.c) beside
            the pure Python (DDBSTEP_PURE=1) on the same searches, which
            must agree on states and transitions; then issue 29's targets
            with the compiled core: the seed's first and shortest panic,
            seed-race-4x2's shortest, the proofs of the fix.
  clock     (--clock) countdowns capped by the clock budget (the default)
            beside --no-clock-cap: the same shortest panics, the states
            and seconds each takes, and the fix's proofs to a depth.
  jobs      (--jobs) the search in one process beside two (--jobs 1 and 2,
            engine/explore/jobs.py), which must agree on every count:
            seed-race --fix's first --jobs-states states and the shortest
            panics of seed-race-3x1, seed-race-4x2 and seed-race.

Every other run is one process (--jobs 1), as the figures before --jobs.

Then SPIN: ../shared/anchors/spin/run.sh on a scratch copy (its results.md
untouched), on the --spin configurations with TMAX = --seconds, its records
printed beside ours. "limit" means no verdict in the time given.
`ddbstep --version` says which step cache runs (compiled unless
DDBSTEP_PURE=1 or it was not built).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIN_DIR = ROOT.parent / "shared" / "anchors" / "spin"


def machine(ncpu: int, nbg: int) -> str:
    """A seed-shaped scenario with ncpu CPUs and nbg extra hogs queued on each."""
    lwps = ['pid = 15571\nlid = 1\ncomm = "tcpdump"\ncpu = 0\nprogram = "ioctl"',
            'pid = 0\nlid = 1\ncomm = "system"\nname = "swapper"\ncpu = 1\n'
            'program = "uvm_scheduler"']
    for ci in range(ncpu):
        for j in range(nbg):
            lwps.append(f'pid = {2000 + 10 * ci + j}\nlid = 1\ncomm = "hog"\ncpu = {ci}\n'
                        'program = "hog"')
    body = "\n\n".join(f"[[lwp]]\n{x}" for x in lwps)
    return (f'[scenario]\ntitle = "{ncpu} CPUs x {nbg} hogs"\n'
            f'description = "benchmark machine shaped like the seed"\n\n'
            # rrticks = 1 compresses time as the bundled scenarios do (the
            # kernel has hz / 10): the clock budget is counted in ticks.
            f'[kernel]\nncpu = {ncpu}\nfix = false\nsrcroot = "/usr/src"\nrrticks = 1\n\n'
            f'{body}\n')


def explore(target: str, seconds: float, *flags: str, pure: bool = False,
            jobs: int = 1) -> dict[str, object]:
    cmd = [sys.executable, "-m", "tui.cli", "explore", target, "--json",
           "--max-seconds", str(seconds), "--jobs", str(jobs), *flags]
    timer = ["/usr/bin/time", "-f", "%e %M"] if Path("/usr/bin/time").exists() else []
    env = {**os.environ, "DDBSTEP_PURE": "1" if pure else "0"}
    p = subprocess.run(timer + cmd, cwd=ROOT, capture_output=True, text=True, check=False,
                       env=env)
    try:
        fig: dict[str, object] = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"verdict": "error", "message": p.stderr.strip()[-200:]}
    if timer:
        wall, rss = p.stderr.strip().splitlines()[-1].split()
        fig["wall"] = float(wall)
        fig["rss_mb"] = int(rss) / 1024
    return fig


HEAD = (f"{'configuration':<36} {'verdict':<7} {'first':>5} {'first s':>8} {'steps':>5}"
        f" {'states':>10} {'transitions':>11} {'seconds':>8} {'states/s':>9} {'RSS MB':>7}"
        f" {'us/tr':>6}")


def row(name: str, fig: dict[str, object]) -> None:
    if fig.get("verdict") == "error":
        print(f"{name:<36} error: {fig.get('message')}", flush=True)
        return
    secs = float(fig["seconds"])  # type: ignore[arg-type]
    states = int(fig["states"])  # type: ignore[call-overload]
    rate = states / secs if secs else 0.0
    verdict = str(fig["verdict"])
    steps = fig["steps"] if verdict in ("panic", "invariant") else "-"
    if verdict == "panic" and not fig.get("shortest", True):
        steps = f"<={steps}"  # (the first panic; the shortest not proved in time)
    first = fig.get("first_steps") or "-"
    fsecs = fig.get("first_seconds")
    fs = f"{float(fsecs):.2f}" if fsecs is not None else "-"  # type: ignore[arg-type]
    trans = int(fig["transitions"])  # type: ignore[call-overload]
    per = secs * 1e6 / trans if trans else 0.0  # (microseconds a transition, misses included)
    print(f"{name:<36} {verdict:<7} {first!s:>5} {fs:>8} {steps!s:>5} {states:>10,}"
          f" {trans:>11,} {secs:>8.2f} {rate:>9,.0f}"
          f" {float(fig.get('rss_mb', 0)):>7.0f} {per:>6.1f}", flush=True)  # type: ignore[arg-type]


def rates(n: int, seconds: float) -> None:
    print(f"\nstates/s on the first {n:,} states (no fast first search), the same states"
          " with and without the step cache, then without sleep sets too:")
    print(HEAD)
    for name in ("seed-race", "seed-race-4x2"):
        figs = []
        for flags in ((), ("--no-cache",), ("--no-cache", "--no-sleep")):
            fig = explore(name, seconds, "--no-first", "--max-states", str(n), *flags)
            row(f"{name} {' '.join(flags) or '(cache, sleep sets)'}", fig)
            figs.append(fig)
        try:
            a, b, c = (int(f["states"]) / float(f["seconds"])  # type: ignore[call-overload,arg-type]
                       for f in figs)
            print(f"{'':<36} speed-up {a / b:.1f}x (cache), {a / c:.1f}x (both)", flush=True)
        except (KeyError, ZeroDivisionError, ValueError):
            pass


def sleeps(depth: int, seconds: float) -> None:
    print("\nsleep sets: the same search with and without (--no-sleep):")
    print(HEAD)
    # (seed-race to a depth without the fast first search: the same levels.)
    for name, flags in (("seed-race", ("--max-steps", str(depth))), ("seed-race-3x1", ())):
        figs = []
        for more in ((), ("--no-sleep",)):
            fig = explore(name, seconds, *flags, *more,
                          *(("--no-first",) if "--max-steps" in flags else ()))
            row(" ".join((name, *flags, *more)), fig)
            figs.append(fig)
        try:
            (ta, sa), (tb, sb) = ((int(f["transitions"]), float(f["seconds"]))  # type: ignore[call-overload,arg-type]
                                  for f in figs)
            print(f"{'':<36} {tb / ta:.2f}x fewer transitions, {sb / sa:.2f}x faster",
                  flush=True)
        except (KeyError, ZeroDivisionError, ValueError):
            pass


def default(seconds: float) -> None:
    print("\nfirst panic, shortest, proof of the fix:")
    print(HEAD)
    for name in ("seed-race", "seed-race-4x2", "seed-race-3x1"):
        row(f"{name} --first", explore(name, seconds, "--first"))
        row(name, explore(name, seconds))
        row(f"{name} --fix", explore(name, seconds, "--fix"))


def same_counts(what: str, fast: dict[str, object], slow: dict[str, object]) -> None:
    """The line under a pair of rows: how much faster `fast` ran than
    `slow`, and whether the two agree on everything but time."""
    try:
        same = all(fast[f] == slow[f] for f in ("verdict", "states", "transitions", "steps"))
        ratio = float(slow["seconds"]) / float(fast["seconds"])  # type: ignore[arg-type]
    except (KeyError, ZeroDivisionError, ValueError):
        return
    print(f"{'':<36} {what} {ratio:.2f}x faster; {'the same' if same else 'DIFFERENT'}"
          " verdict, states, transitions", flush=True)


def core(n: int, seconds: float) -> None:
    print(f"\ncompiled step cache beside pure Python (DDBSTEP_PURE=1), the same searches"
          f" ({n:,} states, or to the end):")
    print(HEAD)
    first_n = ("--no-first", "--max-states", str(n))
    for label, name, flags in (("seed-race", "seed-race", first_n),
                               ("seed-race --fix", "seed-race", ("--fix", *first_n)),
                               ("seed-race-4x2", "seed-race-4x2", first_n),
                               ("seed-race-3x1 --ticks 2", "seed-race-3x1", ("--ticks", "2"))):
        figs = []
        for pure in (False, True):
            fig = explore(name, seconds, *flags, pure=pure)
            row(f"{label}{' (pure)' if pure else ' (compiled)'}", fig)
            figs.append(fig)
        same_counts("compiled", figs[0], figs[1])
    print("\nissue 29's targets, compiled:")
    print(HEAD)
    row("seed-race --first", explore("seed-race", seconds, "--first"))
    row("seed-race", explore("seed-race", seconds))
    row("seed-race-4x2", explore("seed-race-4x2", seconds))
    row("seed-race --fix", explore("seed-race", seconds, "--fix"))
    row("seed-race-4x2 --fix", explore("seed-race-4x2", seconds, "--fix"))


def clock(seconds: float) -> None:
    print("\nclock countdowns capped by the budget, and not (--no-clock-cap):")
    print(HEAD)
    for name, flags in (("seed-race", ()), ("seed-race-4x2", ()), ("seed-race-3x1", ()),
                        ("seed-race", ("--fix", "--max-steps", "100")),
                        ("seed-race-3x1", ("--fix", "--max-steps", "150"))):
        figs = []
        for more in ((), ("--no-clock-cap",)):
            fig = explore(name, seconds, *flags, *more)
            row(" ".join((name, *flags, *more)), fig)
            figs.append(fig)
        try:
            a, b = figs
            same = a["verdict"] == b["verdict"] and a["steps"] == b["steps"]
            print(f"{'':<36} {int(b['states']) / int(a['states']):.2f}x fewer states,"  # type: ignore[call-overload]
                  f" {float(b['seconds']) / float(a['seconds']):.2f}x faster;"  # type: ignore[arg-type]
                  f" {'the same' if same else 'DIFFERENT'} verdict and length", flush=True)
        except (KeyError, ZeroDivisionError, ValueError):
            pass


def jobs(n: int, seconds: float) -> None:
    print(f"\none process beside two (--jobs 1, --jobs 2), the same searches"
          f" (seed-race --fix: its first {n:,} states):")
    print(HEAD)
    for label, name, flags in (
            ("seed-race --fix", "seed-race", ("--fix", "--no-first", "--max-states", str(n))),
            ("seed-race-3x1", "seed-race-3x1", ()),
            ("seed-race-4x2", "seed-race-4x2", ()),
            ("seed-race", "seed-race", ())):
        figs = []
        for j in (1, 2):
            fig = explore(name, seconds, *flags, jobs=j)
            row(f"{label} --jobs {j}", fig)
            figs.append(fig)
        same_counts("two processes", figs[1], figs[0])


def verdicts(seconds: float) -> None:
    print("\nverdicts (README, \"Is the fix appropriate?\"):")
    print(HEAD)
    for name, flags in (("psref-unbound", ()), ("setaffinity-sleeping", ("--ticks", "0")),
                        ("seed-race-3x1", ()), ("seed-race-3x1", ("--fix",)),
                        ("seed-race", ()), ("seed-race", ("--fix",)),
                        ("seed-race-4x2", ()), ("seed-race-4x2", ("--fix",))):
        row(" ".join((name, *flags)), explore(name, seconds, *flags))
    with tempfile.TemporaryDirectory() as tmp:
        for c, b in ((2, 0), (2, 1), (3, 1)):
            path = Path(tmp) / f"m{c}x{b}.toml"
            path.write_text(machine(c, b))
            for fix in (False, True):
                row(f"{c} CPUs x {b} hogs{' --fix' if fix else ''}",
                    explore(str(path), seconds, *(["--fix"] if fix else [])))


def spin(configs: list[str], seconds: float) -> None:
    if shutil.which("spin") is None or shutil.which("gcc") is None:
        print("\nSPIN: not run (spin or gcc missing; Debian: apt-get install spin gcc time)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "spin"
        shutil.copytree(SPIN_DIR, work, ignore=shutil.ignore_patterns("logs", "results.md"))
        env = {**os.environ, "CONFIGS": " ".join(configs), "TMAX": str(int(seconds)),
               "WORK": str(Path(tmp) / "pan")}
        version = subprocess.run(["spin", "-V"], capture_output=True, text=True).stdout.strip()
        print(f"\nSPIN ({version}), run.sh with CONFIGS={' '.join(configs)!r}"
              f" TMAX={int(seconds)}:", flush=True)
        subprocess.run(["bash", str(work / "run.sh")], env=env, cwd=work,
                       capture_output=True, check=False)
        recs = []
        for line in (work / "logs" / "records.tsv").read_text().splitlines():
            recs.append(dict(kv.split("=", 1) for kv in line.split("\t") if "=" in kv))
    print(f"{'run':<34} {'cfg':<4} {'status':<9} {'steps':>5} {'states':>12} {'pan s':>8}"
          f" {'wall s':>7} {'RSS MB':>7}")
    for r in recs:
        if r.get("tag") not in ("bug_bfs", "fix_dfs", "fix_bitstate"):
            continue
        status = ("MEMLIM" if r.get("memlim") == "1" else
                  "timeout" if r.get("interrupted") == "1" else
                  "panic" if r.get("steps") else "safe")
        print(f"{r['variant']:<34} {r['cfg']:<4} {status:<9} {r.get('steps') or '-':>5}"
              f" {r.get('stored', '-'):>12} {r.get('pan_s', '-'):>8} {r.get('wall_s', '-'):>7}"
              f" {r.get('rss_mb', '-'):>7}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0, help="bound on each run")
    ap.add_argument("--rate-states", type=int, default=20_000,
                    help="states for the cache/no-cache comparison")
    ap.add_argument("--sleep-depth", type=int, default=60,
                    help="depth of seed-race's search with and without sleep sets")
    ap.add_argument("--verdicts", action="store_true", help="the README's verdict table")
    ap.add_argument("--core", action="store_true",
                    help="compiled beside pure, then issue 29's targets")
    ap.add_argument("--core-states", type=int, default=200_000,
                    help="states for the compiled/pure comparison")
    ap.add_argument("--clock", action="store_true",
                    help="countdowns capped by the clock budget beside --no-clock-cap")
    ap.add_argument("--jobs", action="store_true", help="one process beside two (--jobs)")
    ap.add_argument("--jobs-states", type=int, default=400_000,
                    help="states of seed-race --fix for the --jobs comparison")
    ap.add_argument("--spin", default="3:1,4:2", help="SPIN configurations to run")
    ap.add_argument("--no-spin", action="store_true")
    a = ap.parse_args()
    version = subprocess.run([sys.executable, "-m", "tui.cli", "--version"], cwd=ROOT,
                             capture_output=True, text=True).stdout.strip()
    print(f"{version}; each run bounded by {a.seconds:g} s; seconds are the search's own,"
          " first s when the first panic was printed")
    if a.verdicts:
        verdicts(a.seconds)
    elif a.core:
        core(a.core_states, a.seconds)
    elif a.clock:
        clock(a.seconds)
    elif a.jobs:
        jobs(a.jobs_states, a.seconds)
    else:
        rates(a.rate_states, a.seconds)
        sleeps(a.sleep_depth, a.seconds)
        default(a.seconds)
    if not a.no_spin:
        spin(a.spin.split(","), a.seconds)


if __name__ == "__main__":
    main()
