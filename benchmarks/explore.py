"""Benchmark: the explorer's time, states and states/s (figures, not tests).

    python benchmarks/explore.py [--max-states N]

Runs each configuration once (the machine is shared: compare orders of
magnitude). SPIN's figures for its Promela model of the same race are in
../shared/anchors/spin/results.md; when `spin` is installed, set SPIN=1 to
run its 4:1 configuration in the same run (it takes minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from engine.explore import explore, explore_scenario
from engine.init_main import boot
from engine.scenario import load, load_text

SAFE_2CPU = """
[scenario]
title = "bound caller, migration already planned"
description = "2 CPUs"
[kernel]
ncpu = 2
fix = true
srcroot = "/usr/src"
[[lwp]]
pid = 9
lid = 1
comm = "ifconfig"
cpu = 0
program = "ioctl"
"""


def row(name: str, res) -> None:  # type: ignore[no-untyped-def]
    rate = res.states / res.seconds if res.seconds else 0.0
    print(f"{name:<44} {res.verdict:<9} steps {res.steps:>4}  states {res.states:>9,}"
          f"  transitions {res.transitions:>10,}  {res.seconds:8.2f} s  {rate:9,.0f} states/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-states", type=int, default=300_000)
    a = ap.parse_args()
    row("psref-unbound", explore_scenario(load("psref-unbound")))
    row("setaffinity-sleeping (fix), no clock", explore_scenario(load("setaffinity-sleeping"),
                                                                 ticks=0))
    row("setaffinity-sleeping (fix), 3 ticks", explore_scenario(load("setaffinity-sleeping")))
    for fix in (True, False):
        k = boot(load_text(SAFE_2CPU, "safe.toml"), fix=fix)
        k.lwps[0].l_target_cpu = 1
        row(f"2 CPUs, target preset, 3 ticks, fix {'on' if fix else 'off'}", explore(k, ticks=3))
    for fix in (False, True):
        row(f"seed-race (4 CPUs x 1 hog), fix {'on' if fix else 'off'}",
            explore_scenario(load("seed-race"), fix=fix, max_states=a.max_states))
    if os.environ.get("SPIN") == "1":
        here = Path(__file__).resolve().parent.parent.parent / "shared" / "anchors" / "spin"
        subprocess.run(["bash", str(here / "run.sh")], env={**os.environ, "CONFIGS": "4:1"},
                       check=False)


if __name__ == "__main__":
    main()
