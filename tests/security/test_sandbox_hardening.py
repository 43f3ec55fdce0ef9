"""Issue 13, class 4, in the real bubblewrap sandbox: what student code could still do there.

- **tmpfs inodes**: tmpfs `size` counts pages and an empty file has none, so millions of empty
  files in /tmp, /dev/shm, HOME or TMPDIR pinned gigabytes of kernel memory. Each mount now holds
  `TMPFS_INODES` files at most (a launcher remounts them with `nr_inodes`, then drops every
  capability before the interpreter starts).
- **host paths**: /proc/1/cmdline (bwrap's own command line, with the scratch folder and the
  venv), `sys.executable`/`sys.path`, the venv's `pyvenv.cfg` and the editable install's finder
  told student code where the grader's checkout lives. Now bwrap reads its options from a memory
  file, the venv appears at a neutral path, and those files read as empty or sanitized.

Each test runs a script of its own as the sandbox's probe, through the cold runner's own
`_execute` (the same argv as every probe); the script writes what it saw into the output folder.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.sandbox.confinement import (
    TMPFS_INODES,
    VENV_INNER,
    bubblewrap_available,
    inode_limit_supported,
)
from grader.sandbox.exchange import new_scratch
from grader.sandbox.jobs import Limits
from grader.sandbox.runner import SandboxRunner

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sandbox,
    pytest.mark.skipif(not bubblewrap_available(), reason="needs the real bubblewrap sandbox"),
]


def run_in_sandbox(script: str) -> tuple[dict[str, Any], str]:
    """Run `script` as the probe of a cold sandbox run; its JSON report and the host scratch."""
    scratch = new_scratch("hardening")
    try:
        io_dir = scratch / "io"
        (io_dir / "out").mkdir(parents=True)
        for folder in ("sub", "home", "tmp"):
            (scratch / folder).mkdir()
        (io_dir / "probe.py").write_text(textwrap.dedent(script))
        completed = SandboxRunner(use_bwrap=True, warm=False)._execute(scratch, Limits(wall_s=120))
        report = io_dir / "out" / "report.json"
        assert report.is_file(), f"the script did not finish: {completed.stderr[-2000:]}"
        return json.loads(report.read_text()), str(scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


FILL = """
    import json, os, sys
    counts = {}
    for folder in ("/tmp", "/dev/shm", os.environ["HOME"], os.environ["TMPDIR"]):
        n = 0
        try:
            while n < 200_000:  # far past the cap; bounded so a failure cannot hang the test
                os.close(os.open(f"{folder}/e{n}", os.O_CREAT | os.O_WRONLY, 0o600))
                n += 1
        except OSError:
            pass
        counts[folder] = n
    with open(sys.argv[1] + "/out/report.json", "w") as fh:
        json.dump(counts, fh)
"""


@pytest.mark.skipif(
    not inode_limit_supported(), reason="bwrap may not keep CAP_SYS_ADMIN here (SECURITY.md)"
)
def test_empty_files_in_tmpfs_are_capped() -> None:
    counts, _ = run_in_sandbox(FILL)
    assert set(counts) == {"/tmp", "/dev/shm", "/sandbox/home", "/sandbox/tmp"}
    for folder, made in counts.items():
        assert 1_000 <= made <= TMPFS_INODES, (folder, made)  # control: files can be made


SNOOP = """
    import json, os, sys
    seen = {
        "pid1": open("/proc/1/cmdline", "rb").read().decode(errors="replace"),
        "self": open("/proc/self/cmdline", "rb").read().decode(errors="replace"),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "path": " ".join(sys.path),
        "environ": " ".join(f"{k}={v}" for k, v in os.environ.items()),
    }
    files = {}
    for site in [p for p in sys.path if p.endswith("site-packages")]:
        for entry in os.listdir(site):
            path = os.path.join(site, entry)
            if entry.startswith("__editable__") or entry.endswith(".pth"):
                files[path] = open(path, errors="replace").read()
            elif entry.endswith(".dist-info") and os.path.exists(path + "/direct_url.json"):
                files[path] = open(path + "/direct_url.json", errors="replace").read()
    config = os.path.join(sys.prefix, "pyvenv.cfg")
    if os.path.exists(config):
        files[config] = open(config).read()
    seen["files"] = " ".join(f"{k}: {v}" for k, v in files.items())
    seen["editable"] = sorted(k for k in files if "__editable__" in k)
    with open(sys.argv[1] + "/out/report.json", "w") as fh:
        json.dump(seen, fh)
"""


def test_no_host_path_of_the_grader_is_readable() -> None:
    seen, scratch = run_in_sandbox(SNOOP)
    checkout = str(REPO)
    venv = sys.prefix
    assert seen["executable"] and "site-packages" in seen["path"]  # control: the probe ran
    for where in ("pid1", "self", "executable", "prefix", "path", "environ", "files"):
        text = seen[where]
        for host in {checkout, venv, scratch, "/work/"}:
            if host and host != "/":
                assert host not in text, f"{host} readable in {where}: {text[:600]}"
    assert seen["pid1"].startswith("bwrap\x00--args\x00")  # its options are in a memory file
    if sys.prefix != sys.base_prefix:  # the grader's venv, at a neutral path
        assert seen["prefix"] == VENV_INNER
