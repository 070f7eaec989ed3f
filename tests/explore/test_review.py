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
    assert len(paths) >= 5
    seed = paths["mi_switch -> sched_idle"]
    mig = paths["_sched_setaffinity -> lwp_migrate"]
    assert {"_pset_bind -> sched_takecpu -> lwp_migrate", "cpu_xc_offline -> lwp_migrate",
            "sched_nextlwp/sched_idle -> sched_catchlwp",
            "wakeup: sleepq_remove -> sched_takecpu"} <= set(paths)
    assert seed["writer"] == "sched_idle() sys/kern/kern_runq.c:632"
    assert paths["cpu_xc_offline -> lwp_migrate"]["guard"] == "sys/kern/kern_cpu.c:360"
    # The seed's path is never a panic under the fix; the lwp_migrate one
    # is, and the complete fix closes it (within this small budget: bounded).
    assert seed["fix"]["verdict"] in ("safe", "bounded")
    assert mig["guard"] is None and mig["fix"]["verdict"] == "panic"
    assert mig["complete"]["verdict"] in ("safe", "bounded")
    for p in r["paths"]:
        for side in ("fix", "complete"):
            v = p[side]
            # A bound names what it covered: K preemptions, or only states.
            if v["verdict"] == "bounded":
                assert v["preemptions"] is None or 0 <= v["preemptions"] <= 3
                assert not v["time_budget_stopped"]
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


def test_a_spent_time_budget_is_said_never_taken_for_an_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--budget stops searches still running; their verdicts say so and are
    bounds, never proofs (the one part of the answer that depends on speed)."""
    assert main(["review", "--json", "--states", "200000", "--budget", "0.01",
                 "--out", str(tmp_path)]) == 0
    r = json.loads(capsys.readouterr().out)
    stopped = [p[side] for p in r["paths"] for side in ("fix", "complete")
               if p[side]["time_budget_stopped"]]
    assert stopped
    assert all(v["verdict"] == "bounded" for v in stopped)


def test_every_panic_names_a_scenario_even_without_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`ddbstep review --json` alone writes the schedules where it runs."""
    monkeypatch.chdir(tmp_path)
    assert main(["review", "--json", "--states", "2000"]) == 0
    r = json.loads(capsys.readouterr().out)
    panics = [p[s] for p in r["paths"] for s in ("fix", "complete")
              if p[s]["verdict"] == "panic"]
    assert panics and r["race"]["file"]
    for v in panics:
        assert v["scenario"] and (tmp_path / Path(v["scenario"]).name).exists()
