"""engine/ never imports textual, rich or tui, checked in a fresh process."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import engine
import engine.ddb


def engine_modules() -> list[str]:
    out = ["engine", "engine.ddb"]
    for pkg in (engine, engine.ddb):
        out += [f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    return out


def test_every_engine_module_is_found() -> None:
    mods = engine_modules()
    assert "engine.kern_synch" in mods and "engine.ddb.db_command" in mods
    assert len(mods) > 20


def test_engine_loads_no_ui_module_in_a_fresh_process() -> None:
    code = (
        "import importlib, sys\n"
        f"for m in {engine_modules()!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui'))\n"
        "print(bad)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"


def test_the_hygiene_check_would_see_an_import() -> None:
    code = "import sys, rich\nprint([m for m in sorted(sys.modules) if m == 'rich'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "['rich']"
