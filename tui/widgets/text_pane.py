"""A pane of fixed size that repaints its text without a new layout.

Static.update() asks for a layout pass on every call; the panes here
change their text on every step but never their size, so they only
refresh, and only when the text actually changed.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class TextPane(Widget):
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._text: Text | str = ""

    def set_text(self, text: Text | str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Text | str:
        return self._text
