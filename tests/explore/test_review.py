"""`ddbstep review`: the answer path by path, each verdict saying what it
established, each panic a scenario that replays to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import replay
from tui.cli import main


def test_review_answers_per_path_and_its_panics_replay(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    md = tmp_path / "review.md"
    assert main(["review", "--json", "--states", "3000", "--out", str(tmp_path),
                 "--markdown", str(md)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["question"] == "Is the fix appropriate?"
    assert r["answer"].startswith("The fix is right for the reported race and not sufficient")
    paths = {p["path"]: p for p in r["paths"]}
    assert {"sched_idle", "lwp_migrate", "sched_catchlwp", "sleepq_remove"} <= set(paths)
    # The seed's path is never a panic under the fix; the lwp_migrate one
    # is, and the complete fix closes it (within this small budget: bounded).
    assert paths["sched_idle"]["fix"]["verdict"] in ("safe", "bounded")
    mig = paths["lwp_migrate"]
    assert mig["guard"] is None and mig["fix"]["verdict"] == "panic"
    assert mig["complete"]["verdict"] in ("safe", "bounded")
    assert r["race"]["verdict"] == "panic"
    for p in r["paths"]:
        for side in ("fix", "complete"):
            v = p[side]
            assert v["verdict"] != "safe" or v["states"] <= 3000
            if v["verdict"] == "panic":
                sc = replay.load(v["scenario"])
                res = replay.run(sc, list(sc.commands))
                assert res.ok and res.session.kernel.panicstr is not None
                assert "lwp_migrate() sys/kern/kern_lwp.c:1345" in res.session.kernel.panicstr
    text = md.read_text()
    assert text.startswith("**Is the fix appropriate?** The fix is right")
    assert "(ddbstep's proposal, not NetBSD's)" in text
    assert "a bound, not a proof" in text
