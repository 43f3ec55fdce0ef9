"""The entry hooks of `pytest -p grader.plugin`: rubric files graded by plain pytest.

    pytest -p grader.plugin rubrics/mfdnn/hw6.yaml --submissions submissions/ -k p4b

The items themselves live in `grader.judges.items`; `grade` registers the same plugin directly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.judges.items import GraderPlugin
from grader.pipeline import GradeOptions, make_session


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options for running rubric files under plain pytest (`pytest -p grader.plugin ...`)."""
    group = parser.getgroup("grader")
    group.addoption(
        "--submissions",
        action="append",
        default=[],
        metavar="PATH",
        help="submission folder, or folder of student folders, to grade",
    )
    group.addoption("--grader-seed", type=int, default=0, help="run seed for the grader's inputs")


def pytest_configure(config: pytest.Config) -> None:
    paths = config.getoption("submissions", default=[])
    rubric_files = [Path(a) for a in config.args if a.endswith((".yaml", ".yml"))]
    if not paths or not rubric_files:
        return
    options = GradeOptions(seed=config.getoption("grader_seed"))
    session = make_session(rubric_files[0], [Path(p) for p in paths], options)
    config.pluginmanager.register(GraderPlugin(session), "grader-session")
