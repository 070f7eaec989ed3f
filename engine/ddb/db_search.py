"""search, follow, show plan: the explorer from the session's own state.

Model extensions (help lists them apart). `search` runs the explorer
(engine.explore) from the kernel as the session has it, fixed or not,
and says what it established:
  - a panicking continuation: its length, the CPUs that move, its race
    events in order; it becomes the session's plan;
  - no panic reachable from here: proved, the states explored;
  - none found within a bound: which bound, the states explored.
Budgets are counts of states, never seconds, so the same state gives the
same answer. `search/s` asks for the shortest continuation (the full
search; it may run long, a break-in stops it and keeps the best known).
With an address (`search ADDR VALUE`), the word is ddb's memory search,
which the model does not have.

`follow` walks the plan to its next race event and stops there as a
single step does, on the CPU that moved; `follow,N` N events; `follow/a`
to the end. A breakpoint, a watchpoint or a break-in stops it earlier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.ddb.db_lex import DbError
from engine.ddb.db_plan import Plan
from engine.ddb.db_run import MARK, Run
from engine.ddb.db_session import Cmd
from engine.events import Event, race_events
from engine.kernel import Kernel
from engine.machine import FUNCS

if TYPE_CHECKING:
    from engine.ddb.db_command import Session
    from engine.explore import Move

# The clock interrupts a search may add (explore's default: what sched_tick
# needs for a kernel preemption at rrticks 1).
SEARCH_TICKS = 3
# States the full search keeps when the fast one finds no panic (`search`);
# `set $searchstates` changes it. search/s: SHORTEST_STATES.
SEARCH_STATES = 100_000
SHORTEST_STATES = 50_000_000

_EVENT = {"target": "target", "bind": "LP_BOUND", "unbind": "unbound", "acquire": "psref",
          "release": "release", "migrating": "migrating", "migrated": "migrated",
          "panic": "KASSERT", "switch": "switch"}


def _length(plan: Plan) -> str:
    n = len(plan.moves)
    intr = sum(1 for mv in plan.moves if mv.kind != "step")
    return f"{n} steps" + (f" ({n - intr} statements, {intr} interrupts)" if intr else "")


def make_plan(k: Kernel, moves: list[Move], shortest: bool) -> Plan | None:
    """The plan of moves from k: each applied as the session applies it."""
    from engine.explore import apply

    kernels = [k]
    events: list[tuple[Event, ...]] = []
    for mv in moves:
        n = apply(k, mv)
        if n is k:
            return None
        events.append(tuple(race_events(k, n, mv.cpu)))
        kernels.append(n)
        k = n
    return Plan(tuple(moves), tuple(kernels), tuple(events), shortest)


def db_search_cmd(s: Session, cmd: Cmd) -> str:
    """search[/s] (model extension; with an address, ddb's search)."""
    # (The explorer is loaded when first asked for: replay and the app start
    # without it.)
    from engine.explore import FIRST_STATES, FIRST_SWITCHES, SHORTEN_STATES, budget_note, explore

    text = cmd.args.strip()
    mod = ""
    if text.startswith("/"):
        mod, _, text = text[1:].partition(" ")
        text = text.strip()
    if text:
        return ("ddbstep: search ADDR VALUE (ddb's memory search) is not modeled;"
                " `search` alone finds a panicking schedule from here")
    if mod not in ("", "s"):
        raise DbError("Bad modifier")
    k = s.kernel
    if k.panicstr is not None:
        return f"{MARK} the kernel has panicked: nothing to search (`undo` goes back)"
    shortest = mod == "s"
    ticks = SEARCH_TICKS
    budget = SHORTEST_STATES if shortest else max(1, s.vars.get("searchstates",
                                                                SEARCH_STATES))
    res = explore(k, ticks=ticks, max_states=budget, cancel=s.break_in, progress=s.on_search,
                  stop_at_best=not shortest)
    where = (f"{ticks} clock interrupts at most at rrticks {k.config.rrticks},"
             " every CPU free to move")
    note = budget_note(ticks, k.config.rrticks)
    if note is not None:
        where += f"; {note}"
    sched = res.schedule
    proved = False
    if res.verdict == "safe":
        return (f"{MARK} search: no panic is reachable from here: proved, {res.states} states"
                f" explored ({where})")
    if res.verdict == "invariant":
        return f"{MARK} search: an invariant breaks {res.steps} steps ahead: {res.message}"
    if res.verdict == "panic" and res.shortest:
        proved = True
        how = f"the shortest from here: no panic in fewer steps, {res.states} states"
    elif res.verdict == "panic":
        how = (f"found by fewest context switches, {res.states} states, then shortened"
               f" within {SHORTEN_STATES} states a round: not proved the shortest")
    elif res.best_schedule:  # interrupted, or the state bound, after a find
        sched = res.best_schedule
        stopped = ("interrupted" if res.verdict == "interrupted"
                   else f"the bound of {budget} states reached")
        how = f"the best found before the search stopped ({stopped}): not proved the shortest"
    elif res.verdict == "interrupted":
        return (f"{MARK} search interrupted after {res.states} states: no panic found so far"
                " (nothing established)")
    else:
        return (f"{MARK} search: no panic found within {budget} states: a bound, not a proof"
                f" ({res.states} states of every schedule explored, after the fast search's"
                f" up to {FIRST_STATES} states of at most {FIRST_SWITCHES} context switches;"
                f" {where}; `search/s` searches on)")
    plan = make_plan(k, [mv for mv, _, _ in sched], proved)
    if plan is None or plan.kernels[-1].panicstr is None:
        raise DbError("ddbstep: search: the schedule found does not replay from here")
    s.plan, s.plan_at = plan, 0
    cpus = sorted({m.cpu for m in plan.moves})
    out = [f"{MARK} search: a panic {_length(plan)} ahead, on"
           f" cpu{plan.kernels[-1].paniccpu}; CPUs that move: "
           + ", ".join(f"cpu{c}" for c in cpus),
           f"{MARK} ({how}; {where})",
           f"{MARK} the race events on the way:"]
    out += [f"  step {i + 1:<5} cpu{e.cpu}  {_EVENT[e.kind]:<10} {e.text}"
            for i, events in enumerate(plan.events) for e in events]
    out.append(f"  panic: {plan.message}")
    out.append(f"{MARK} `follow` walks it to the next event, `follow/a` to the panic;"
               " `show plan` lists every step")
    return s.fmt("\n".join(out), wrap=False)


def db_follow_cmd(s: Session, cmd: Cmd) -> str:
    """follow[/a][,N] (model extension): walk the plan."""
    plan = s.plan
    if plan is None:
        return f"{MARK} no plan: `search` finds one from here"
    if s.plan_at >= len(plan.moves):
        return f"{MARK} the plan is walked to its end: {plan.message}"
    if cmd.modifiers not in ("", "a"):
        raise DbError("Bad modifier")
    events = (1 << 62) if "a" in cmd.modifiers else (cmd.count if cmd.count is not None else 1)
    if events < 1:
        raise DbError("Count missing")
    run = Run(s)
    done: list[Event] = []
    while s.plan_at < len(plan.moves):
        mv = plan.moves[s.plan_at]
        stop = _one_move(s, run, mv)
        s.plan_at += 1
        if not stop:
            run.stop_cpu = mv.cpu
        if plan.events[s.plan_at - 1]:
            done += plan.events[s.plan_at - 1]
            events -= 1
        if stop:
            break
        if events <= 0:
            break
    if run.reason is None:
        run.reason = "step"
    n = len(plan.moves)
    head = f"{MARK} plan {s.plan_at}/{n}" + (": the end of the plan" if s.plan_at >= n else "")
    if "a" in cmd.modifiers or not done:
        said = [f"{head}, {len(done)} race events on the way (`show plan` lists them)"]
    else:
        said = [f"{head}: {e.text}" for e in done]
    return run.finish() + "\n" + s.fmt("\n".join(said), wrap=False)


def _one_move(s: Session, run: Run, mv: Move) -> bool:
    """One move of the plan through the run; True if the run must stop."""
    if mv.kind == "step":
        return run.one(mv.cpu)
    if s.break_in is not None and s.break_in():
        run.reason, run.stop_cpu = "breakin", s.cpu
        return True
    from engine.explore import handler

    func, ipl, args = handler(mv)
    # (never None: the plan was replayed from this very kernel)
    return bool(run.intr(mv.cpu, func, ipl, **args))


def db_show_plan(s: Session, cmd: Cmd) -> str:
    """show plan (model extension): the plan's steps, walked and ahead."""
    plan = s.plan
    if plan is None:
        return f"{MARK} no plan: `search` finds one from here"
    out = [f"{MARK} plan: {_length(plan)} to the panic,"
           f" {s.plan_at} walked ({'the shortest' if plan.shortest else 'not proved shortest'})"]
    for i, mv in enumerate(plan.moves):
        k = plan.kernels[i]
        l = k.curlwp(mv.cpu)
        p = k.proc(l)
        who = l.l_name if p.p_pid == 0 and l.l_name else f"{p.p_pid}.{l.l_lid} {p.p_comm}"
        if mv.kind == "step":
            fr = l.stack[-1]
            stmt = FUNCS[fr.func].stmts[fr.pc]
            what = f"{fr.func}:{stmt.line}"
        elif mv.kind == "hardclock":
            what = "hardclock"
        else:
            what = f"intr {mv.dev}"
        mark = ">" if i == s.plan_at else " "
        ev = "; ".join(e.text for e in plan.events[i])
        out.append(f"{mark}{i + 1:5} cpu{mv.cpu} {who:<20} {what}" + (f"  => {ev}" if ev else ""))
    out.append(f"  panic: {plan.message}")
    return s.fmt("\n".join(out), wrap=False)
