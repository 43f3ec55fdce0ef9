"""A Gradescope autograder for one homework: `grade gradescope mfdnn/hw6 --out autograder.zip`.

Gradescope's documented layout (its "Autograder Specifications"): the zip holds `setup.sh`
(run once, as root, when the image is built) and `run_autograder` at its top level, unpacked in
`/autograder/source`; for each submission it copies `run_autograder` to `/autograder/`, puts the
student's files in `/autograder/submission/` and reads `/autograder/results/results.json`, whose
`tests` each have `name`, `score`, `max_score`, `output` and `visibility`.

What goes in the zip: the grader itself (its source and pyproject, installed by setup.sh with
the CPU build of the torch version that built it), the course folder cut down to this homework
(course.yaml with its reference path pointing inside the zip, the rubric, its custom checks,
the course's `requirements.txt` if it has one: the course environment) and this homework's
reference package. Nothing of other homeworks.

Grading runs exactly as `grade` does for one student: the submission goes through the same
pipeline and the same sandbox, and the results through the same Gradescope export as
`grade --out`'s `gradescope/`, with each test's visibility from its rubric check. Student code
never runs without bubblewrap unless the zip was built with `--allow-weak-isolation`: without it
`run_autograder` grades nothing and exits 1, which Gradescope shows staff as an autograder
failure, never as a score. setup.sh installs bubblewrap and, likewise, fails the image build
when it cannot run.

`--root` (or `GRADER_AUTOGRADER_ROOT`) replaces `/autograder`, so a test can lay out a scratch
root as Gradescope does and run `run_autograder` for real.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

from grader.courses import COURSE_FILE, Homework, load_catalog, load_course
from grader.errors import UsageError
from grader.judges.analysis import load_with_analyses
from grader.rubric import Rubric, load_rubric

CONFIG = "autograder.json"
COURSE_DIR = "course"
DEFAULT_ROOT = Path("/autograder")
_PROJECT = Path(__file__).resolve().parent.parent  # the checkout holding pyproject.toml
_SKIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq bubblewrap
PY=""
for candidate in python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then
  apt-get install -y -qq python3.11 python3.11-venv
  PY=python3.11
fi
apt-get install -y -qq "$PY-venv" || true
"$PY" -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --upgrade pip
/autograder/venv/bin/python -m pip install -q "torch==__TORCH__" \
  --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple
/autograder/venv/bin/python -m pip install -q /autograder/source
COURSE_ENV=/autograder/source/course/__COURSE__/requirements.txt
if [ -f "$COURSE_ENV" ]; then
  /autograder/venv/bin/python -m pip install -q -r "$COURSE_ENV"
fi
# Student code runs only inside bubblewrap: an image where it cannot run is not built.
if ! bwrap --ro-bind / / --unshare-all --die-with-parent true; then
  if [ "__WEAK__" = "yes" ]; then
    echo "warning: bubblewrap cannot run here; built with --allow-weak-isolation" >&2
  else
    echo "error: bubblewrap cannot run in this image; student code would not be confined." >&2
    echo "       Rebuild with --allow-weak-isolation only if you accept that." >&2
    exit 1
  fi
fi
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for each submission; it writes /autograder/results/results.json.
set -uo pipefail
ROOT="${GRADER_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GRADER_AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT/source"
exec "$PYTHON" -m grader.autograder --root "$ROOT"
"""


# --------------------------------------------------------------------------------------------
# building the zip


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not _SKIP.intersection(p.relative_to(folder).parts)
    )


def _torch_version() -> str:
    import torch

    return str(torch.__version__).split("+")[0]


def _course_files(homework: Homework) -> dict[str, bytes]:
    """The course folder cut down to this homework, its reference inside it."""
    folder = homework.rubric_path.parent
    config, _ = load_course(folder)
    base = f"{COURSE_DIR}/{config.id}"
    course = config.model_copy(update={"reference": "reference"}).model_dump()
    files = {f"{base}/{COURSE_FILE}": yaml.safe_dump(course, sort_keys=False).encode()}
    rubric = homework.rubric_path
    for path in (rubric, rubric.with_name(f"{rubric.stem}_checks.py"), folder / "requirements.txt"):
        if path.is_file():
            files[f"{base}/{path.name}"] = path.read_bytes()
    reference = load_rubric(rubric).reference
    if reference is None:
        return files
    package = homework.reference_root / reference
    if not (package / "__init__.py").is_file():
        # Without it every check that needs the reference would be skipped on Gradescope, as
        # in a students' copy, and its points silently missing from every score.
        raise UsageError(
            f"the reference package of {homework.qualified} ({package}) is not here: an "
            "autograder without it would grade as the students' copy does"
        )
    for path in _files(package):
        files[f"{base}/reference/{reference}/{path.relative_to(package)}"] = path.read_bytes()
    return files


