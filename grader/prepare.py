"""`grade env COURSE`: the course's sandbox environment, prepared once, before any grading.

A course's starters import packages the grader does not need itself (scikit-learn, torchvision,
torchsummary). Grading never downloads anything: this command does, once per course, into a
cached virtual environment (`~/.cache/grader/envs/<course>-<fingerprint>`, see
`grader.courses.CourseEnvironment`). The environment reuses the grader's own packages (torch)
through a `.pth` file rather than copying them, so it holds only what the course adds; the
sandbox then runs student code with its interpreter, the folder bound read-only.

pip is held to the grader's own versions (a constraints file of every distribution the grader's
environment has): a package that would need another torch or NumPy is reported as missing rather
than installed beside a second torch that student code would then import instead of the one the
grader judges with. Each package is installed on its own, so one that cannot be had (no network,
no wheel for this Python, a version conflict) is reported with how to provide it offline while
the others are installed; the command then exits 4. Code that needs a missing declared package
goes to a TA when it is graded.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.courses import ENV_MARKER, CourseEnvironment, Package, grader_site_packages

PIP_TIMEOUT_S = 900  # one package, downloads included
IMPORT_TIMEOUT_S = 300  # the first import of a large package (torchvision) on a busy machine
PTH_NAME = "_grader_reuse.pth"


@dataclass(frozen=True)
class Prepared:
    """What `grade env` did for one course."""

    course: str
    folder: Path | None
    installed: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # requirement -> pip's last words

    @property
    def complete(self) -> bool:
        return not self.missing


def prepare(
    env: CourseEnvironment,
    wheelhouse: Path | None = None,
    index_url: str | None = None,
    offline: bool = False,
    extra_index_urls: tuple[str, ...] = (),
) -> Prepared:
    """Create (or complete) the course's environment and install what it declares.

    `wheelhouse` (else the course's own) is searched first; with `offline` it is the only
    source. An environment already prepared with nothing missing is left as it is.
    """
    if env.folder is None:
        return Prepared(env.course, None)
    if env.prepared is not None and not env.missing():
        return Prepared(env.course, env.folder, [p.requirement for p in env.packages])
    _create(env.folder)
    constraints = env.folder / "grader-constraints.txt"
    constraints.write_text("\n".join(grader_versions()) + "\n", encoding="utf-8")
    wheels = wheelhouse or env.wheelhouse
    installed: list[str] = []
    missing: dict[str, str] = {}
    for package in env.packages:
        sources = Sources(wheels, index_url, extra_index_urls, offline)
        why = _install(env.folder, package, sources, constraints)
        if why is None:
            why = _imports(env.folder, package)
            if why is not None:  # left in, it would crash the students' imports: taken out
                _uninstall(env.folder, package)
        if why is None:
            installed.append(package.requirement)
        else:
            missing[package.requirement] = why
    marker = {"course": env.course, "installed": installed, "missing": missing}
    (env.folder / ENV_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    return Prepared(env.course, env.folder, installed, missing)


def _create(folder: Path) -> None:
    """A virtual environment of the grader's interpreter that sees the grader's packages."""
    python = folder / "bin" / "python"
    if not python.exists():
        if folder.exists():
            shutil.rmtree(folder)  # a half-made environment from an interrupted run
        folder.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(folder)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    site = _site_packages(folder)
    site.mkdir(parents=True, exist_ok=True)
    (site / PTH_NAME).write_text("\n".join(grader_site_packages()) + "\n", encoding="utf-8")


def _site_packages(folder: Path) -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return folder / "lib" / version / "site-packages"


def grader_versions() -> list[str]:
    """`name==version` of every distribution the grader's interpreter sees (pip's constraints)."""
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name and dist.version and name.lower() not in pins:
            pins[name.lower()] = f"{name}=={dist.version}"
    return sorted(pins.values())


@dataclass(frozen=True)
class Sources:
    """Where pip may take packages from: a wheelhouse first, then the index (unless offline)."""

    wheels: Path | None
    index_url: str | None
    extra_index_urls: tuple[str, ...]
    offline: bool

    def pip_args(self) -> list[str]:
        args = ["--find-links", str(self.wheels)] if self.wheels is not None else []
        if self.offline:
            return [*args, "--no-index"]
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        return args


def _install(folder: Path, package: Package, sources: Sources, constraints: Path) -> str | None:
    """Install one requirement with the environment's interpreter (running the grader's pip,
    which it sees through the `.pth`); None on success, else pip's last line."""
    argv = [str(folder / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    argv += ["--no-input", "--no-warn-script-location", "--quiet", "--constraint", str(constraints)]
    argv += sources.pip_args()
    try:
        done = subprocess.run(
            [*argv, package.requirement],
            capture_output=True,
            text=True,
            timeout=PIP_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"pip did not finish in {PIP_TIMEOUT_S} s"
    except OSError as exc:
        return f"pip could not start: {exc.strerror}"
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return lines[-1][:300] if lines else f"pip exited with status {done.returncode}"


def _imports(folder: Path, package: Package) -> str | None:
    """None when the environment's interpreter imports the package; else why not.

    Really imported, not only found: a wheel built against another torch (torchvision from the
    default index beside a CPU build of torch) installs fine and fails on import ("operator
    torchvision::nms does not exist"), and in the sandbox that failure would read as the
    student's. The import runs in a child process of the course staff's own command, never
    while grading.
    """
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    try:
        done = subprocess.run(
            [str(folder / "bin" / "python"), "-I", "-c", code, *package.import_names],
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"installed, but importing it took over {IMPORT_TIMEOUT_S} s"
    except OSError as exc:
        return f"installed, but its interpreter could not start: {exc.strerror}"
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    last = lines[-1][:300] if lines else f"status {done.returncode}"
    return (
        f"installed, but `import {', '.join(package.import_names)}` fails ({last}); a package "
        f"built against torch must match the grader's torch {_torch_version()} (take it from "
        "the index that torch came from: --extra-index-url for its CPU or CUDA build)"
    )


def _uninstall(folder: Path, package: Package) -> None:
    subprocess.run(
        [
            str(folder / "bin" / "python"),
            "-m",
            "pip",
            "uninstall",
            "--yes",
            "--quiet",
            package.name,
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "(none)"


def offline_advice(prepared: Prepared) -> list[str]:
    """How a course's staff provides what could not be installed, without a network here."""
    if prepared.complete:
        return []
    requirements = " ".join(f"'{r}'" for r in prepared.missing)
    return [
        "on a machine with the network and the same Python "
        f"({sys.version_info.major}.{sys.version_info.minor}), download the wheels:",
        f"    python -m pip download --dest WHEELS {requirements}",
        f"then, here: grade env {prepared.course} --wheelhouse WHEELS --offline",
        "(or set `environment: {wheelhouse: WHEELS}` in the course's course.yaml)",
    ]
