"""The `ddbstep` command: the app (default), demo, replay, scenarios.

Exit status of replay: 0 when the scenario's [expect] holds (or it has
none), 1 when it does not (the reason on stderr), 2 on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine import replay
from engine.replay import load, load_text
from engine.scenario import Scenario, ScenarioError, bundled


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ddbstep")
    except PackageNotFoundError:
        return "(not installed)"


class _VersionAction(argparse.Action):
    """--version, its package lookup made only when asked (importlib.metadata
    and what it imports are a sixth of a cold `ddbstep replay`)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 **kw: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit",
                         default=argparse.SUPPRESS)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from engine.stepcache import core

        print(f"ddbstep {_version()} (explorer's step cache: {core()})")
        parser.exit()


def _count(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return n


def _positive(text: str) -> int:
    """argparse type: a whole number, 1 or more."""
    n = _count(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text}")
    return n


def _err(msg: str) -> int:
    print(f"ddbstep: {msg}", file=sys.stderr)
    return 2


def _read_script(path: str) -> list[str] | str:
    """A script's commands, or the one-line reason it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return f"{path}: cannot read: {getattr(e, 'strerror', None) or e}"
    return replay.check_script(path, text) or replay.read_script(text)


def cmd_replay(args: argparse.Namespace) -> int:
    sc, rc = _load(args.scenario)
    if sc is None:
        return rc
    fix = True if args.fix else None
    own = not args.script  # the scenario's own [replay] runs: [expect] applies
    commands: list[str] = list(sc.commands)
    if args.script:
        script = _read_script(args.script)
        if isinstance(script, str):
            return _err(script)
        commands = script
    then: list[str] = []
    if args.then:
        extra = _read_script(args.then)
        if isinstance(extra, str):
            return _err(extra)
        then = extra
    res = replay.run(sc, commands, fix=fix, then=then, checks=tuple(args.check or ()),
                     complete=args.fix == "complete")
    if args.svg:
        from tui.snapshot import replay_svg

        try:
            Path(args.svg).write_text(replay_svg(sc, commands + then, fix))
        except OSError as e:
            return _err(f"{args.svg}: cannot write: {e.strerror}")
    if args.markdown:
        sys.stdout.write(replay.markdown(sc, res))
    else:
        sys.stdout.write(res.transcript)
    print(f"ddbstep: {sc.path}: {replay.verdict(res.session)}", file=sys.stderr)
    if own and not res.ok:
        print(f"ddbstep: {sc.path}: {res.why}", file=sys.stderr)
        return 1
    return 0


def _load(name: str) -> tuple[Scenario | None, int]:
    """The scenario, or None and exit status 2 with its one-line error printed."""
    try:
        return load(name), 0
    except ScenarioError as e:
        return None, _err(str(e))


def cmd_tui(args: argparse.Namespace, demo: bool = False) -> int:
    sc, rc = _load(args.scenario)
    if sc is None:
        return rc
    from tui.app import DdbstepApp

    app = DdbstepApp(sc, fix=True if args.fix else None, demo=demo,
                     record=getattr(args, "record", None), srcdir=getattr(args, "src", None))
    result = app.run()
    return int(result or 0)


def cmd_explore(args: argparse.Namespace) -> int:
    import json

    import attrs

    from engine.explore import (
        Result,
        budget_note,
        budget_words,
        describe,
        explore_bounded,
        explore_scenario,
        movers,
        schedule_commands,
        schedule_preemptions,
    )
    from engine.init_main import boot
    from engine.machine import CHECK_FAILED
    from engine.scenario import dump

    sc, rc = _load(args.scenario)
    if sc is None:
        return rc

    def progress(states: int, transitions: int, depth: int, secs: float,
                 best: int | None) -> None:
        known = f", a panic in {best} steps known" if best is not None else ""
        print(f"ddbstep: explore: {states} states, {transitions} transitions,"
              f" no panic in fewer than {depth} steps{known}, {secs:.0f} s", file=sys.stderr)

    def restart(why: str) -> None:
        print(f"ddbstep: explore: {why}: searching again without relying on it",
              file=sys.stderr)

    def schedule(res: Result) -> None:
        for i, (mv, before, after) in enumerate(res.schedule, 1):
            print(f"{i:4}  {describe(mv, before, after)}")
        for line in movers(res):
            print(f"moved: {line}")

    first_steps = 0

    def on_first(res: Result) -> None:
        nonlocal first_steps
        first_steps = res.steps
        print(f"ddbstep: explore: a first panic, {res.steps} steps, {res.seconds:.2f} s",
              file=sys.stderr)
        if not args.json:
            print(f"first panic found ({res.steps} steps, {res.states} states searched"
                  " by fewest context switches; not necessarily the shortest):")
            schedule(res)
            print(f"panic: {res.message}", flush=True)

    def on_shorter(res: Result) -> None:
        shorter = res.steps < first_steps
        if shorter:
            print(f"ddbstep: explore: shortened to {res.steps} steps, {res.seconds:.2f} s",
                  file=sys.stderr)
        if not args.json:
            if shorter:
                print(f"shorter panic found ({res.steps} steps, {res.states} states searched,"
                      " the same search again below each length found; not necessarily"
                      " the shortest):")
                schedule(res)
                print(f"panic: {res.message}")
            print("searching for the shortest ...", flush=True)

    reduce = not (args.no_reduce or args.no_por)
    common: dict[str, Any] = dict(
        ticks=args.ticks, max_steps=args.max_steps, max_states=args.max_states,
        hashing=not (args.no_reduce or args.no_hash), por=reduce, progress=progress,
        on_restart=restart, max_seconds=args.max_seconds, cache=not args.no_cache,
        clock_cap=not args.no_clock_cap, jobs=args.jobs)
    level = None
    if args.bound is not None:
        def on_level(k: int, r: Result) -> None:
            if r.verdict == "bounded":
                print(f"ddbstep: explore: {r.message}, {r.seconds:.2f} s", file=sys.stderr)

        res, level = explore_bounded(
            boot(sc, True if args.fix else None, tuple(args.check or ()),
                 args.fix == "complete"), args.bound, on_level=on_level, **common)
    else:
        res = explore_scenario(sc, fix=True if args.fix else None,
                               checks=tuple(args.check or ()), complete=args.fix == "complete",
                               sleep=not args.no_sleep, first=reduce and not args.no_first,
                               first_only=args.first and reduce, on_first=on_first,
                               on_shorter=on_shorter, **common)
    shortest = not args.first and res.verdict in ("panic", "invariant")
    if res.verdict == "limit" and res.best_schedule:
        shortest = False
        # The bound came before the shortest: the panic stands, its length
        # is an upper bound.
        res = attrs.evolve(res, verdict="panic", steps=len(res.best_schedule),
                           message=f"{res.best_schedule[-1][2].panicstr}"
                                   f" (shortest not proved: {res.message})",
                           schedule=res.best_schedule)
    rrticks = sc.rrticks
    note = budget_note(args.ticks, rrticks)
    if args.json:
        print(json.dumps({"verdict": res.verdict, "steps": res.steps, "states": res.states,
                          "transitions": res.transitions, "seconds": round(res.seconds, 3),
                          "shortest": shortest,
                          "bounds": {"ticks": args.ticks, "rrticks": rrticks,
                                     "max_states": args.max_states,
                                     "max_steps": args.max_steps,
                                     "preemptions": args.bound,
                                     "reaches_kpreempt": note is None},
                          "schedule_preemptions": (schedule_preemptions(res.schedule)
                                                   if res.schedule else None),
                          "first_steps": res.first_steps,
                          "first_seconds": (round(res.first_seconds, 3)
                                            if res.first_seconds is not None else None),
                          "message": res.message}))
    else:
        if shortest:
            np_ = schedule_preemptions(res.schedule)
            fewest = ("" if level is None else
                      f", {np_} preemption{'s' if np_ != 1 else ''}: none has fewer")
            print(f"shortest {res.verdict} ({res.steps} steps{fewest}):")
            schedule(res)
        within = "" if res.verdict == "panic" else " " + budget_words(args.ticks, rrticks)
        word = res.verdict
        if res.verdict == "panic" and res.message.startswith(CHECK_FAILED):
            word, res = "check", attrs.evolve(res, message=res.message.removeprefix("check "))
        print(f"verdict: {word}{within}: {res.message}")
        if note is not None and res.verdict != "panic":
            print(f"note: {note}")
        print(f"{res.states} states, {res.transitions} transitions, depth {res.depth}")
        racy = res.discipline.describe()
        if racy and not args.first:
            print("shared without a lock (never reordered): " + ", ".join(racy))
        print(f"ddbstep: explore: {res.seconds:.2f} s", file=sys.stderr)
    if args.emit and res.schedule:
        fix = sc.fix if not args.fix else True
        Path(args.emit).write_text(dump(
            sc, schedule_commands(res), fix, panic=res.verdict == "panic",
            message=res.message if res.verdict == "panic" else None,
            title=f"{sc.name}: the schedule `ddbstep explore` found ({res.verdict},"
                  f" {len(res.schedule)} transitions)",
            description=(f"Emitted by `ddbstep explore {sc.name}{' --fix' if args.fix else ''}`"
                         f" on the machine of {sc.name}: one transition per command."
                         f" Verdict: {res.verdict}: {res.message}")))
    return {"safe": 0, "bounded": 0, "panic": 1, "invariant": 1}.get(res.verdict, 3)


def cmd_torture(args: argparse.Namespace) -> int:
    import json

    from engine.explore import Result, schedule_commands, torture
    from engine.init_main import boot
    from engine.scenario import dump

    sc, rc = _load(args.scenario)
    if sc is None:
        return rc
    fix = True if args.fix else sc.fix

    def progress(done: int, panics: int, secs: float) -> None:
        if not args.json:
            print(f"ddbstep: torture: {done} of {args.runs} runs, {panics} panicked,"
                  f" {secs:.0f} s", file=sys.stderr)

    res = torture(boot(sc, fix, tuple(args.check or ()), args.fix == "complete"), args.runs,
                  args.seed, ticks=args.ticks,
                  max_steps=args.max_steps, progress=progress)
    if args.json:
        print(json.dumps({"runs": res.runs, "panics": res.panics, "first_seed": res.first_seed,
                          "seconds": round(res.seconds, 3), "message": res.message or ""}))
    else:
        print(f"{res.panics} of {res.runs} runs panicked ({res.seconds:.2f} s)")
        if res.first_seed is not None:
            print(f"first failing seed: {res.first_seed}: panic: {res.message}")
        else:
            print(f"no panic in {res.runs} random schedules of {args.max_steps} statements"
                  f" with {args.ticks} clock ticks each ({'fix on' if fix else 'fix off'}):"
                  " the race window is narrow, so this says little about the kernel."
                  f" `ddbstep explore {args.scenario}{' --fix' if args.fix else ''}` searches"
                  " every interleaving and gives a verdict.")
    if args.emit and res.first_seed is not None:
        as_result = Result("panic", len(res.schedule), 0, 0, 0.0, res.message or "",
                           res.schedule)
        Path(args.emit).write_text(dump(sc, schedule_commands(as_result), fix, panic=True,
                                        message=res.message))
    return 1 if res.panics else 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """A console log's panic block -> a machine, a schedule, a scenario."""
    import json

    from engine.reproduce import LogError, as_json, parse, report, scenario_text, search

    name = "-" if args.log == "-" else args.log
    try:
        data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as e:
        return _err(f"{name}: cannot read: {e.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _err(f"{name}: not a console log: binary data")
    try:
        goal = parse(text)
    except LogError as e:
        return _err(f"{name}: {e}")
    m = search(goal, max_states=args.max_states)
    print(f"ddbstep: reproduce: {m.states} states, {m.seconds:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(as_json(goal, m), sort_keys=True))
    else:
        print("\n".join(report(goal, m)))
    if args.emit and m.found:
        label = "standard input" if name == "-" else Path(name).name
        try:
            Path(args.emit).write_text(scenario_text(goal, m, label))
        except OSError as e:
            return _err(f"{args.emit}: cannot write: {e.strerror}")
        if not args.json:
            print(f"reproducer: {args.emit} (`ddbstep replay {args.emit}` prints the log's"
                  " panic block)")
    elif args.emit:
        print(f"ddbstep: {args.emit} not written: no reproducer found", file=sys.stderr)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    """Is the fix appropriate? Path by path (engine/review.py)."""
    import json

    from engine import review

    # Each panic's schedule is written as a scenario: into --out, or next
    # to the --markdown report, or here.
    out = Path(args.out) if args.out else (
        Path(args.markdown).parent if args.markdown else Path("."))
    out.mkdir(parents=True, exist_ok=True)
    r = review.review(states=args.states, outdir=out, budget=args.budget,
                      progress=lambda what: print(f"ddbstep: review: {what}", file=sys.stderr))
    if args.json:
        print(json.dumps(review.as_json(r), sort_keys=True))
    else:
        print("\n".join(review.text(r)))
    if args.markdown:
        Path(args.markdown).write_text(review.markdown(r))
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    for name, text in bundled().items():
        try:
            title = load_text(text, f"{name}.toml").title
        except ScenarioError as e:
            title = f"(invalid: {e})"
        print(f"{name:<24}{title}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="ddbstep",
        description="Step a modeled 2018 NetBSD kernel through the psref/LP_BOUND race in ddb.",
    )
    ap.add_argument("--version", action=_VersionAction)
    sub = ap.add_subparsers(dest="command")
    rp = sub.add_parser("replay", help="run a scenario's ddb commands headlessly")
    rp.add_argument("scenario", help="a bundled scenario name or a .toml path")
    rp.add_argument("--fix", nargs="?", const="report", choices=["report", "complete"],
                    help="boot with the report's LP_BOUND guard in mi_switch; =complete adds"
                         " ddbstep's proposal for lwp_migrate (docs/fix.md)")
    rp.add_argument("--script", help="ddb commands to run instead of the scenario's [replay]"
                    " (a transcript is a script); [expect] is then not checked")
    rp.add_argument("--then", metavar="FILE",
                    help="ddb commands to run after the scenario's own (e.g. at the panic)")
    rp.add_argument("--svg", metavar="FILE", help="also save an SVG picture of the app at the end")
    rp.add_argument("--check", action="append", choices=["bound-stays"],
                    help="also check: an LWP's l_cpu never changes while LP_BOUND is set")
    rp.add_argument("--markdown", action="store_true",
                    help="print the transcript as Markdown for a code review")
    rp.set_defaults(func=cmd_replay)
    tp = sub.add_parser("tui", help="the terminal app (the default)")
    tp.add_argument("scenario", nargs="?", default="seed-race")
    tp.add_argument("--fix", nargs="?", const="report", choices=["report", "complete"],
                    help="boot with the report's LP_BOUND guard in mi_switch; =complete adds"
                         " ddbstep's proposal for lwp_migrate (docs/fix.md)")
    tp.add_argument("--record", metavar="FILE",
                    help="write the session's commands as a scenario file")
    tp.add_argument("--src", metavar="DIR",
                    help="a NetBSD source tree: the source pane shows the real lines"
                         " (also $DDBSTEP_SRC, or [kernel] srcdir)")
    tp.set_defaults(func=cmd_tui)
    dp = sub.add_parser("demo", help="play a scenario step by step, with narration")
    dp.add_argument("scenario", nargs="?", default="seed-race")
    dp.add_argument("--fix", nargs="?", const="report", choices=["report", "complete"],
                    help="boot with the report's LP_BOUND guard in mi_switch; =complete adds"
                         " ddbstep's proposal for lwp_migrate (docs/fix.md)")
    dp.add_argument("--src", metavar="DIR", help="a NetBSD source tree for the source pane")
    dp.set_defaults(func=lambda a: cmd_tui(a, demo=True))
    ep = sub.add_parser("explore", help="search every interleaving for a KASSERT (shortest first)")
    ep.add_argument("scenario")
    ep.add_argument("--fix", nargs="?", const="report", choices=["report", "complete"],
                    help="boot with the report's LP_BOUND guard in mi_switch; =complete adds"
                         " ddbstep's proposal for lwp_migrate (docs/fix.md)")
    ep.add_argument("--max-steps", type=_count, default=10_000, help="depth bound")
    ep.add_argument("--max-states", type=_count, default=50_000_000, help="state bound")
    ep.add_argument("--ticks", type=_count, default=3, help="clock interrupts available")
    ep.add_argument("--max-seconds", type=float, default=None, help="time bound")
    ep.add_argument("--emit", metavar="FILE", help="write the schedule as a scenario")
    ep.add_argument("--check", action="append", choices=["bound-stays"],
                    help="also check: an LWP's l_cpu never changes while LP_BOUND is set")
    ep.add_argument("--json", action="store_true", help="one JSON line of figures")
    ep.add_argument("--bound", type=_count, metavar="K", default=None,
                    help="only schedules with at most K preemptions (a CPU switching away"
                         " from an LWP that could have kept running), 0, 1, ... K in turn;"
                         " no panic is a bound, never 'safe'")
    ep.add_argument("--no-reduce", action="store_true",
                    help="plain search: no partial-order reduction, no state hashing")
    ep.add_argument("--no-por", action="store_true", help="no partial-order reduction")
    ep.add_argument("--no-hash", action="store_true",
                    help="no state hashing (a tree search: small machines only)")
    ep.add_argument("--no-cache", action="store_true",
                    help="no step cache: every transition computed and traced afresh")
    ep.add_argument("--no-sleep", action="store_true",
                    help="no sleep sets: every move taken again after an edge it commutes with")
    ep.add_argument("--no-clock-cap", action="store_true",
                    help="key each clock countdown exactly, not capped by the ticks left")
    ep.add_argument("--jobs", type=_positive, metavar="N", default=1,
                    help="processes for the shortest search (default 1: on 2 cores two"
                         " measured no faster, docs/explorer.md); the answer and every"
                         " count are the same for any N")
    ep.add_argument("--first", action="store_true",
                    help="stop at the first panic the fast search finds (not the shortest)")
    ep.add_argument("--no-first", action="store_true",
                    help="no fast search for a first panic: straight to the shortest")
    ep.set_defaults(func=cmd_explore)
    rp2 = sub.add_parser("reproduce", help="a console log's panic -> a replayable scenario")
    rp2.add_argument("log", help="a console log file, or - for standard input")
    rp2.add_argument("--emit", metavar="FILE", help="write the reproducer as a scenario")
    rp2.add_argument("--json", action="store_true", help="the goal, machine and match as JSON")
    rp2.add_argument("--max-states", type=_count, default=200_000,
                     help="the first search's state budget")
    rp2.set_defaults(func=cmd_reproduce)
    vp = sub.add_parser("review", help="is the fix appropriate? path by path")
    vp.add_argument("--markdown", metavar="FILE", help="the answer as a reply, in markdown")
    vp.add_argument("--json", action="store_true")
    vp.add_argument("--states", type=_count, default=250_000,
                    help="each search's state budget")
    vp.add_argument("--out", metavar="DIR",
                    help="write each panicking schedule there as a scenario (default: next"
                         " to the --markdown file, or the current directory)")
    vp.add_argument("--budget", type=float, default=600.0, metavar="SECONDS",
                    help="stop any search still running after this long, and say so"
                         " (the answer is otherwise decided by --states alone)")
    vp.set_defaults(func=cmd_review)
    xp = sub.add_parser("torture", help="random schedules, like the report's torture tests")
    xp.add_argument("scenario")
    xp.add_argument("--fix", nargs="?", const="report", choices=["report", "complete"],
                    help="boot with the report's LP_BOUND guard in mi_switch; =complete adds"
                         " ddbstep's proposal for lwp_migrate (docs/fix.md)")
    xp.add_argument("--runs", type=_count, required=True)
    xp.add_argument("--seed", type=int, required=True)
    xp.add_argument("--ticks", type=_count, default=3, help="clock interrupts per run")
    xp.add_argument("--max-steps", type=_count, default=2000, help="statements per run")
    xp.add_argument("--emit", metavar="FILE", help="write the first failing run as a scenario")
    xp.add_argument("--check", action="append", choices=["bound-stays"],
                    help="also check: an LWP's l_cpu never changes while LP_BOUND is set")
    xp.add_argument("--json", action="store_true")
    xp.set_defaults(func=cmd_torture)
    sp = sub.add_parser("scenarios", help="list the bundled scenarios")
    sp.set_defaults(func=cmd_scenarios)
    args = ap.parse_args(argv)
    if args.command is None:
        args = ap.parse_args(["tui", "seed-race"])
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`ddbstep scenarios | head`): stop quietly,
        # as a Unix filter does, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
