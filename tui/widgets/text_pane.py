"""A pane of fixed size that repaints only the rows of its text that changed.

Static.update() asks for a layout pass on every call and renders the whole
text again; the panes here change a few rows on every step (the source
pane's `>` moves by one statement, a CPU card's line) and never their
size. So the text is kept as rows, each rendered once for the pane's width
(no wrapping, cut with an ellipsis unless the text says crop) and kept
until it changes, and a new text refreshes only the rows that differ
(Textual's line API). A pane of `height: auto` says AUTO_HEIGHT: a new
number of rows then lays the screen out again.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class BaseStyle:
    """The widget's rich_style, kept until its styles change.

    DOMNode.rich_style walks every ancestor's styles on each call, and a
    line-API widget asks for it on every row it renders: the biggest single
    cost of a frame. The stylesheet calls notify_style_update() on a node
    and its descendants whenever their rules change (classes, pseudo-classes,
    the theme), which is when the style can change.
    """

    _base_style: Style | None = None

    def notify_style_update(self) -> None:
        self._base_style = None
        super().notify_style_update()  # type: ignore[misc]

    @property
    def base_style(self) -> Style:
        if self._base_style is None:
            self._base_style = self.rich_style  # type: ignore[attr-defined]
        return self._base_style


def rows_of(text: Text | str) -> list[Text]:
    t = text if isinstance(text, Text) else Text(text)
    if not t.plain:
        return []
    return list(t.split("\n", allow_blank=True))


class TextPane(BaseStyle, Widget):
    AUTO_HEIGHT = False  # the CSS height is auto: its rows are its height
    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._text: Text | str = ""
        self._rows: list[Text] = []
        self._strips: dict[int, Strip] = {}  # row -> its strip at _width, unstyled
        self._width = -1

    def set_text(self, text: Text | str) -> None:
        if text == self._text:
            return
        old, new = self._rows, rows_of(text)
        self._text, self._rows = text, new
        width = max(1, self.content_size.width)
        changed = [y for y in range(max(len(old), len(new)))
                   if y >= len(old) or y >= len(new) or old[y] != new[y]]
        for y in changed:
            self._strips.pop(y, None)
        if self.AUTO_HEIGHT and len(new) != len(old):
            self.refresh(layout=True)
        # One region per run of changed rows.
        i = 0
        while i < len(changed):
            j = i
            while j + 1 < len(changed) and changed[j + 1] == changed[j] + 1:
                j += 1
            self.refresh(Region(0, changed[i], width, j - i + 1))
            i = j + 1

    def render(self) -> Text | str:
        """The whole text (what the rows show, uncut)."""
        return self._text

    def set_title(self, title: str) -> None:
        """The border title; setting it repaints the whole pane, so only
        when it changes."""
        if self.border_title != title:
            self.border_title = title

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        if width != self._width:
            self._strips.clear()
            self._width = width
        strip = self._strips.get(y)
        if strip is None:
            if y < len(self._rows):
                row = self._rows[y].copy()
                row.truncate(width, overflow=row.overflow or "ellipsis")
                strip = Strip(row.render(self.app.console), row.cell_len)
                strip = strip.extend_cell_length(width)
            else:
                strip = Strip.blank(width)
            self._strips[y] = strip
        return strip.apply_style(self.base_style)

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return max(1, len(self._rows))
