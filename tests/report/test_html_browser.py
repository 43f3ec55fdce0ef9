"""The HTML report of the demo classes, opened in a real headless Chromium (the system one,
through the DevTools protocol): no console errors, nothing fetched from outside the files,
sorting works, figures show, it fits a phone; and no student copy states a reference value, a
hidden check or a TA prompt (derived here from the rubrics and references, not from the
grader's own list of them)."""

from __future__ import annotations

import math
import re
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.courses import load_catalog
from grader.pipeline import GradeOptions, grade_batch
from grader.reference import load_reference
from grader.report.exports import write_exports
from grader.report.html import write_site
from grader.report.staff import staff_only
from grader.results import GradeReport
from grader.rubric import (
    ChoiceCheck,
    ManualCheck,
    NumberCheck,
    RefValue,
    TableCheck,
    ValuesCheck,
    load_rubric,
)
from tests.report.cdp import CHROMIUM, Browser

ROOT = Path(__file__).resolve().parents[2]
HIDDEN_ID = "equivalent_hidden_zq"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium"),
]


def _courses(tmp: Path) -> Path:
    """The demo courses, with hw6 p1's check hidden from students under a telling id."""
    rubrics = tmp / "rubrics"
    shutil.copytree(ROOT / "rubrics", rubrics)
    for course in rubrics.glob("*/course.yaml"):
        text = course.read_text(encoding="utf-8")
        course.write_text(text.replace("../../reference", str(ROOT / "reference")))
    hw6 = rubrics / "mfdnn" / "hw6.yaml"
    data = yaml.safe_load(hw6.read_text(encoding="utf-8"))
    check = data["problems"][0]["checks"][0]
    assert check["id"] == "equivalent"
    check.update(id=HIDDEN_ID, answer="p1.equivalent", visibility="hidden")
    hw6.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return rubrics


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, recorded_runner: Any) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("html")
    rubrics = _courses(tmp)
    options = GradeOptions(rubrics_dir=rubrics, jobs=1, runner=recorded_runner())
    classes = [ROOT / "submissions" / "mfdnn" / "hw6", ROOT / "submissions" / "dl" / "hw2"]
    whole = grade_batch(classes, options)
    # hw3's script (p1) has no recorded runs: the rest of that class is graded
    options = GradeOptions(rubrics_dir=rubrics, jobs=1, runner=recorded_runner(), select="not p1")
    hw3 = grade_batch([ROOT / "submissions" / "mfdnn" / "hw3"], options)
    report = GradeReport(submissions=whole.report.submissions + hw3.report.submissions)
    roots = {}
    for batch in (whole, hw3):
        for sub in batch.report.submissions:
            folder = batch.folders[sub.student]
            roots[(sub.student, sub.homework)] = folder.class_dir / folder.name
    out = tmp / "out"
    write_exports(report, out)
    catalog = load_catalog([rubrics])
    homeworks = [catalog.find(h) for h in ("mfdnn/hw6", "mfdnn/hw3", "dl/hw2")]
    write_site(report, out, staff_only(homeworks), roots)
    return out / "html", rubrics


