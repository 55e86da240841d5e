"""bench.flame: py-spy's raw collapsed stacks summarised as self and inclusive shares."""

from __future__ import annotations

from pathlib import Path

from bench.flame import as_text, summarise

RAW = (
    'process 1:"echodepth serve";run (uvicorn/main.py:10);handle (core/api/jobs.py:20);'
    "execute (sqlalchemy/engine/base.py:30) 6\n"
    'process 1:"echodepth serve";run (uvicorn/main.py:10);handle (core/api/jobs.py:21) 2\n'
    'process 1:"echodepth serve";work (core/jobs/queue.py:5);analyse (engine/text/analyser.py:7) 2\n'
)


def test_shares_fold_line_numbers_and_leave_out_the_process_frame(tmp_path: Path) -> None:
    raw = tmp_path / "api.raw"
    raw.write_text(RAW)
    total, by_self, ours = summarise(raw)
    assert total == 10
    assert [(f.name, f.self_share) for f in by_self[:2]] == [
        ("execute (sqlalchemy/engine/base.py)", 0.6),
        ("handle (core/api/jobs.py)", 0.2),
    ]
    assert ours[0].name == "handle (core/api/jobs.py)" and ours[0].inclusive_share == 0.8
    assert {f.name: f.inclusive_share for f in ours[1:]} == {
        "work (core/jobs/queue.py)": 0.2,
        "analyse (engine/text/analyser.py)": 0.2,
    }
    assert all(not f.name.startswith("process ") for f in by_self)


def test_an_empty_profile_says_so(tmp_path: Path) -> None:
    raw = tmp_path / "empty.raw"
    raw.write_text("")
    assert as_text("API", raw) == "API: no samples"
