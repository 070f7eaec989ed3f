"""The user's key map: $XDG_CONFIG_HOME/ddbstep/keymap.toml.

    [keys]
    step_everywhere = "f3,f8"
    continue = "space"

Each key names a binding id (the app's BINDINGS and its widgets'); a bad
file or an unknown id is reported on the console, never a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path


def keymap_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "ddbstep" / "keymap.toml"


def read_keymap(path: Path, known: set[str]
                ) -> tuple[dict[str, str] | None, list[tuple[str, str]]]:
    """(binding id -> keys for the known ids, or None without a usable
    file; console lines (text, style))."""
    if not path.is_file():
        return None, []
    try:
        text = path.read_text(encoding="utf-8")
        keys = tomllib.loads(text).get("keys", {})
        if not isinstance(keys, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
            raise ValueError("[keys] must map binding ids to key strings")
    except (OSError, ValueError, tomllib.TOMLDecodeError) as e:
        return None, [(f"# {path}: ignored: {e}", "dim")]
    notes = []
    lines = text.splitlines()
    for name in keys:
        if name not in known:
            where = next((i for i, line in enumerate(lines, 1)
                          if re.match(rf"\s*\"?{re.escape(name)}\"?\s*=", line)), 1)
            notes.append((f"# {path}:{where}: no key binding has the id {name!r} (ignored;"
                          f" the ids: {', '.join(sorted(known))})", "bold red"))
    return {k: v for k, v in keys.items() if k in known}, notes
