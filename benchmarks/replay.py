"""Benchmark: wall time of `ddbstep replay seed-race`, statements/s of c/a.

Prints figures (medians over repeated runs); it asserts nothing. This
machine is shared and noisy: compare medians and ratios, not single runs.

    python benchmarks/replay.py [--runs N] [--steps N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from engine import replay
from engine.ddb.db_command import Session
from engine.scenario import load


def replay_in_process(runs: int) -> list[float]:
    sc = load("seed-race")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        replay.run(sc, sc.commands)
        times.append(time.perf_counter() - t0)
    return times


def replay_command(runs: int, bytecode: bool) -> list[float]:
    """Wall time of the command. bytecode: as Python runs by default, with
    the modules' cached bytecode (a first run, not timed, writes it); else
    with PYTHONDONTWRITEBYTECODE=1 and an empty bytecode cache, every
    module compiled at every start (this machine's environment sets the
    first)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="ddbstep-nopyc-")
    cmd = [sys.executable, "-m", "tui.cli", "replay", "seed-race"]
    if bytecode:
        subprocess.run(cmd, check=True, capture_output=True, env=env)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return times


def continue_all(steps: int, runs: int, fix: bool) -> list[float]:
    """Statements per second of `c/a` on seed-race (clock interrupts included)."""
    rates = []
    for _ in range(runs):
        s = Session.start(load("seed-race"), fix=fix)
        s.execute(f"set $maxsteps = 0t{steps}")
        t0 = time.perf_counter()
        out = s.execute("c/a")
        dt = time.perf_counter() - t0
        done = steps
        for line in out.splitlines():
            if line.startswith("After "):
                done = int(line.split()[1])
        rates.append(done / dt)
    return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--steps", type=int, default=50000)
    a = ap.parse_args()
    inproc = replay_in_process(a.runs)
    print(f"replay seed-race, in process:   median {statistics.median(inproc) * 1e3:8.1f} ms"
          f"  (min {min(inproc) * 1e3:.1f}, max {max(inproc) * 1e3:.1f}, {len(inproc)} runs)")
    for bytecode, how in ((True, "bytecode cached"), (False, "no bytecode cache")):
        cmd = replay_command(max(3, a.runs // 2), bytecode)
        print(f"ddbstep replay seed-race (exec, {how}): median"
              f" {statistics.median(cmd) * 1e3:8.1f} ms"
              f"  (min {min(cmd) * 1e3:.1f}, max {max(cmd) * 1e3:.1f}, {len(cmd)} runs)")
    for fix in (False, True):
        rates = continue_all(a.steps, 3, fix)
        print(f"c/a seed-race{' --fix' if fix else '      '} {a.steps} statements:"
              f" median {statistics.median(rates):10,.0f} statements/s")


if __name__ == "__main__":
    main()
