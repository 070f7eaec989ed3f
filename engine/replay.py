"""Headless replay: a scenario's commands through the interpreter.

The transcript is what a serial console shows: each command after its
prompt, then its output. It is also a valid script: every prompt line
carries one command.
"""

from __future__ import annotations

import re

import attrs

from engine import scenario
from engine.ddb.db_command import Session, check_command
from engine.scenario import Scenario

PROMPT = re.compile(r"^db\{\d+\}> ?(.*)$")


@attrs.frozen
class Result:
    transcript: str
    session: Session
    ok: bool
    why: str


def read_script(text: str) -> list[str]:
    """Script lines: commands, `#` comments; a transcript's prompt lines."""
    return [line for _, line in script_lines(text)]


def script_lines(text: str) -> list[tuple[int, str]]:
    """read_script() with each command's line number in the file."""
    lines = list(enumerate(text.splitlines(), 1))
    if any(PROMPT.match(line) for _, line in lines):
        return [(n, m.group(1)) for n, line in lines if (m := PROMPT.match(line))]
    return [(n, line) for n, line in lines if not line.lstrip().startswith("#")]


def load(name_or_path: str) -> Scenario:
    """engine.scenario.load(), then every [replay] command checked against
    ddb's table: `FILE:LINE: No such command: brake` (ScenarioError)."""
    return check_commands(scenario.load(name_or_path))


def load_text(text: str, path: str) -> Scenario:
    """engine.scenario.load_text(), its commands checked as load() does."""
    return check_commands(scenario.load_text(text, path))


def check_commands(sc: Scenario) -> Scenario:
    for line, cmd in zip(sc.command_lines, sc.commands, strict=True):
        err = check_command(cmd)
        if err is not None:
            raise scenario.ScenarioError(f"{sc.path}:{line}: {err}")
    return sc


def check_script(path: str, text: str) -> str | None:
    """FILE:LINE: ddb's word for the first line that names no command, or
    None (a script is checked whole before it runs, as a scenario is)."""
    for n, line in script_lines(text):
        err = check_command(line)
        if err is not None:
            return f"{path}:{n}: {err}"
    return None


def run(sc: Scenario, commands: list[str] | tuple[str, ...], fix: bool | None = None,
        then: list[str] | tuple[str, ...] = (), checks: tuple[str, ...] = (),
        complete: bool = False) -> Result:
    """commands, then `then`; [expect] is checked on the state after commands."""
    s = Session.start(sc, fix, checks, complete)
    out: list[str] = []

    def do(lines: list[str] | tuple[str, ...]) -> None:
        for line in lines:
            out.append((s.prompt + line).rstrip())
            text = s.execute(line)
            if text:
                out.append(text)

    do(commands)
    ok, why = check(sc, s, "\n".join(out))
    do(then)
    return Result("\n".join(out) + "\n", s, ok, why)


def verdict(s: Session) -> str:
    """One line from the state: which kernel ran and what it showed."""
    from engine.events import explain_panic

    k = s.kernel
    kernel = "fixed kernel (LP_BOUND guard in mi_switch)" if k.config.fix else (
        "unfixed kernel (mi_switch without the LP_BOUND guard)")
    if k.panicstr is not None:
        return f"{kernel}: panic on CPU {k.paniccpu}: {explain_panic(k)}"
    return f"{kernel}: no panic: {quiet_verdict(s)}"


def quiet_verdict(s: Session) -> str:
    """What the state shows when nothing panicked: where the psrefs went and
    which migration plans were left unconsumed."""
    k = s.kernel
    parts = []
    for ps in k.psrefs:
        if ps.psref_lwp is None or ps.psref_target is None:
            continue
        holder = k.lwps[ps.psref_lwp]
        who = f"{k.proc(holder).p_comm} {k.proc(holder).p_pid}.{holder.l_lid}"
        held = any(ps.idx in c.psrefs for c in k.cpus)
        if held:
            parts.append(f"{who} still holds its psref, taken on CPU {ps.psref_cpu}, on CPU"
                         f" {holder.l_cpu}")
        else:
            parts.append(f"{who} released its psref on CPU {ps.psref_cpu}, where it took it")
    for l in k.lwps:
        if l.l_target_cpu is not None:
            parts.append(f"{k.proc(l).p_comm} {k.proc(l).p_pid}.{l.l_lid} has l_target_cpu"
                         f" cpu{l.l_target_cpu} left stale on cpu{l.l_cpu}")
    return "; ".join(parts) or "no psref was taken"


# Lines that say a replay did not do what its commands meant: a run that
# went on until $maxsteps cut it, a name ddb did not know. A scenario's
# [expect] allow = [...] names the ones it means to print.
SUSPECT = ("stopped after $maxsteps", "Symbol not found")


def check(sc: Scenario, s: Session, transcript: str) -> tuple[bool, str]:
    k = s.kernel
    if k.config.complete:
        # ddbstep's proposal: no scenario's [expect] was written for it.
        return True, ""
    exp = sc.expect
    panic, message, allow = exp.panic, exp.message, exp.allow
    if k.config.fix != sc.fix:
        # --fix changed the kernel the scenario was written for.
        panic, message, allow = exp.panic_with_fix, exp.message_with_fix, exp.allow_with_fix
    for line in transcript.splitlines():
        for phrase in SUSPECT:
            if phrase in line and not any(a in line for a in allow):
                return False, (f"the replay printed {line.strip()!r} and its [expect]"
                               " does not allow it")
    if panic is True and k.panicstr is None:
        return False, "expected a panic, the kernel did not panic"
    if panic is False and k.panicstr is not None:
        return False, f"expected no panic, got: panic: {k.panicstr}"
    if message is not None:
        if k.panicstr is None or message not in k.panicstr:
            return False, f"expected the panic message to contain {message!r}"
    return True, ""


def markdown(sc: Scenario, res: Result) -> str:
    """The transcript, ready to paste into a code review: its title and text
    say which kernel ran when it is not the one the scenario was written for."""
    k = res.session.kernel
    result = (f"**panic** on CPU {k.paniccpu}: `{k.panicstr}`" if k.panicstr
              else f"**no panic**: {quiet_verdict(res.session)}")
    fix = "with the fix" if k.config.fix else "without the fix"
    title, text = sc.title, sc.description.strip()
    if k.config.fix != sc.fix:
        title = (f"{sc.name}'s commands on the {'fixed' if k.config.fix else 'unfixed'}"
                 " kernel")
        text = (f"The commands of the scenario \"{sc.title}\", written for the"
                f" {'fixed' if sc.fix else 'unfixed'} kernel, replayed {fix}"
                " (mi_switch's LP_BOUND guard"
                f" {'in' if k.config.fix else 'reverted'}). Its description does not"
                " apply; the result below is what this kernel did.")
    return (f"### ddbstep: {title}\n\n{text}\n\n"
            f"Kernel {fix}; {len(k.cpus)} CPUs. Result: {result}.\n\n"
            f"```\n{res.transcript}```\n")
