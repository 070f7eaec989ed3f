"""`ddbstep review`: "Is the fix appropriate?" answered path by path.

For each way the model moves an LWP (engine.lp_bound: the statements that
write l_cpu, read from the model), the bundled scenario that drives it
with a bound psref holder is explored on the report's fix and on
ddbstep's complete fix (--fix=complete), with the check bound-stays on,
within a state budget. Each verdict says what was established: `proved`
(every state within the clock budget, with their number), `no panic
within N states` (a bound, never "safe"), or `panic` (a schedule, written
as a replayable scenario). The race itself is the report's scenario
without the fix. Budgets are state counts, so the answer is the same on
every run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from engine import lp_bound
from engine.explore import budget_words, explore_scenario, schedule_commands
from engine.machine import CHECK_FAILED
from engine.scenario import dump, load

TICKS = 3
STATES = 250_000


@attrs.frozen
class Verdict:
    kind: str  # proved, bounded, panic
    states: int
    steps: int = 0
    message: str = ""
    scenario: str | None = None  # the replayable schedule, for a panic

    def words(self) -> str:
        if self.kind == "proved":
            return f"proved: no panic and no bound LWP moved ({self.states} states)"
        if self.kind == "bounded":
            return f"no panic within {self.states} states (a bound, not a proof)"
        what = self.message.removeprefix("check ")
        return f"panic in {self.steps} steps: {what[:110]}" + (
            f" [{self.scenario}]" if self.scenario else "")


@attrs.frozen
class PathVerdict:
    writer: str  # func() file:line
    guard: str | None
    scenario: str
    ticks: int
    rrticks: int
    fix: Verdict
    complete: Verdict


def _verdict(name: str, complete: bool, ticks: int, states: int, outdir: Path | None,
             tag: str) -> Verdict:
    sc = load(name)
    res = explore_scenario(sc, fix=True, complete=complete, checks=("bound-stays",),
                           ticks=ticks, max_states=states)
    if res.verdict == "safe":
        return Verdict("proved", res.states)
    if res.verdict == "panic" and res.schedule:
        path = None
        if outdir is not None:
            path = outdir / f"review-{name}-{tag}.toml"
            checked = attrs.evolve(sc, checks=("bound-stays",))
            path.write_text(dump(checked, schedule_commands(res), True, panic=True,
                                 message=None if res.message.startswith(CHECK_FAILED)
                                 else res.message,
                                 title=f"{name} under {tag}: the schedule `ddbstep review`"
                                       " found",
                                 description=f"Verdict: {res.message}"))
        return Verdict("panic", res.states, len(res.schedule), res.message,
                       str(path) if path else None)
    return Verdict("bounded", res.states)


def review(states: int = STATES, outdir: Path | None = None,
           progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every path's verdicts, the race, the writers: the answer as data."""
    say = progress or (lambda _: None)
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
    for key, path in lp_bound.PATHS.items():
        w = writers[key]
        g = w.guard
        name, ticks = path.scenarios[0], path.ticks
        rrticks = load(name).rrticks
        say(f"{w.func}(): {name}, --fix then --fix=complete")
        paths.append(PathVerdict(
            f"{w.func}() {w.file}:{w.line}",
            f"{g.file}:{g.line}" + (" (the report's fix)" if g.fix_only else "")
            if g is not None else None,
            name, ticks, rrticks,
            _verdict(name, False, ticks, states, outdir, "fix"),
            _verdict(name, True, ticks, states, outdir, "complete")))
    return {"race": race, "race_file": race_file, "paths": paths, "states": states}


def sentence(r: dict[str, Any]) -> str:
    open_paths = [p for p in r["paths"] if p.fix.kind == "panic"]
    closed = all(p.complete.kind != "panic" for p in r["paths"])
    s = ("The fix is right for the reported race and not sufficient for the contract"
         " \"a bound LWP never changes CPU\": " if open_paths else
         "The fix closes every path the model has: ")
    if open_paths:
        s += ", ".join(p.writer for p in open_paths) + " still moves a bound LWP under it"
        s += ("; ddbstep's complete fix closes it" if closed else "") + "."
    return s


def text(r: dict[str, Any]) -> list[str]:
    race = r["race"]
    out = ["Is the fix appropriate?", "", sentence(r), ""]
    out.append(f"The race (seed-race, no fix): {race.verdict}, {len(race.schedule)} steps,"
               f" {race.states} states" + (f" [{r['race_file']}]" if r["race_file"] else ""))
    out.append("")
    for p in r["paths"]:
        out.append(f"{p.writer}  guard: {p.guard or 'none'}")
        out.append(f"  {p.scenario} ({budget_words(p.ticks, p.rrticks)},"
                   " check bound-stays)")
        out.append(f"    --fix           {p.fix.words()}")
        out.append(f"    --fix=complete  {p.complete.words()}")
    out += ["", "ddbstep's complete fix (a proposal, not NetBSD's code):", "",
            *("    " + line for line in lp_bound.COMPLETE_FIX.splitlines())]
    out += ["", "Not covered yet: the pset and CPU-offline callers, stopped LWPs,"
            " preemption-bounded verdicts."]
    return out


def as_json(r: dict[str, Any]) -> dict[str, Any]:
    def v(x: Verdict) -> dict[str, Any]:
        return {"verdict": {"proved": "safe", "bounded": "bounded", "panic": "panic"}[x.kind],
                "states": x.states, "steps": x.steps, "message": x.message,
                "scenario": x.scenario}

    race = r["race"]
    return {
        "question": "Is the fix appropriate?",
        "answer": sentence(r),
        "race": {"scenario": "seed-race", "verdict": race.verdict,
                 "steps": len(race.schedule), "states": race.states,
                 "file": str(r["race_file"]) if r["race_file"] else None},
        "paths": [{"path": p.writer.split("()")[0], "writer": p.writer, "guard": p.guard,
                   "scenario": p.scenario, "ticks": p.ticks, "fix": v(p.fix),
                   "complete": v(p.complete)} for p in r["paths"]],
        "writers": lp_bound.table(fix=True),
        "bounds": {"states": r["states"], "ticks": TICKS},
    }


def markdown(r: dict[str, Any]) -> str:
    """The answer as a reply to the report: the sentence, the table, the
    proposal's diff, the commands that reproduce each line."""
    out = ["**Is the fix appropriate?** " + sentence(r), "",
           "| path (writer of `l_cpu`) | 2018 guard | scenario | `--fix` | `--fix=complete` |",
           "|---|---|---|---|---|"]
    for p in r["paths"]:
        out.append(f"| `{p.writer}` | {p.guard or 'none'} | `{p.scenario}` |"
                   f" {p.fix.words()} | {p.complete.words()} |")
    race = r["race"]
    out += ["", f"The race without the fix (`seed-race`): {race.verdict} in"
            f" {len(race.schedule)} steps ({race.states} states).", "",
            "ddbstep's complete fix, a proposal (not NetBSD's code):", "", "```diff",
            lp_bound.COMPLETE_FIX.rstrip(), "```", "", "Reproduce each line:", ""]
    for p in r["paths"]:
        for flag in ("--fix", "--fix=complete"):
            out.append(f"    ddbstep explore {p.scenario} {flag} --check bound-stays"
                       f" --ticks {p.ticks} --max-states {r['states']}")
    out += ["", f"Verdicts within the clock budget each command names and {r['states']}"
            " states a search; \"proved\" means every state within that clock budget."
            " Not covered yet: the pset and CPU-offline callers, stopped LWPs,"
            " preemption-bounded verdicts.", ""]
    return "\n".join(out)
