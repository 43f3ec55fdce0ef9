"""Confinement: bubblewrap's arguments, the scrubbed environment, rlimits and the kill.

Under bubblewrap the process sees a read-only system and Python, its scratch folder and nothing
else: no network, no `reference/`, no `rubrics/`, no classmates, no grader environment variables.
Without bubblewrap it still gets rlimits, a process group and a scrubbed environment, and the run
says loudly what is not protected.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.sandbox.jobs import Limits

STARTUP_S = 30.0  # interpreter start and `import torch` on a loaded machine


SMALL_TMPFS_BYTES = 64 * 2**20  # RAM-backed mounts must not bypass the memory limit


PRIVATE_TMPFS_BYTES = 256 * 2**20  # HOME and TMPDIR: room for caches, not for a RAM hoard


TMPFS_INODES = 16_384
"""Files and folders per tmpfs mount. tmpfs `size` counts pages, and an empty file has none, so
without this a student could make millions of empty files, each pinning an inode and a dentry of
unreclaimable kernel memory (gigabytes) that no rlimit counts. Honest code makes a few (caches)."""

VENV_INNER = "/opt/venv"
"""Where the grader's virtual environment appears inside the sandbox: a neutral path, so its
host location (the grader's checkout beside it) is not in `sys.executable`, `sys.path` or the
processes' command lines."""

MARKER_VAR = "GRADER_SANDBOX_RUN"


OUTPUT_TAIL = 4000


def bubblewrap_available() -> bool:
    """bwrap exists and can actually create namespaces here (some containers forbid it)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    probe = subprocess.run(
        [bwrap, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return probe.returncode == 0


WEAK_ISOLATION_WARNING = (
    "bubblewrap (bwrap) is not available: student code runs WITHOUT filesystem and network "
    "isolation. It still gets time, memory and process limits, a scrubbed environment and a "
    "scratch copy, but it could read files this user can read (including reference/) and reach "
    "the network. Install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap) before "
    "grading untrusted submissions."
)


def sandbox_env(inner_root: str, limits: Limits) -> dict[str, str]:
    """A scrubbed environment: nothing of the grader's own variables reaches student code."""
    threads = str(limits.threads)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": f"{inner_root}/home",
        "TMPDIR": f"{inner_root}/tmp",
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{inner_root}/tmp/mpl",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
        "NUMEXPR_NUM_THREADS": threads,
        "TORCH_NUM_THREADS": threads,
        **{k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
    }


def _venv() -> Path | None:
    """The grader's virtual environment, when it runs from one outside /usr."""
    prefix = Path(sys.prefix)
    if sys.prefix == sys.base_prefix or sys.prefix.startswith("/usr"):
        return None
    return prefix if (prefix / "pyvenv.cfg").is_file() else None


def inner_python() -> str:
    """The interpreter's path inside the sandbox (`VENV_INNER` for a virtual environment)."""
    venv = _venv()
    if venv is None:
        return sys.executable
    try:
        return f"{VENV_INNER}/{Path(sys.executable).relative_to(venv).as_posix()}"
    except ValueError:
        return sys.executable


def _hidden_venv_files(venv: Path) -> list[Path]:
    """Files of the environment that name host paths and that the sandbox never needs: the
    editable install's finder and `.pth` (they map `grader` to its checkout), and each
    distribution's `direct_url.json` (a `file://` URL of where it was installed from)."""
    found: list[Path] = []
    for site in sorted(venv.glob("lib/python*/site-packages"))[:4]:
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(site))[:20_000]:
                path = site / entry
                if entry.startswith("__editable__"):
                    found.append(path)
                elif entry.endswith(".dist-info") and (path / "direct_url.json").is_file():
                    found.append(path / "direct_url.json")
    return found


def venv_binds(scratch: Path) -> list[str]:
    """The virtual environment at `VENV_INNER`, with its host paths hidden: `pyvenv.cfg` keeps
    only what the interpreter reads (`home`, `version`, `include-system-site-packages`; not the
    `command` that created it, which names its host folder), the files of `_hidden_venv_files`
    read as empty. The sanitized `pyvenv.cfg` is written into `scratch`."""
    venv = _venv()
    if venv is None:
        return []
    kept = [
        line
        for line in (venv / "pyvenv.cfg").read_text(errors="replace").splitlines()[:100]
        if line.split("=", 1)[0].strip() in ("home", "version", "include-system-site-packages")
    ]
    config = scratch / "pyvenv.cfg"
    config.write_text("\n".join(kept) + "\n")
    argv = [
        "--ro-bind",
        str(venv),
        VENV_INNER,
        "--ro-bind",
        str(config),
        f"{VENV_INNER}/pyvenv.cfg",
    ]
    empty = scratch / "empty"  # not /dev/null: a device node reads as EACCES on a nodev mount
    empty.write_bytes(b"")
    for hidden in _hidden_venv_files(venv):
        argv += ["--ro-bind", str(empty), f"{VENV_INNER}/{hidden.relative_to(venv).as_posix()}"]
    return argv


