"""db_output.c: ddb tracks the column itself.

A TAB advances to the next multiple of $tabstops; blanks are only emitted
before the next printing character, so none trail a line; a printing
character that reaches $maxwidth is followed by a newline (off when
$maxwidth < 20).
"""

from __future__ import annotations


def db_format(text: str, tabstops: int = 8, maxwidth: int = 0) -> str:
    """db_putchar() over text (db_output.c l.140-178): whitespace only moves
    db_output_position and is emitted before the next printing character
    (db_force_whitespace, as spaces); a printing character that brings the
    position to $maxwidth is followed by an automatic newline, so a line
    holds $maxwidth characters (whitespace may carry one past it)."""
    out_lines = []
    for raw in text.split("\n"):
        line: list[str] = []
        pos = 0  # db_output_position
        last = 0  # db_last_non_space
        for ch in raw:
            if ch == "\t":
                pos = (pos + tabstops) // tabstops * tabstops  # DB_NEXT_TAB
                continue
            if ch == " ":
                pos += 1
                continue
            line.append(" " * (pos - last) + ch)
            pos += 1
            if maxwidth >= 20 and pos >= maxwidth:  # DB_MIN_MAX_WIDTH
                out_lines.append("".join(line))
                line, pos = [], 0
            last = pos
        out_lines.append("".join(line))
    return "\n".join(out_lines)