@pytest.fixture(scope="module")
def browser() -> Any:
    opened = Browser()
    yield opened
    opened.close()


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _local(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file://", "data:"))]


def test_every_page_opens_without_errors_or_fetches(site: tuple[Path, Path], browser) -> None:
    html, _ = site
    pages = sorted(html.rglob("*.html"))
    students = len(list((html / "students").glob("*.html")))
    assert students == 16  # the three demo classes graded here, LaTeX students included
    assert len(pages) == 1 + 2 * students  # the class page, then two pages per student
    for page in pages:
        browser.events.clear()
        browser.open(page)
        assert browser.errors() == [], page
        assert _local(browser.requests()) == [], page


def test_sorting_the_class_table(site: tuple[Path, Path], browser) -> None:
    html, _ = site
    browser.open(html / "index.html")
    column = """(() => {
      const table = document.querySelectorAll('table.sortable')[%d];
      const heads = [...table.tHead.rows[0].cells].map(c => c.textContent);
      const at = heads.indexOf('total');
      return [...table.tBodies[0].rows].map(r => parseFloat(r.cells[at].dataset.value));
    })()"""
    click = """(() => {
      const table = document.querySelectorAll('table.sortable')[%d];
      [...table.tHead.rows[0].cells].find(c => c.textContent === 'total').click();
    })()"""
    tables = browser.evaluate("document.querySelectorAll('table.sortable').length")
    assert tables == 3
    for n in range(tables):
        before = browser.evaluate(column % n)
        browser.evaluate(click % n)
        ascending = browser.evaluate(column % n)
        browser.evaluate(click % n)
        descending = browser.evaluate(column % n)
        assert ascending == sorted(before) and descending == sorted(before, reverse=True)
        assert len(set(before)) > 1  # the sort can be seen to do something


def test_the_curves_show_on_the_staff_pages(site: tuple[Path, Path], browser) -> None:
    html, _ = site
    shown = 0
    for page in sorted((html / "staff").glob("*.html")):
        browser.open(page)
        images = browser.evaluate(
            "[...document.images].map(i => "
            "[i.complete, i.naturalWidth, i.getBoundingClientRect().width])"
        )
        for complete, natural, width in images:
            assert complete and natural > 100 and width > 100, page
        shown += len(images)
    assert shown >= 5  # the hw6 students whose p5 script drew curves


@pytest.mark.parametrize(("width", "mobile"), [(390, True), (1280, False)])
def test_screenshots_fit_phone_and_desktop(
    site: tuple[Path, Path], browser, width: int, mobile: bool, tmp_path: Path
) -> None:
    html, _ = site
    for page in (
        html / "index.html",
        html / "staff" / "carol.html",
        html / "students" / "ivan.html",
    ):
        browser.open(page, width=width, height=800, mobile=mobile)
        png = browser.screenshot()
        assert _png_size(png)[0] == width
        (tmp_path / f"{page.parent.name}-{page.stem}-{width}.png").write_bytes(png)
        overflow = browser.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page} is wider than a {width}px screen"
        assert len(png) > 5000  # not a blank page


# --- what a student copy must never say ---------------------------------------------------------


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


def _spellings(number: float) -> set[str]:
    if number.is_integer():
        n = int(number)
        return {str(n), f"{n:_}", f"{n:,}"} if abs(n) >= 100 else set()
    if number == 0 or not math.isfinite(number):
        return set()
    return {s for s in (f"{number:.{d}g}" for d in (3, 4)) if len(s.lstrip("-0.")) >= 3}


def _secrets(rubrics: Path) -> tuple[set[str], set[str], set[str]]:
    """(reference values as text, hidden check ids, TA prompts) of the demo homeworks."""
    values: set[str] = set()
    hidden: set[str] = set()
    prompts: set[str] = set()
    for homework in load_catalog([rubrics]).homeworks:
        rubric = load_rubric(homework.rubric_path)
        reference = load_reference(rubric, homework.reference_root)
        for problem in rubric.problems:
            for check in problem.checks:
                if check.visibility == "hidden":
                    hidden.add(check.id)
                if isinstance(check, ManualCheck) and check.prompt:
                    prompts.add(check.prompt)
                if isinstance(check, NumberCheck | ValuesCheck | TableCheck) and reference:
                    expected = check.expected
                    if isinstance(expected, RefValue):
                        expected = reference.value(expected)
                    values |= {s for n in _numbers(expected) for s in _spellings(n)}
                if isinstance(check, ChoiceCheck) and reference:
                    expected = check.expected
                    if isinstance(expected, RefValue):
                        expected = reference.value(expected)
                    values.add("[" + ", ".join(f'"{o}"' for o in sorted(expected)) + "]")
    return values, hidden, prompts


def test_no_student_copy_states_what_only_staff_see(site: tuple[Path, Path]) -> None:
    html, rubrics = site
    values, hidden, prompts = _secrets(rubrics)
    assert HIDDEN_ID in hidden and prompts and len(values) > 20
    leaks = []
    for page in sorted((html / "students").glob("*.html")):
        # an excerpt's line-number gutter (' 112  \\begin{tabular}') is not a stated value
        text = re.sub(r"(?m)^ *\d+  ", "", page.read_text(encoding="utf-8"))
        leaks += [
            f"{page.name}: {v}"
            for v in values
            if re.search(rf"(?<![\d.,_]){re.escape(v)}(?![\d_])", text)
        ]
        leaks += [f"{page.name}: hidden {h}" for h in hidden if h in text]
        leaks += [f"{page.name}: prompt {p[:30]}" for p in prompts if p in text]
    assert leaks == []
    # the search can fail: the staff pages state them
    staff = "".join(p.read_text(encoding="utf-8") for p in (html / "staff").glob("*.html"))
    assert HIDDEN_ID in staff and any(p in staff for p in prompts)
