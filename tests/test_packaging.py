"""A non-editable install must carry every package and the data files."""

from __future__ import annotations

import tomllib

from tests.conftest import ROOT


def test_every_package_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("engine", "tui", "scenarios")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed


def test_data_files_are_declared() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]
    assert "symtab.toml" in data["engine"] and "*.tcss" in data["tui"]
    assert "*.toml" in data["scenarios"]
