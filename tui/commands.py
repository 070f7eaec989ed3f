"""The command palette: every ddb command, the model's extras, the app's actions."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.ddb.db_table import SHOW, TABLE

if TYPE_CHECKING:
    from tui.app import DdbstepApp


def palette_entries(ncpu: int) -> list[tuple[str, str]]:
    """(command line, help) for everything the palette offers."""
    out: list[tuple[str, str]] = []
    for name, e in TABLE.items():
        out.append((name, "model extra" if e.extra else "ddb command"))
    for name, e in SHOW.items():
        out.append((f"show {name}", "model extra" if e.extra else "ddb show"))
    out += [("c/a", "continue all CPUs"), ("show all lwps", "model extra")]
    out += [(f"mach cpu {i}", f"select CPU {i}") for i in range(min(ncpu, 16))]
    return out


class DdbCommands(Provider):
    """Runs the chosen line through the same interpreter as the console."""

    @property
    def ddb_app(self) -> DdbstepApp:
        from tui.app import DdbstepApp

        assert isinstance(self.app, DdbstepApp)
        return self.app

    def _entries(self) -> list[tuple[str, str]]:
        return palette_entries(len(self.ddb_app.session.kernel.cpus))

    async def discover(self) -> Hits:
        for line, help_text in self._entries():
            yield DiscoveryHit(line, partial(self.ddb_app.run_ddb, line), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for line, help_text in self._entries():
            score = matcher.match(line)
            if score > 0:
                yield Hit(score, matcher.highlight(line), partial(self.ddb_app.run_ddb, line),
                          help=help_text)
