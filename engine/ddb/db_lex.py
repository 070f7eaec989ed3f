"""db_lex.c / db_expr.c: numbers in $radix, and a small expression language.

Beyond ddb's own (numbers, $variables, + - * /), the model accepts
structure paths over modeled memory: curlwp->l_pflag, curcpu->spc_flags,
curlwp->l_target_cpu->ci_index, ADDR->field.
"""

from __future__ import annotations

import re


class DbError(Exception):
    """db_error(): print the message and return to the prompt."""


TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xXtToO][0-9a-fA-F]+|[0-9][0-9a-fA-F]*)"
    r"|(?P<var>\$[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<arrow>->)"
    r"|(?P<ident>[A-Za-z_][A-Za-z_0-9:.]*(?:\(\))?)"
    r"|(?P<op>[-+*/()]))"
)


def parse_number(text: str, radix: int) -> int:
    t = text.lower()
    try:
        if t.startswith("0x"):
            return int(t[2:], 16)
        if t.startswith("0t"):
            return int(t[2:], 10)
        if t.startswith("0o"):
            return int(t[2:], 8)
        return int(t, radix)
    except ValueError:
        raise DbError("Syntax error") from None


def tokenize(text: str) -> list[tuple[str, str]]:
    pos = 0
    out = []
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise DbError("Syntax error")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out