def python_roots() -> list[str]:
    """The interpreter and its packages: the only parts of the host filesystem student code sees."""
    roots = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sys.base_exec_prefix,
        str(Path(sys.executable).resolve().parent.parent),
    }
    return sorted(r for r in roots if r and Path(r).exists())


def bwrap_argv(
    scratch: Path,
    inner_root: str,
    *,
    sub: Path | None = None,
    io_dir: Path | None = None,
    out_dir: Path | None = None,
    warm: bool = False,
    environment: Path | None = None,
) -> list[str]:
    """bubblewrap's arguments: `scratch/sub` read-write as the working folder, `scratch/io`
    (probe, plan, inputs) read-only with `scratch/io/out` read-write on top, private tmpfs
    mounts for HOME, TMPDIR, /tmp and /dev/shm. A warm worker (`warm`) names its own folders,
    runs as PID 1 of the sandbox (so no process in there can signal it) and reports its host PID
    on an info fd instead of dying with the thread that started it. A course's prepared
    `environment` (`grade env`) is bound read-only where it lies, beside the grader's Python,
    and so is the grader's own environment at its host path (the course environment's `.pth`
    names it there, to reuse the grader's torch).

    The command after these options must be `launched(command, inner_root)`: where the tmpfs
    inodes can be capped the options keep CAP_SYS_ADMIN and CAP_SETPCAP, which only the launcher
    drops (before anything else runs)."""
    sub = sub or scratch / "sub"
    io_dir = io_dir or scratch / "io"
    out_dir = out_dir or io_dir / "out"
    argv = [
        "bwrap",
        "--unshare-all",
        *(["--as-pid-1"] if warm else ["--die-with-parent"]),
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--size",
        str(SMALL_TMPFS_BYTES),
        "--tmpfs",
        "/tmp",
    ]
    for system_dir in (
        "/usr",
        "/bin",
        "/lib",
        "/lib64",
        "/sbin",
        "/etc/alternatives",
        "/etc/fonts",
        "/etc/ld.so.cache",
        "/etc/localtime",
    ):
        if Path(system_dir).exists():
            argv += ["--ro-bind", system_dir, system_dir]
    venv = _venv()
    for root in python_roots():
        if not root.startswith("/usr") and (venv is None or Path(root) != venv):
            argv += ["--ro-bind", root, root]
    if environment is not None:
        argv += ["--ro-bind", str(environment), str(environment)]
        if venv is not None:
            argv += ["--ro-bind", str(venv), str(venv)]
    argv += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(SMALL_TMPFS_BYTES),
        "--tmpfs",
        "/dev/shm",
        "--bind",
        str(sub),
        f"{inner_root}/sub",
        "--ro-bind",
        str(io_dir),
        f"{inner_root}/io",
        "--bind",
        str(out_dir),
        f"{inner_root}/io/out",
        "--size",
        str(PRIVATE_TMPFS_BYTES),
        "--tmpfs",
        f"{inner_root}/home",
        "--size",
        str(PRIVATE_TMPFS_BYTES),
        "--tmpfs",
        f"{inner_root}/tmp",
        # The root and /dev are bwrap's own tmpfs mounts holding the mount points above: read
        # only, or a student could park files there (uncapped, in RAM) for the next student
        # in a warm worker, or rename /sandbox itself to swap in their code for later runs.
        *("--remount-ro", "/", "--remount-ro", "/dev"),
        "--chdir",
        f"{inner_root}/sub",
    ]
    argv[1:1] = venv_binds(scratch)
    if inode_limit_supported():  # the launcher caps the tmpfs inodes, then drops these again
        after_drop = argv.index("--cap-drop") + 2
        argv[after_drop:after_drop] = ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    return argv