def _grader_files() -> dict[str, bytes]:
    """The grader's own source, installable with pip (`pip install /autograder/source`)."""
    if not (_PROJECT / "pyproject.toml").is_file():
        raise UsageError(
            "`grade gradescope` needs the grader's source checkout (pyproject.toml beside the "
            f"grader package); {_PROJECT} has none"
        )
    files = {name: (_PROJECT / name).read_bytes() for name in ("pyproject.toml", "README.md")}
    package = _PROJECT / "grader"
    for path in _files(package):
        files[f"grader/{path.relative_to(package)}"] = path.read_bytes()
    return files


def build_autograder(homework: Homework, out: Path, *, allow_weak_isolation: bool) -> Path:
    """Write the autograder zip for `homework` to `out`: deterministic, so a rebuild can be
    diffed (entries sorted, a fixed date)."""
    load_with_analyses(homework.rubric_path)  # an invalid rubric is refused here, not on Gradescope
    setup = (
        SETUP_SH.replace("__TORCH__", _torch_version())
        .replace("__COURSE__", homework.course)
        .replace("__WEAK__", "yes" if allow_weak_isolation else "no")
    )
    config = {
        "homework": homework.qualified,
        "allow_weak_isolation": allow_weak_isolation,
    }
    files = {
        "setup.sh": setup.encode(),
        "run_autograder": RUN_AUTOGRADER.encode(),
        CONFIG: (json.dumps(config, indent=2) + "\n").encode(),
        **_grader_files(),
        **_course_files(homework),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out


# --------------------------------------------------------------------------------------------
# running on Gradescope


def _submission_folder(root: Path) -> Path:
    """The student's folder: Gradescope's `submission/`, or the one folder a student's zip
    wrapped everything in (`submission/hw6/...`)."""
    folder = root / "submission"
    for _ in range(3):
        entries = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
        dirs = [p for p in entries if p.is_dir()]
        if len(entries) == 1 and dirs:
            folder = dirs[0]
        else:
            break
    return folder


def results_for(report: Any, rubric: Rubric) -> dict[str, Any]:
    """Gradescope's results.json for the one student graded, each test's visibility from the
    rubric. A submission the grader could not split into one student says so."""
    from grader.report.exports import gradescope_results

    subs = report.submissions
    if len(subs) != 1:
        folders = ", ".join(s.student for s in subs) or "nothing"
        return {
            "score": 0.0,
            "output": "Not graded: this upload holds several submissions or none "
            f"({folders}). Upload the files of one homework (answers.toml and your .py files), "
            "then submit again.",
            "tests": [],
        }
    (sub,) = subs
    return gradescope_results(sub)  # each test's visibility from its check's (hidden: hidden)


def run(root: Path) -> int:
    """Grade `root/submission` and write `root/results/results.json`; 1 when it must not run."""
    # The sandbox is asked first, before the pipeline's imports (torch: seconds): a run that
    # must not grade says so at once.
    from grader.sandbox.confinement import WEAK_ISOLATION_WARNING
    from grader.sandbox.runner import SandboxRunner

    source = root / "source"
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    runner = SandboxRunner()
    if runner.isolation != "bubblewrap" and not config.get("allow_weak_isolation"):
        print(
            "error: bubblewrap is not available here, so student code cannot be confined; "
            "nothing was graded. Install bubblewrap in setup.sh's image, or rebuild the "
            "autograder with --allow-weak-isolation.",
            flush=True,
        )
        return 1
    if runner.isolation != "bubblewrap":
        print(f"warning: {WEAK_ISOLATION_WARNING}", flush=True)
    from grader.pipeline import GradeOptions, grade
    from grader.report.exports import mark_not_final

    courses = source / COURSE_DIR
    options = GradeOptions(
        homework=config["homework"],
        rubrics_dir=courses,
        jobs=max(os.cpu_count() or 1, 1),
        runner=runner,
    )
    report = mark_not_final(grade([_submission_folder(root)], options))
    homework = load_catalog([courses]).find(config["homework"])
    data = results_for(report, load_rubric(homework.rubric_path))
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "results.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"graded {config['homework']}: {data['score']:g} points", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grader.autograder",
        description="Grade the one submission of a Gradescope autograder root.",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("GRADER_AUTOGRADER_ROOT", DEFAULT_ROOT)),
        help="Gradescope's /autograder (source/, submission/, results/)",
    )
    args = parser.parse_args(argv)
    return run(args.root)


if __name__ == "__main__":
    sys.exit(main())
