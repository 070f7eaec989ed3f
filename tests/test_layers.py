"""The layers, written down and held: each module imports only its own
layer and the ones below, and no import cycle exists anywhere.

    constants < kernel model < scenario data < boot < explore < ddb < replay < tui

An import under `if TYPE_CHECKING:` only annotates and is not counted;
every other import is, at module level or inside a function. Each headless
module is also imported alone in a fresh process.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("engine", "tui", "scenarios")

# Highest first: a module's layer is the first pattern that matches it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("tui", ("tui",)),
    ("replay", ("engine.replay", "engine.reproduce", "engine.review")),
    ("ddb", ("engine.ddb",)),
    ("explore", ("engine.explore", "engine.footprint", "engine.stepcache")),
    ("boot", ("engine.init_main",)),
    ("scenario data", ("engine.scenario", "scenarios")),
    ("kernel model", ("engine",)),  # the kernel's files, symtab, intr, events, callgraph
    ("constants", ("engine.param",)),
)
ORDER = ["constants", "kernel model", "scenario data", "boot", "explore", "ddb", "replay",
         "tui"]


def layer(mod: str) -> str:
    best = None
    for name, prefixes in LAYERS:
        for p in prefixes:
            if (mod == p or mod.startswith(p + ".")) and (best is None or len(p) > best[1]):
                best = (name, len(p))
    assert best is not None, mod
    return best[0]


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            name = ".".join(rel.parts)
            out[name.removesuffix(".__init__")] = path
    return out


def imports() -> dict[str, set[str]]:
    """module -> the project modules it imports (not under TYPE_CHECKING)."""
    mods = modules()

    def resolve(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        typing_only = {id(n) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                       for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                hit = resolve(t)
                if hit is not None and hit != mod:
                    graph[mod].add(hit)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle() -> None:
    assert cycles(imports()) == []


def test_no_import_runs_up_a_layer() -> None:
    bad = [f"{m} ({layer(m)}) imports {t} ({layer(t)})"
           for m, targets in sorted(imports().items()) for t in sorted(targets)
           if ORDER.index(layer(t)) > ORDER.index(layer(m))]
    assert bad == []


def test_the_checks_would_see_a_cycle_and_an_upward_import() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert layer("engine.scenario") == "scenario data"
    assert layer("engine.ddb.db_run") == "ddb" and layer("engine.param") == "constants"
    assert ORDER.index(layer("engine.ddb.db_command")) > ORDER.index(layer("engine.explore"))
    # the graph sees the imports that closed the old cycle, were they back
    graph = imports()
    assert "engine.ddb.db_session" in graph["engine.ddb.db_run"]
    assert "engine.ddb.db_table" in graph["engine.ddb.db_command"]


def test_every_module_has_a_layer() -> None:
    for m in modules():
        assert layer(m) in ORDER


@pytest.mark.parametrize("mod", sorted(m for m in modules()
                                       if not m.startswith("tui") and m != "scenarios"))
def test_each_headless_module_imports_alone(mod: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {mod}"], cwd=ROOT, check=True,
                   capture_output=True)
