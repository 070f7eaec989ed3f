"""db_output.c: ddb tracks the column itself.

A TAB advances to the next multiple of $tabstops; blanks are only emitted
before the next printing character, so none trail a line; a printing
character reaching $maxwidth forces a newline (off when $maxwidth < 20).
"""

from __future__ import annotations


def db_format(text: str, tabstops: int = 8, maxwidth: int = 0) -> str:
    out_lines = []
    for raw in text.split("\n"):
        line: list[str] = []
        col = 0
        pending = 0
        for ch in raw:
            if ch == "\t":
                pending = ((col + pending) // tabstops + 1) * tabstops - col
                continue
            if ch == " ":
                pending += 1
                continue
            if maxwidth >= 20 and col + pending >= maxwidth:
                out_lines.append("".join(line))
                line, col, pending = [], 0, 0
            line.append(" " * pending + ch)
            col += pending + 1
            pending = 0
        out_lines.append("".join(line))
    return "\n".join(out_lines)
