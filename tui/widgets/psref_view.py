"""psrefs pane: every passive reference, and whether its holder has moved."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from tui.view import View, who
from tui.widgets.text_pane import TextPane


def psref_text(view: View) -> Text:
    k = view.kernel
    t = Text()
    shown = 0
    for ps in k.psrefs:
        if ps.psref_target is None or ps.psref_lwp is None:
            continue
        lists = [c.ci_index for c in k.cpus if ps.idx in c.psrefs]
        holder = k.lwps[ps.psref_lwp]
        target = k.ifnets[ps.psref_target].if_xname
        line = (f"{target}  held by {who(k, holder)}  psref_cpu cpu{ps.psref_cpu}  "
                f"list {','.join(f'cpu{c}' for c in lists) or 'released'}")
        moved = bool(lists) and holder.l_cpu != ps.psref_cpu
        t.append(line, style="bold white on red" if moved else ("dim" if not lists else ""))
        if moved:
            t.append(f"\n  holder now on cpu{holder.l_cpu}", style="bold red")
        t.append("\n")
        shown += 1
    if not shown:
        t.append("no psref taken yet", style="dim")
    return t


class PsrefView(TextPane):
    view: reactive[View | None] = reactive(None, always_update=True)

    def watch_view(self, view: View | None) -> None:
        if view is not None:
            self.set_text(psref_text(view))
