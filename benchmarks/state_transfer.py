"""Benchmark: what moving an explorer state between processes would cost.

    python benchmarks/state_transfer.py [--runs N]

Issue 29's point 4 (two worker processes, states partitioned by
fingerprint) needs a state another process can read. A packed state
(StepCache.pack) is numbers of this process's interned structures, which
another process's step cache does not have; the form every process can
read is the kernel's value, key(). This prints both sizes, and the time
to pickle and unpickle key() (median of N runs of 5,000 each), beside
the search's time a transition (benchmarks/explore.py, us/tr).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import timeit

from engine.footprint import KNOWN
from engine.init_main import boot
from engine.scenario import load
from engine.stepcache import StepCache


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    print(f"{'scenario':<16} {'LWPs':>4} {'CPUs':>4} {'packed B':>8} {'key() B':>8}"
          f" {'pickle us':>9} {'unpickle us':>11}")
    for name in ("seed-race", "seed-race-4x2"):
        sc = StepCache(KNOWN)
        k = sc.intern(boot(load(name)).copy())
        key = k.key()
        blob = pickle.dumps(key, 5)
        n = 5_000
        dump = statistics.median(timeit.repeat(lambda key=key: pickle.dumps(key, 5), number=n,
                                               repeat=a.runs)) / n * 1e6
        load_ = statistics.median(timeit.repeat(lambda blob=blob: pickle.loads(blob), number=n,
                                                repeat=a.runs)) / n * 1e6
        print(f"{name:<16} {len(k.lwps):>4} {len(k.cpus):>4} {len(sc.pack(k)):>8}"
              f" {len(blob):>8} {dump:>9.1f} {load_:>11.1f}")


if __name__ == "__main__":
    main()
