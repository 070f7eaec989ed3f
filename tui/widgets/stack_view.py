"""Stack pane: `bt` of the selected CPU, live."""

from __future__ import annotations

from textual.reactive import reactive

from engine.ddb.db_trace import db_stack_trace
from tui.view import View
from tui.widgets.text_pane import TextPane


class StackView(TextPane):
    view: reactive[View | None] = reactive(None, always_update=True)

    def watch_view(self, view: View | None) -> None:
        if view is None:
            return
        k = view.kernel
        self.border_title = f"bt (cpu{view.cpu})"
        self.set_text("\n".join(db_stack_trace(k, k.curlwp(view.cpu))))
