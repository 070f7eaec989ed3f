"""ViewPane: a pane the app hands a View to (attributes down).

The app sets `pane.view = view` after every command; the pane renders from
it alone (watch_view) and never reads the session. One reactive, here, for
every pane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.reactive import reactive

from tui.view import View

if TYPE_CHECKING:
    from textual.widget import Widget

    _Pane = Widget  # what it is mixed into, for the type checker
else:
    _Pane = object


class ViewPane(_Pane):
    """Mixed into a Widget before it: `class RaceView(ViewPane, TextPane)`."""

    # always_update: a new View may equal the last one and still be news
    # (the same state after undo); repaint=False: watch_view repaints.
    view: reactive[View | None] = reactive(None, always_update=True, repaint=False)
