"""Every modeled statement cites its real line in the 2018 NetBSD source.

The convention (README, "Line numbers"): Stmt.line is the FIRST line of the
C statement the step models; a statement whose __LINE__ is printed (a
KASSERTMSG, a panic) also records in Stmt.end_line its LAST line, which is
what gcc gives __LINE__ for a multi-line macro call. In an assembly file a
statement is one instruction line.

The tree is the netbsd_src fixture's (tests/conftest.py): NETBSD_SRC, else
the shared copy beside the project; without one only these tests skip. No
NetBSD source is part of this project.
"""

from __future__ import annotations

import pathlib
import re

import attrs

import engine.init_main  # noqa: F401  (registers every modeled function)
from engine.machine import FUNCS, Func, Stmt

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Words of C and of the model's own shorthand that name nothing in the source.
NOISE = {
    "return", "if", "for", "while", "goto", "switch", "do", "else", "break", "continue",
    "case", "default", "int", "struct", "const", "void", "bool", "true", "false", "NULL",
    "sizeof", "unsigned", "long", "char", "static", "u_int", "volatile", "lwp_t",
}


# Static inline functions whose lines a modeled function runs in its own frame
# (the model's comments say so where the statements are).
INLINED = {"cv_wait": ("cv_enter",), "cv_broadcast": ("cv_wakeup_all",)}


def _code(line: str) -> str:
    line = re.sub(r"/\*.*?\*/", " ", line).split("//")[0]
    s = line.strip()
    # A comment's continuation is "*" then a blank, "/" or nothing;
    # "*countp = olocks;" is a statement (kern_lock.c l.311).
    if s.startswith(("/*", "#")) or re.match(r"\*(\s|/|\*|$)", s):
        return ""
    return s


def _c_span(src: list[str], n: int) -> tuple[int, int]:
    """[first, last] of the C statement (or block header) holding line n."""
    def ends(i: int) -> bool:
        c = _code(src[i - 1])
        return c == "" or c.endswith((";", "{", "}", ":"))

    first = n
    while first > 1 and not ends(first - 1):
        first -= 1
    last = n
    while last < len(src) and not _code(src[last - 1]).endswith((";", "{", "}", ":")):
        last += 1
    return first, last


def _statements() -> list[tuple[str, Func, Stmt, str]]:
    out = []
    for name, f in sorted(FUNCS.items()):
        for s in f.stmts:
            for text in (s.text, s.fixed):
                if text:
                    out.append((name, f, s, text))
    return out


def _function_body(src: list[str], name: str) -> tuple[int, int]:
    """1-based [first, last] lines of name's definition (C or ENTRY())."""
    for i, line in enumerate(src):
        if re.match(rf"^{re.escape(name)}\s*\(", line) or line.startswith(f"ENTRY({name})"):
            end = i
            close = "END(" if line.startswith("ENTRY(") else "}"
            while end < len(src) and not src[end].startswith(close):
                end += 1
            return i + 1, end + 1
    raise AssertionError(f"{name} is not defined in its file")


def check(name: str, f: Func, s: Stmt, text: str, src: list[str]) -> str | None:
    """Why s does not cite its statement, or None."""
    n = s.line
    if not 0 < n <= len(src):
        return f"line {n} is beyond the end of the file"
    real = _code(src[n - 1])
    if not real:
        return f"line {n} is a comment, a blank or a preprocessor line"
    if f.file.endswith(".S"):
        # One instruction a line: the mnemonic and operands as written.
        if " ".join(real.split()) != " ".join(text.split()):
            return f"line {n} holds {real!r}"
        return None
    first, last = _c_span(src, n)
    if text.strip() == "}":
        return None if src[n - 1].startswith("}") else f"line {n} is not the closing brace"
    if real in ("{", "}"):
        return f"line {n} is a brace"
    if first != n:
        return f"line {n} is not the first line of its statement ({first})"
    if s.end_line is not None and s.end_line != last:
        return f"end_line {s.end_line} is not the statement's last line {last}"
    if s.end_line is None and last != first and re.match(r"(KASSERT|panic)", real):
        return f"{real[:20]}... spans {first}-{last}: end_line must say {last}"
    # Every identifier of the text is in the statement, in the block it opens
    # or, for a step that combines statements, in the statements that follow
    # within the function.
    for fn in (f.name, *INLINED.get(f.name, ())):
        lo, hi = _function_body(src, fn)
        if lo <= n <= hi:
            break
    else:
        return f"line {n} is outside {f.name}()"
    body = set()
    for i in range(first, hi + 1):
        body |= set(IDENT.findall(_code(src[i - 1])))
    own = set()
    for i in range(first, last + 1):
        own |= set(IDENT.findall(_code(src[i - 1])))
    words = {w for w in IDENT.findall(text) if w not in NOISE and len(w) > 1}
    missing = sorted(words - body)
    if missing:
        return f"{', '.join(missing)} not in {f.name}() from line {n} on"
    head = re.split(r"[;{]", text, maxsplit=1)[0]
    head_words = {w for w in IDENT.findall(head) if w not in NOISE and len(w) > 1}
    if head_words - own:
        return f"the text's first statement is not the one at line {n}: {real!r}"
    opener = re.match(r"[}\s]*(else\b)?", text.strip()).group(0).replace(" ", "")
    if opener and not real.replace(" ", "").startswith(opener):
        return f"the text begins {opener!r}, line {n} does not: {real!r}"
    nxt = real
    if opener and re.fullmatch(r"}?\s*else\s*{?", real):
        # `} else` alone on its line: the statement it introduces follows.
        nxt = next(c for c in (_code(x) for x in src[n:]) if c)
    lead = IDENT.findall(head.replace("else", " "))[:2]
    if lead and lead != IDENT.findall(nxt.replace("else", " "))[:len(lead)]:
        return f"the text does not begin as line {n} does: {real!r}"
    return None


def test_every_statement_cites_its_first_line_and_its_identifiers(netbsd_src: pathlib.Path) -> None:
    root = netbsd_src
    off = []
    for name, f, s, text in _statements():
        path = root / f.file if f.file else None
        if path is None or not path.is_file():
            continue
        why = check(name, f, s, text, path.read_text(errors="replace").splitlines())
        if why:
            off.append(f"{f.file}:{s.line} {name}: {why}\n    {text[:100]}")
    assert not off, "\n".join(off)


def test_only_user_programs_and_synthetic_code_lack_a_file(netbsd_src: pathlib.Path) -> None:
    root = netbsd_src
    missing = {f.file for f in FUNCS.values() if f.file and not (root / f.file).is_file()}
    assert all(f.startswith("usr.") for f in missing), missing
    synthetic = {n for n, f in FUNCS.items() if not f.file and n != "__invoke__"}
    # Synthetic code says so (engine/slpdev.py), and never borrows a NetBSD name.
    assert synthetic == {"slpdev_ioctl", "slpdev_intr", "unbound_ifioctl"}


def test_a_moved_line_is_caught(netbsd_src: pathlib.Path) -> None:
    """The check fails when any statement's line or end_line moves by one."""
    root = netbsd_src
    for name, f, s, text in _statements():
        if not f.file or not (root / f.file).is_file() or text != s.text:
            continue
        src = (root / f.file).read_text(errors="replace").splitlines()
        for moved in (attrs.evolve(s, line=s.line + 1), attrs.evolve(s, line=s.line - 1)):
            assert check(name, f, moved, text, src) is not None, (name, s.line, text)
        if s.end_line is not None:
            moved = attrs.evolve(s, end_line=s.end_line + 1)
            assert check(name, f, moved, text, src) is not None, (name, s.end_line)
