"""`ddbstep tui --record FILE`: the session so far, as a scenario file.

Written after every command: the scenario's machine, the commands typed
(a refused one as a comment with ddb's words) and the panic it ended in,
so that `ddbstep replay FILE` plays it again.
"""

from __future__ import annotations

from engine.kernel import Kernel
from engine.scenario import Scenario, dump


def recording(scenario: Scenario, commands: list[str], refused: dict[int, str],
              kernel: Kernel) -> str:
    k = kernel
    result = (f"panic on CPU {k.paniccpu}: {k.panicstr}" if k.panicstr is not None
              else "no panic")
    return dump(
        scenario, commands, scenario.fix, refused=refused,
        panic=k.panicstr is not None, message=k.panicstr,
        title=f"Recorded on {scenario.name}: {len(commands)} commands, {result}",
        description=(f"A ddbstep session recorded with `ddbstep tui --record` on the"
                     f" machine of {scenario.name} (\"{scenario.title}\"),"
                     f" booted {'with' if scenario.fix else 'without'} the fix."
                     f" It ended in: {result}."))
