"""`ddbstep review`: "Is the fix appropriate?" answered path by path.

For each way the model moves an LWP (engine.lp_bound: the statements that
write l_cpu, read from the model), the bundled scenario that drives it
with a bound psref holder is explored on the report's fix and on
ddbstep's complete fix (--fix=complete), with the check bound-stays on,
within a state budget. Each verdict says what was established: `proved`
(every state within the clock budget, with their number), `bounded`
(where the full search does not fit: no panic among the schedules with
at most K preemptions, K = 0, 1, ... as far as each level fits the same
state budget, or no panic within N states when not even K = 0 fits;
never "safe"), or `panic` (a schedule, written as a replayable
scenario). The race itself is the report's scenario without the fix.
Budgets are state counts, so the answer is the same on every run; the
time budget only stops a review that overruns it, and says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from engine import lp_bound
from engine.explore import Result, budget_words, explore, explore_scenario, schedule_commands
from engine.init_main import boot
from engine.machine import CHECK_FAILED
from engine.scenario import dump, load

NOT_COVERED = ("Not covered: lwp_migrate()'s LSSTOP and LSSUSPENDED cases (no stopped LWP"
               " is modeled), sys_pset_assign() and pset destroy (kern_pset_assign() skips"
               " LP_BOUND at sys_pset.c l.395: read, not modeled), softint LWPs.")
TICKS = 3
STATES = 250_000
BUDGET = 600.0  # seconds: the review stops (and says so) past this
LEVELS = 3  # preemption bounds tried, 0 to LEVELS, where a proof does not fit


@attrs.frozen
class Verdict:
    kind: str  # proved, bounded, panic
    states: int
    steps: int = 0
    message: str = ""
    scenario: str | None = None  # the replayable schedule, for a panic
    preemptions: int | None = None  # bounded: the largest K whose search ended
    timed_out: bool = False  # the time budget stopped it (not deterministic)

    def words(self) -> str:
        if self.kind == "proved":
            return f"proved: no panic and no bound LWP moved ({self.states} states)"
        if self.kind == "bounded" and self.timed_out:
            return (f"no panic within {self.states} states, stopped by the time budget"
                    " (a bound, not a proof)")
        if self.kind == "bounded" and self.preemptions is not None:
            k = self.preemptions
            return (f"no panic with at most {k} preemption{'s' if k != 1 else ''}"
                    f" ({self.states} states; a bound, not a proof)")
        if self.kind == "bounded":
            return f"no panic within {self.states} states (a bound, not a proof)"
        what = self.message.removeprefix("check ")
        return f"panic in {self.steps} steps: {what[:110]}" + (
            f" [{self.scenario}]" if self.scenario else "")


@attrs.frozen
class PathVerdict:
    path: str  # how the kernel gets there: "cpu_xc_offline -> lwp_migrate"
    writer: str  # func() file:line
    guard: str | None
    scenario: str
    ticks: int
    rrticks: int
    fix: Verdict
    complete: Verdict


def _verdict(name: str, complete: bool, ticks: int, states: int, outdir: Path | None,
             tag: str, deadline: float | None = None) -> Verdict:
    sc = load(name)

    def left() -> float | None:
        return None if deadline is None else max(0.0, deadline - time.perf_counter())

    res = explore_scenario(sc, fix=True, complete=complete, checks=("bound-stays",),
                           ticks=ticks, max_states=states, max_seconds=left())
    if res.verdict == "limit" and res.message.startswith("time limit"):
        return Verdict("bounded", res.states, timed_out=True)
    if res.verdict == "limit":
        # The full search does not fit: the schedules with at most K
        # preemptions, K = 0, 1, ..., each level in the same state budget.
        k0 = boot(sc, True, ("bound-stays",), complete)
        fits: tuple[int, int] | None = None
        for k in range(LEVELS + 1):
            r = explore(k0, ticks=ticks, max_states=states, preemptions=k,
                        max_seconds=left())
            if r.verdict == "bounded":
                fits = (k, r.states)
                continue
            if r.verdict in ("panic", "invariant"):
                res = r
            elif r.message.startswith("time limit"):
                return Verdict("bounded", res.states, timed_out=True,
                               preemptions=fits[0] if fits else None)
            break
        if res.verdict == "limit":
            if fits is None:
                return Verdict("bounded", res.states)
            return Verdict("bounded", fits[1], preemptions=fits[0])
    if res.verdict == "safe":
        return Verdict("proved", res.states)
    return _panic(sc, name, res, outdir, tag)


def _panic(sc: Any, name: str, res: Result, outdir: Path | None, tag: str) -> Verdict:
    """A schedule that ends in a panic, a failed check or a broken
    invariant (the model's own, engine.explore.check_invariants): a hole,
    written as a scenario that replays to it."""
    if res.verdict in ("panic", "invariant") and res.schedule:
        panic = res.verdict == "panic"
        if not panic:
            res = attrs.evolve(res, message=f"invariant broken: {res.message}")
        path = None
        if outdir is not None:
            path = outdir / f"review-{name}-{tag}.toml"
            checked = attrs.evolve(sc, checks=("bound-stays",))
            path.write_text(dump(checked, schedule_commands(res), True, panic=panic,
                                 message=None if not panic or res.message.startswith(
                                     CHECK_FAILED) else res.message,
                                 title=f"{name} under {tag}: the schedule `ddbstep review`"
                                       " found",
                                 description=f"Verdict: {res.message}"))
        return Verdict("panic", res.states, len(res.schedule), res.message,
                       str(path) if path else None)
    return Verdict("bounded", res.states)


def review(states: int = STATES, outdir: Path | None = None,
           progress: Callable[[str], None] | None = None,
           budget: float | None = BUDGET) -> dict[str, Any]:
    """Every path's verdicts, the race, the writers: the answer as data.
    budget: seconds; a search it stops says so (its verdict is then the
    one thing that depends on the machine's speed)."""
    say = progress or (lambda _: None)
    deadline = None if budget is None else time.perf_counter() + budget
    say("the race: seed-race without the fix")
    race = explore_scenario(load("seed-race"), fix=False, ticks=TICKS, max_states=states,
                            stop_at_best=True)
    race_file = None
    if outdir is not None and race.schedule:
        race_file = outdir / "review-seed-race-race.toml"
        race_file.write_text(dump(load("seed-race"), schedule_commands(race), False,
                                  panic=True, message=race.message,
                                  title="The seed race: the schedule `ddbstep review` found",
                                  description=f"Verdict: {race.message}"))
    paths = []
    writers = {(w.func, w.line): w for w in lp_bound.writers()}
    for path in lp_bound.PATHS:
        w = writers[path.writer]
        g = path.guard
        name, ticks = path.scenarios[0], path.ticks
        rrticks = load(name).rrticks
        say(f"{path.name}: {name}, --fix then --fix=complete")
        paths.append(PathVerdict(
            path.name, f"{w.func}() {w.file}:{w.line}",
            f"{g.file}:{g.line}" + (" (the report's fix)" if g.fix_only else "")
            if g is not None else None,
            name, ticks, rrticks,
            _verdict(name, False, ticks, states, outdir, "fix", deadline),
            _verdict(name, True, ticks, states, outdir, "complete", deadline)))
    return {"race": race, "race_file": race_file, "paths": paths, "states": states,
            "levels": LEVELS}


def sentence(r: dict[str, Any]) -> str:
    paths = r["paths"]
    open_paths = [p for p in paths if p.fix.kind == "panic"]
    closed = all(p.complete.kind != "panic" for p in paths)
    count = {k: sum(p.fix.kind == k for p in paths) for k in ("proved", "bounded", "panic")}
    tally = (f"of the {len(paths)} paths that move an LWP, under the fix {count['proved']}"
             f" {'is' if count['proved'] == 1 else 'are'} proved (no panic, no bound LWP moved),"
             f" {count['bounded']} bounded (none found within the budget) and"
             f" {count['panic']} {'panics' if count['panic'] == 1 else 'panic'}")
    if not open_paths:
        return f"The fix closes every path the model has: {tally}."
    s = ("The fix is right for the reported race and not sufficient for the contract"
         f" \"a bound LWP never changes CPU\": {tally}: ")
    s += ", ".join(f"{p.path} ({p.writer})" for p in open_paths)
    s += " still moves a bound LWP under it"
    return s + ("; ddbstep's complete fix closes it" if closed else "") + "."


def text(r: dict[str, Any]) -> list[str]:
    race = r["race"]
    out = ["Is the fix appropriate?", "", sentence(r), ""]
    out.append(f"The race (seed-race, no fix): {race.verdict}, {len(race.schedule)} steps,"
               f" {race.states} states" + (f" [{r['race_file']}]" if r["race_file"] else ""))
    out.append("")
    for p in r["paths"]:
        out.append(f"{p.path}: {p.writer}  guard: {p.guard or 'none'}")
        out.append(f"  {p.scenario} ({budget_words(p.ticks, p.rrticks)},"
                   " check bound-stays)")
        out.append(f"    --fix           {p.fix.words()}")
        out.append(f"    --fix=complete  {p.complete.words()}")
    out += ["", "Who writes l_cpu (read from the model's statements), and what guards it"
            " under the report's fix:", "", *("  " + w for w in lp_bound.table(fix=True))]
    out += ["", "ddbstep's complete fix (a proposal, not NetBSD's code):", "",
            *("    " + line for line in lp_bound.COMPLETE_FIX.splitlines())]
    out += ["", NOT_COVERED]
    return out


def as_json(r: dict[str, Any]) -> dict[str, Any]:
    def v(x: Verdict) -> dict[str, Any]:
        return {"verdict": {"proved": "safe", "bounded": "bounded", "panic": "panic"}[x.kind],
                "states": x.states, "steps": x.steps, "message": x.message,
                "scenario": x.scenario, "preemptions": x.preemptions,
                "time_budget_stopped": x.timed_out}

    race = r["race"]
    return {
        "question": "Is the fix appropriate?",
        "answer": sentence(r),
        "race": {"scenario": "seed-race", "verdict": race.verdict,
                 "steps": len(race.schedule), "states": race.states,
                 "file": str(r["race_file"]) if r["race_file"] else None},
        "paths": [{"path": p.path, "writer": p.writer, "guard": p.guard,
                   "scenario": p.scenario, "ticks": p.ticks, "fix": v(p.fix),
                   "complete": v(p.complete)} for p in r["paths"]],
        "writers": lp_bound.table(fix=True),
        "bounds": {"states": r["states"], "ticks": TICKS, "preemption_levels": r["levels"]},
    }


def markdown(r: dict[str, Any]) -> str:
    """The answer as a reply to the report: the sentence, the table, the
    proposal's diff, the commands that reproduce each line."""
    out = ["**Is the fix appropriate?** " + sentence(r), "",
           "| path | writer of `l_cpu` | 2018 guard | scenario | `--fix` | `--fix=complete` |",
           "|---|---|---|---|---|---|"]
    for p in r["paths"]:
        out.append(f"| {p.path} | `{p.writer}` | {p.guard or 'none'} | `{p.scenario}` |"
                   f" {p.fix.words()} | {p.complete.words()} |")
    race = r["race"]
    out += ["", f"The race without the fix (`seed-race`): {race.verdict} in"
            f" {len(race.schedule)} steps ({race.states} states).", "",
            "Who writes `l_cpu` (read from the model's statements), and what guards it"
            " under the report's fix:", "", "```", *lp_bound.table(fix=True), "```", "",
            "ddbstep's complete fix, a proposal (not NetBSD's code):", "", "```diff",
            lp_bound.COMPLETE_FIX.rstrip(), "```", "", "Reproduce each line:", ""]
    for p in r["paths"]:
        for flag, v in (("--fix", p.fix), ("--fix=complete", p.complete)):
            bound = f" --bound {v.preemptions}" if v.preemptions is not None else ""
            out.append(f"    ddbstep explore {p.scenario} {flag} --check bound-stays"
                       f" --ticks {p.ticks} --max-states {r['states']}{bound}")
    out += ["", f"Verdicts within the clock budget each command names and {r['states']}"
            " states a search; \"proved\" means every state within that clock budget;"
            " where a proof does not fit, the schedules with at most K preemptions"
            f" (K = 0 to {r['levels']}, each level in the same budget) were searched."
            f" {NOT_COVERED}", ""]
    return "\n".join(out)
