"""`ddbstep demo`: a scenario's commands one key at a time, narrated.

The narration is the scenario's own sentence for each command; where it
has none for the kernel that runs (the twin's story on the other kernel),
the model's race events of that command narrate. `f` at the end plays the
same race on the other kernel: the twin scenario, or the same commands
without narration.
"""

from __future__ import annotations

import attrs

from engine.ddb.db_command import Session
from engine.events import race_events
from engine.kernel import Kernel
from engine.replay import load, verdict
from engine.scenario import Scenario, ScenarioError


def twin(scenario: Scenario, fix: bool) -> Scenario:
    """The scenario's twin written for the kernel `fix` asks for, or the
    scenario itself without its narration (written for the other one)."""
    if scenario.twin is not None:
        try:
            other = load(scenario.twin)
        except ScenarioError:
            other = None
        if other is not None and other.fix == fix:
            return other
    return attrs.evolve(scenario, narration=())


@attrs.define
class Demo:
    """Where the demo stands: the script it plays and the next command."""

    script: Scenario
    at: int = 0  # the next command's index
    before: Kernel | None = None  # the kernel before the last command run

    def next_command(self) -> str | None:
        return self.script.commands[self.at] if self.at < len(self.script.commands) else None

    def other_kernel(self, fix: bool) -> Scenario:
        """The script for the other kernel, from its first command."""
        self.script = twin(self.script, fix)
        self.at, self.before = 0, None
        return self.script

    def what_changed(self, s: Session, running: bool) -> str:
        """The race events of the command just run (the model narrates)."""
        if self.before is None or self.before is s.kernel or running:
            return ""
        events = race_events(self.before, s.kernel, s.cpu)
        return "; ".join(e.text for e in events) + "." if events else ""

    def narration(self, s: Session, running: bool) -> str:
        """Beside the output: what the command just run shows, then the next."""
        cmds, words = self.script.commands, self.script.narration
        n = len(cmds)
        fix = s.kernel.config.fix
        kernel = "fixed kernel" if fix else "unfixed kernel"
        if self.at == 0 or self.at > n:
            said = f"{self.script.title} ({kernel})"
        else:
            i = self.at - 1
            said = f"[{i + 1}/{n}] `{cmds[i]}`: " + (words[i] if i < len(words) and words[i]
                                                     else self.what_changed(s, running))
        if self.at < n:
            return f"{said}\nSpace or Enter: run `{cmds[self.at]}`"
        other = "without" if fix else "with"
        return (f"{said}\n{verdict(s)}\n"
                f"Press f to watch the same race {other} the fix, q to quit.")
