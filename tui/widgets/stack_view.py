"""Stack pane: `bt` of the selected CPU, live, the selected frame marked
(`>`) and its locals below (the model's frame variables)."""

from __future__ import annotations

from rich.text import Text

from engine import symtab
from engine.ddb.db_trace import db_stack_trace
from tui.view import View
from tui.widgets.text_pane import TextPane
from tui.widgets.view_pane import ViewPane


def _value(v: object) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:#x}" if v > 9 else str(v)
    return repr(v)


def stack_text(view: View) -> Text:
    k = view.kernel
    l = k.curlwp(view.cpu)
    lines = db_stack_trace(k, l)
    frames = symtab.symbol_frames(l)
    sel = max(0, min(view.frame, len(frames) - 1))
    t = Text(no_wrap=True, overflow="ellipsis")
    for n, line in enumerate(lines):
        here = n == sel and not line.startswith("---")
        t.append(("> " if here else "  ") + line + "\n", style="bold reverse" if here else "")
    fr = l.stack[frames[sel]] if frames else None
    if fr is not None and fr.vars:
        t.append(f"locals of {fr.func}():\n", style="bold dim")
        for name, value in fr.vars:
            t.append(f"  {name} = {_value(value)}\n")
    t.rstrip()
    return t


class StackView(ViewPane, TextPane, can_focus=True):

    DEFAULT_CSS = """
    StackView {
        border: round $secondary;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """
    ALLOW_MAXIMIZE = True

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        self.set_title(f"bt (cpu{view.cpu})" + (f", frame {view.frame}" if view.frame else ""))
        self.set_text(stack_text(view))
