"""Benchmark: the explorer beside SPIN, on the same machine, in the same run.

    python benchmarks/explore.py [--seconds S] [--grid C:B,...] [--spin C:B,...] [--no-spin]

For each configuration ddbstep explores (a fresh `ddbstep explore ... --json`
process under GNU time, so the figures include start-up and the peak RSS is
the process's own):
  - seed-race and seed-race-4x2, without and with the fix;
  - a grid of machines shaped like the seed: C CPUs, tcpdump on cpu0,
    lwp0's uvm_scheduler on cpu1, B extra CPU hogs queued on every CPU
    (C:B as in the SPIN anchor; C from 2 to 8, B from 0 to 2).
Each run is bounded by --seconds; "limit" means no verdict in that time.

Then SPIN: ../shared/anchors/spin/run.sh is copied to a scratch directory
(the anchor's own results.md is left alone) and run on the --spin
configurations with TMAX = --seconds; its records are printed beside ours.
Figures are single runs on a shared machine: compare orders of magnitude.
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


def explore(target: str, fix: bool, seconds: float) -> dict[str, object]:
    cmd = [sys.executable, "-m", "tui.cli", "explore", target, "--json",
           "--max-seconds", str(seconds)] + (["--fix"] if fix else [])
    timer = ["/usr/bin/time", "-f", "%e %M"] if Path("/usr/bin/time").exists() else []
    p = subprocess.run(timer + cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    try:
        fig: dict[str, object] = json.loads(p.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"verdict": "error", "message": p.stderr.strip()[-200:]}
    if timer:
        wall, rss = p.stderr.strip().splitlines()[-1].split()
        fig["wall"] = float(wall)
        fig["rss_mb"] = int(rss) / 1024
    return fig


def row(name: str, fig: dict[str, object]) -> None:
    if fig.get("verdict") == "error":
        print(f"{name:<34} error: {fig.get('message')}")
        return
    secs = float(fig["seconds"])  # type: ignore[arg-type]
    states = int(fig["states"])  # type: ignore[call-overload]
    rate = states / secs if secs else 0.0
    steps = fig["steps"] if fig["verdict"] == "panic" else "-"
    print(f"{name:<34} {fig['verdict']:<7} {steps!s:>5} {states:>10,} "
          f"{int(fig['transitions']):>11,} {secs:>8.2f} {float(fig.get('wall', 0)):>8.2f}"  # type: ignore[call-overload]
          f" {rate:>9,.0f} {float(fig.get('rss_mb', 0)):>7.0f}", flush=True)  # type: ignore[arg-type]


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
    ap.add_argument("--grid", default="2:0,2:1,2:2,3:0,3:1,3:2,4:0,4:1,4:2,6:0,8:0")
    ap.add_argument("--spin", default="4:1,4:2", help="SPIN configurations to run")
    ap.add_argument("--no-spin", action="store_true")
    a = ap.parse_args()
    print(f"ddbstep explore, each run bounded by {a.seconds:g} s "
          "(seconds: the search; wall: the process)")
    print(f"{'configuration':<34} {'verdict':<7} {'steps':>5} {'states':>10} {'transitions':>11}"
          f" {'seconds':>8} {'wall':>8} {'states/s':>9} {'RSS MB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for fix in (False, True):
            for name in ("seed-race", "seed-race-4x2"):
                row(f"{name}{' --fix' if fix else ''}", explore(name, fix, a.seconds))
        for cfg in a.grid.split(","):
            c, b = (int(x) for x in cfg.split(":"))
            path = Path(tmp) / f"m{c}x{b}.toml"
            path.write_text(machine(c, b))
            for fix in (False, True):
                row(f"{c} CPUs x {b} hogs{' --fix' if fix else ''}",
                    explore(str(path), fix, a.seconds))
    if not a.no_spin:
        spin(a.spin.split(","), a.seconds)


if __name__ == "__main__":
    main()
