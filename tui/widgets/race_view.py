"""Race pane: the LWPs the race is about, and every passive reference.

Which LWPs qualify is computed from the state, never from names: one that
holds a psref still on a CPU's list, one whose l_target_cpu is set, one
that sits in a CPU's spc_migrating, and the selected CPU's curlwp. Each
row shows l_pflag decoded (so LP_BOUND is legible), l_cpu, l_target_cpu
and l_stat; the role letters say why the row is there.
"""

from __future__ import annotations

from rich.text import Text

from engine.kernel import Kernel, Lwp
from engine.param import LP_BOUND, LP_NAMES, LS_NAMES, bits
from tui.view import View
from tui.widgets.text_pane import TextPane
from tui.widgets.view_pane import ViewPane

LEGEND = "P holds a psref  T l_target_cpu set  M in spc_migrating  * selected CPU's curlwp"


def held_psrefs(k: Kernel) -> dict[int, list[int]]:
    """LWP index -> the psrefs it holds that are still on a CPU's list."""
    out: dict[int, list[int]] = {}
    for ps in k.psrefs:
        if ps.psref_lwp is not None and any(ps.idx in c.psrefs for c in k.cpus):
            out.setdefault(ps.psref_lwp, []).append(ps.idx)
    return out


def race_lwps(k: Kernel, cpu: int) -> list[tuple[Lwp, str]]:
    """(LWP, roles) of every LWP involved in the race, in k.lwps order."""
    held = held_psrefs(k)
    migrating = {c.spc_migrating for c in k.cpus if c.spc_migrating is not None}
    cur = k.cpus[cpu].ci_curlwp
    out = []
    for l in k.lwps:
        roles = ("P" if l.idx in held else ".") + ("T" if l.l_target_cpu is not None else ".") + (
            "M" if l.idx in migrating else ".") + ("*" if l.idx == cur else ".")
        if roles != "....":
            out.append((l, roles))
    return out


def _cpu(ci: int | None) -> str:
    return "NULL" if ci is None else f"cpu{ci}"


def race_text(view: View) -> Text:
    k = view.kernel
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{'RACE':<5}{'PID.LID':<10}{'COMM':<9}{'L_STAT':<9}{'L_CPU':<6}{'TARGET':<7}L_PFLAG\n",
             style="bold dim")
    for l, roles in race_lwps(k, view.cpu):
        p = k.proc(l)
        t.append(f"{roles:<5}", style="cyan")
        t.append(f"{f'{p.p_pid}.{l.l_lid}':<10}")
        t.append(f"{(l.l_name or p.p_comm)[:8]:<9}")
        t.append(f"{LS_NAMES.get(l.l_stat, '?'):<9}")
        t.append(f"{_cpu(l.l_cpu):<6}")
        t.append(f"{_cpu(l.l_target_cpu):<7}",
                 style="bold yellow" if l.l_target_cpu is not None else "")
        t.append(bits(l.l_pflag, LP_NAMES), style="bold red" if l.l_pflag & LP_BOUND else "")
        t.append("\n")
    for ps in k.psrefs:
        if ps.psref_target is None or ps.psref_lwp is None:
            continue
        lists = [c.ci_index for c in k.cpus if ps.idx in c.psrefs]
        holder = k.lwps[ps.psref_lwp]
        p = k.proc(holder)
        moved = bool(lists) and holder.l_cpu != ps.psref_cpu
        t.append("psref ", style="bold")
        t.append(f"{k.ifnets[ps.psref_target].if_xname}: psref_cpu {_cpu(ps.psref_cpu)}, "
                 f"list {','.join(f'cpu{c}' for c in lists) or '(released)'}, "
                 f"holder {p.p_pid}.{holder.l_lid} on {_cpu(holder.l_cpu)}",
                 style="dim" if not lists else "")
        if moved:
            t.append("  <- holder moved", style="bold white on red")
        t.append("\n")
    for line, value in view.pins:
        t.append("pin ", style="bold cyan")
        t.append(f"{line} => ", style="dim")
        t.append(value + "\n")
    t.rstrip()
    return t


class RaceView(ViewPane, TextPane):
    """Height: auto, one row per race LWP and per psref."""

    DEFAULT_CSS = """
    RaceView {
        height: auto;
        max-height: 12;
        padding: 0 1;
        border: round $warning;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    AUTO_HEIGHT = True

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        self.set_text(race_text(view))
