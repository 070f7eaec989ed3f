"""Headless replay: a scenario's commands through the interpreter.

The transcript is what a serial console shows: each command after its
prompt, then its output. It is also a valid script: every prompt line
carries one command.
"""

from __future__ import annotations

import re

import attrs

from engine.ddb.db_command import Session
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
    lines = text.splitlines()
    if any(PROMPT.match(line) for line in lines):
        return [m.group(1) for line in lines if (m := PROMPT.match(line))]
    return [line for line in lines if not line.lstrip().startswith("#")]


def run(sc: Scenario, commands: list[str] | tuple[str, ...], fix: bool | None = None) -> Result:
    s = Session.start(sc, fix)
    out: list[str] = []
    for line in commands:
        out.append((s.prompt + line).rstrip())
        text = s.execute(line)
        if text:
            out.append(text)
    transcript = "\n".join(out) + "\n"
    ok, why = check(sc, s, transcript)
    return Result(transcript, s, ok, why)


def check(sc: Scenario, s: Session, transcript: str) -> tuple[bool, str]:
    k = s.kernel
    exp = sc.expect
    panic, message = exp.panic, exp.message
    if k.config.fix != sc.fix:
        # --fix changed the kernel the scenario was written for.
        panic, message = exp.panic_with_fix, exp.message_with_fix
    if panic is True and k.panicstr is None:
        return False, "expected a panic, the kernel did not panic"
    if panic is False and k.panicstr is not None:
        return False, f"expected no panic, got: panic: {k.panicstr}"
    if message is not None:
        if k.panicstr is None or message not in k.panicstr:
            return False, f"expected the panic message to contain {message!r}"
    return True, ""


def markdown(sc: Scenario, res: Result) -> str:
    """The transcript, ready to paste into a code review."""
    k = res.session.kernel
    verdict = (f"**panic** on CPU {k.paniccpu}: `{k.panicstr}`" if k.panicstr
               else "**no panic**")
    fix = "with the fix" if k.config.fix else "without the fix"
    return (f"### ddbstep: {sc.title}\n\n{sc.description.strip()}\n\n"
            f"Kernel {fix}; {len(k.cpus)} CPUs. Result: {verdict}.\n\n"
            f"```\n{res.transcript}```\n")
