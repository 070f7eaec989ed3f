"""db_lex.c (1.22): ddb's lexical analyzer, one command line at a time.

Tokens as db_lex() makes them: a number in $radix (0x, 0t, 0o prefixes;
a letter or digit that does not belong ends it with "Bad character in
number"), an identifier (letters, digits, `_`, `:`, `\\` escapes), and the
one-character tokens + - . .. * / = % # ( ) , " $ ! << >>. Anything else
prints "Bad character" and ends the line, as db_flush_lex() does.

Model extension: `->` (a structure field of modeled memory) is one token.
"""

from __future__ import annotations


class DbError(Exception):
    """db_error(): print the message and return to the prompt."""


tEOF, tEOL, tIDENT, tNUMBER = -1, 1, 2, 3
tPLUS, tMINUS, tDOT, tSTAR, tSLASH, tEQ = 4, 5, 6, 7, 8, 9
tLPAREN, tRPAREN, tPCT, tHASH, tCOMMA, tDITTO = 10, 11, 12, 13, 14, 15
tDOLLAR, tEXCL, tSHIFT_L, tSHIFT_R, tDOTDOT = 16, 17, 18, 19, 20
tARROW = 100  # model extension: ADDR->field

_ONE = {
    "+": tPLUS, "-": tMINUS, "*": tSTAR, "/": tSLASH, "=": tEQ, "%": tPCT,
    "#": tHASH, "(": tLPAREN, ")": tRPAREN, ",": tCOMMA, '"': tDITTO,
    "$": tDOLLAR, "!": tEXCL,
}


def _ident_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_\\:")


class Lexer:
    """db_read_token() / db_unread_token() over one line."""

    def __init__(self, line: str, radix: int, out: list[str] | None = None) -> None:
        self.line = line
        self.pos = 0
        self.radix = radix
        self.look: int | None = None
        self.tok_string = ""
        self.tok_number = 0
        # What the lexer prints itself ("Bad character"): the caller shows it.
        self.out: list[str] = out if out is not None else []

    # -- characters ----------------------------------------------------------------

    def _read_char(self) -> str:
        if self.pos >= len(self.line):
            self.pos += 1
            return "\n"
        c = self.line[self.pos]
        self.pos += 1
        return c

    def _unread_char(self) -> None:
        self.pos -= 1

    def flush(self) -> None:
        """db_flush_lex(): drop the rest of the line."""
        self.pos = len(self.line) + 1
        self.look = None

    # -- tokens --------------------------------------------------------------------

    def read_token(self) -> int:
        if self.look is not None:
            t, self.look = self.look, None
            return t
        return self._lex()

    def unread_token(self, t: int) -> None:
        self.look = t

    def rest(self) -> str:
        """The raw text not yet lexed (for commands that parse their own)."""
        if self.look is not None:
            raise DbError("?")
        return self.line[self.pos:] if self.pos < len(self.line) else ""

    def skip_to_eol(self) -> None:
        self.flush()

    def _lex(self) -> int:
        c = self._read_char()
        while c <= " " or c > "~":
            if c == "\n":
                return tEOL
            c = self._read_char()
        if "0" <= c <= "9":
            return self._number(c)
        if c.isascii() and (c.isalpha() or c in "_\\"):
            return self._ident(c)
        if c == "." :
            if self._read_char() == ".":
                return tDOTDOT
            self._unread_char()
            return tDOT
        if c == "-":
            if self._read_char() == ">":
                return tARROW
            self._unread_char()
            return tMINUS
        if c in _ONE:
            return _ONE[c]
        if c in "<>":
            if self._read_char() == c:
                return tSHIFT_L if c == "<" else tSHIFT_R
            self._unread_char()
        self.out.append("Bad character")
        self.flush()
        return tEOF

    def _number(self, c: str) -> int:
        if c > "0":
            r = self.radix
        else:
            c = self._read_char()
            if c in "Oo":
                r = 8
            elif c in "Tt":
                r = 10
            elif c in "Xx":
                r = 16
            else:
                r = self.radix
                self._unread_char()
            c = self._read_char()
        n = 0
        while True:
            if "0" <= c <= ("7" if r == 8 else "9"):
                d = ord(c) - ord("0")
            elif r == 16 and c.lower() in "abcdef" and c.isalpha():
                d = ord(c.lower()) - ord("a") + 10
            else:
                break
            n = n * r + d
            c = self._read_char()
        if c.isascii() and (c.isalnum() or c == "_"):
            raise DbError("Bad character in number")
        self._unread_char()
        self.tok_number = n & 0xFFFFFFFFFFFFFFFF
        return tNUMBER

    def _ident(self, c: str) -> int:
        chars = []
        if c == "\\":
            c = self._read_char()
            if c == "\n":
                raise DbError("Bad escape")
        chars.append(c)
        while True:
            c = self._read_char()
            if not _ident_char(c):
                break
            if c == "\\":
                c = self._read_char()
                if c == "\n":
                    raise DbError("Bad escape")
            chars.append(c)
        self._unread_char()
        self.tok_string = "".join(chars)
        return tIDENT


def parse_number(text: str, radix: int) -> int:
    """A whole word as db_lex() reads a number."""
    lx = Lexer(text, radix)
    if lx.read_token() != tNUMBER or lx.read_token() != tEOL:
        raise DbError("Syntax error")
    return lx.tok_number


def num_to_str(v: int, radix: int) -> str:
    """db_num_to_str() (db_lex.c): the value in $radix, no prefix."""
    v &= 0xFFFFFFFFFFFFFFFF
    if radix == 16:
        return f"{v:x}"
    if radix == 8:
        return f"{v:o}"
    return f"{v:d}"