def tmpfs_mounts(inner_root: str) -> list[tuple[str, int]]:
    """The sandbox's tmpfs mounts and their sizes, as `bwrap_argv` makes them."""
    return [
        ("/tmp", SMALL_TMPFS_BYTES),
        ("/dev/shm", SMALL_TMPFS_BYTES),
        (f"{inner_root}/home", PRIVATE_TMPFS_BYTES),
        (f"{inner_root}/tmp", PRIVATE_TMPFS_BYTES),
    ]


SETPRIV = "setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs --"


def launched(command: list[str], inner_root: str) -> list[str]:
    """`command` started by a launcher that remounts each tmpfs with `TMPFS_INODES` inodes at
    most, then execs it (same PID) with every capability dropped, for good (bounding set empty,
    no new privileges): student code never holds the CAP_SYS_ADMIN the remount needs. If the
    remount fails, nothing runs (the observation is missing: an error, never a verdict)."""
    if not inode_limit_supported():
        return command
    remounts = " && ".join(
        f"mount -o remount,size={size},nr_inodes={TMPFS_INODES} {path}"
        for path, size in tmpfs_mounts(inner_root)
    )
    return ["/bin/sh", "-c", f'{remounts} && exec {SETPRIV} "$@"', "launch", *command]


@functools.cache
def inode_limit_supported() -> bool:
    """Whether bwrap may keep CAP_SYS_ADMIN (in the sandbox's user namespace) for the launcher
    and setpriv exists: not where bwrap is setuid for an ordinary user (SECURITY.md)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None or not Path("/usr/bin/setpriv").exists():
        return False
    argv = [
        bwrap,
        *("--unshare-all", "--die-with-parent", "--cap-drop", "ALL"),
        *("--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"),
        *("--ro-bind", "/", "/", "--size", str(2**20), "--tmpfs", "/tmp"),
        *("--proc", "/proc", "--dev", "/dev"),
        *(
            "/bin/sh",
            "-c",
            f"mount -o remount,size=1048576,nr_inodes=64 /tmp && exec {SETPRIV} true",
        ),
    ]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def bwrap_args_fd(options: list[str], command: list[str]) -> tuple[list[str], int]:
    """`bwrap --args FD COMMAND`: bwrap's options (host paths of the scratch folder and the
    Python installation) read from a memory file, so the sandbox's PID 1 (bwrap's init, whose
    command line any process in there reads in /proc/1/cmdline) shows `bwrap --args N` and the
    command, which names sandbox paths only. The caller passes the fd to the child and closes
    it after the start."""
    assert options[0] == "bwrap"
    fd = os.memfd_create("bwrap-args", 0)  # no MFD_CLOEXEC: the child inherits it via pass_fds
    os.write(fd, b"".join(arg.encode() + b"\0" for arg in options[1:]))
    os.lseek(fd, 0, os.SEEK_SET)
    return ["bwrap", "--args", str(fd), "--", *command], fd


@dataclass(frozen=True)
class Completed:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    limit_hit: str | None


def run_limited(
    argv: list[str], cwd: Path, env: dict[str, str], limits: Limits, pass_fds: tuple[int, ...] = ()
) -> Completed:
    """Start in a new process group with rlimits; on timeout kill the whole group."""
    memory = limits.memory_mb * 2**20
    file_size = limits.max_file_mb * 2**20

    def confine() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        cpu = int(limits.wall_s * max(limits.threads, 1)) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        if os.getuid() != 0:  # root ignores RLIMIT_NPROC; bwrap's PID namespace contains root
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes,) * 2)

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=confine,
            pass_fds=pass_fds,
        )
        for fd in pass_fds:
            os.close(fd)
        timed_out = False
        try:
            proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            kill_group(proc)
        limit_hit = (
            f"time limit ({limits.wall_s:g} s)" if timed_out else signal_limit(proc.returncode)
        )
        return Completed(proc.returncode, output_tail(out), output_tail(err), timed_out, limit_hit)


def kill_marked(marker: str) -> None:
    """Kill every process still carrying this run's marker in its environment (Linux /proc)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def signal_limit(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    return {
        -signal.SIGXCPU: "CPU time limit",
        -signal.SIGXFSZ: "file size limit",
        -signal.SIGKILL: "killed (memory or time limit)",
        -signal.SIGSEGV: "crashed (segmentation fault; often the memory limit)",
    }.get(returncode, f"killed by signal {-returncode}")


def output_tail(fh: Any) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - OUTPUT_TAIL))
    return fh.read().decode("utf-8", errors="replace")
