"""The probe: the only code that runs next to student code, inside the sandbox.

This file is copied alone into the sandbox and run as a script, so it imports nothing from the
grader (the grader, the references and the rubrics are not visible in there). It executes the
plan the grader wrote (`plan.json`), on inputs the grader drew (`inputs.npz`), and writes plain
observations: per probe one JSON file, and its arrays packed back to back in a `.bin` file
indexed by a `.arrays.json` (numeric arrays only; the grader checks every entry). It decides
nothing: whatever it writes is untrusted by the grader, which validates it and judges against
its own reference.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.util
import io
import json
import math
import os
import random
import re
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

# Bound before student code runs, so patching json, numpy or builtins later changes nothing here.
# (Student code shares this process and could still patch these names: the grader therefore
# cross-checks what this file claims against the arrays it writes, and trusts no verdict from here.)
_json_dump = json.dump
_np_ascontiguous = np.ascontiguousarray
_open = open
MAX_TEXT = 4000
SUBMISSION = Path.cwd()


class ProbeTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so a student's `except Exception` cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise ProbeTimeout()


def _relative(filename: str) -> str | None:
    try:
        return str(Path(filename).resolve().relative_to(SUBMISSION))
    except (ValueError, OSError):
        return None


def exception_info(exc: BaseException) -> dict[str, Any]:
    """Exception type, message and the stack frames, student frames marked by relative path."""
    frames = []
    for fs in traceback.extract_tb(exc.__traceback__):
        rel = _relative(fs.filename)
        frames.append(
            {
                "file": rel if rel is not None else fs.filename,
                "line": fs.lineno,
                "function": fs.name,
                "code": (fs.line or "")[:300],
                "student": rel is not None,
            }
        )
    if isinstance(exc, SyntaxError) and exc.filename:
        rel = _relative(exc.filename)
        frames.append(
            {
                "file": rel if rel is not None else exc.filename,
                "line": exc.lineno or 0,
                "function": "<module>",
                "code": (exc.text or "").strip()[:300],
                "student": rel is not None,
            }
        )
    message = str(exc) if not isinstance(exc, ProbeTimeout) else "time limit reached"
    return {"type": type(exc).__name__, "message": message[:MAX_TEXT], "frames": frames[-30:]}


@contextlib.contextmanager
def captured(sink: dict[str, str]):
    """Keep what the student prints (bounded) out of the probe's own channel."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            yield
        finally:
            sink["stdout"] = out.getvalue()[-MAX_TEXT:]
            sink["stderr"] = err.getvalue()[-MAX_TEXT:]


def load_student_module(relpath: str, name: str):
    path = SUBMISSION / relpath
    for folder in (str(path.parent), str(SUBMISSION)):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {relpath}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def probe_module(
    req: dict[str, Any], inputs: dict[str, Any], obs: dict[str, Any], arrays: dict[str, Any]
) -> None:
    """Import, instantiate, list parameters, run forwards and one backward; record everything.

    `obs` is filled as the probe goes, so a crash or timeout still leaves what was observed.
    """
    import torch

    obs["stage"] = "import"
    obs["printed"] = {}
    torch.manual_seed(req["seed"])
    with captured(obs["printed"]):
        module = load_student_module(req["file"], f"student_{req['index']}")
        obs["stage"] = "lookup"
        cls = getattr(module, req["class_name"], None)
        obs["class_found"] = cls is not None
        if cls is None:
            return
        obs["is_module"] = isinstance(cls, type) and issubclass(cls, torch.nn.Module)
        if not obs["is_module"]:
            return
        obs["has_forward"] = cls.forward is not torch.nn.Module.forward
        obs["stage"] = "instantiate"
        model = cls(*req.get("init_args", []))
        obs["stage"] = "parameters"
        named, tensors = _distinct_parameters(model)
        _reinitialise(tensors, req["seed"])
        saved = _record_parameters(named, tensors, obs, arrays)
        obs["forwards"] = []
        for i, key in enumerate(req["inputs"]):
            obs["stage"] = f"forward {i}"
            obs["forwards"].append(_forward(model, torch.from_numpy(inputs[key]), i, arrays))
            _note_changes(model, named, saved, f"forward on input {i}", obs)
        obs["stage"] = "backward"
        obs["backward"] = _backward(
            model,
            tensors,
            torch.from_numpy(inputs[req["inputs"][0]]),
            arrays,
            inputs.get(req.get("cotangent", "")),
        )
        _note_changes(model, named, saved, "backward", obs)
        obs["stage"] = "done"


def _identity(p: Any) -> Any:
    """What makes two parameters one tensor: the same memory viewed the same way.

    Not only the same Python object (`[m] * k`): `nn.Parameter(other.data)` is a new object
    over the same numbers, and giving it values of its own would overwrite the other's.
    """
    if p.numel() == 0:  # empty tensors may all report address 0
        return ("empty", id(p))
    return (
        p.untyped_storage().data_ptr(),
        p.storage_offset(),
        tuple(p.shape),
        tuple(p.stride()),
        p.dtype,
    )


def _distinct_parameters(model: Any) -> tuple[list[tuple[str, int]], list[Any]]:
    """Every registered parameter as (name, index of its distinct tensor), and those tensors in
    the order of their first registration: the order the grader re-derives the weights in."""
    index: dict[Any, int] = {}
    named: list[tuple[str, int]] = []
    tensors: list[Any] = []
    for name, p in model.named_parameters(remove_duplicate=False):
        key = _identity(p)
        if key not in index:
            index[key] = len(tensors)
            tensors.append(p)
        named.append((name, index[key]))
    return named, tensors


MAX_FAN_IN = 2**60  # a student chooses the shapes; the grader computes the same bound


def _reinitialise(tensors: list[Any], seed: int) -> None:
    """Give every parameter fresh random values drawn from the grader's seed.

    Equivalence is judged on these weights, not on the student's own initialisation: a layer
    that zeroes its weights (and so outputs zeros like any layer would) proves nothing. The
    grader draws the same values itself (`grader.judges.weights`) and rejects an observation
    that reports others, so the weights the outputs are compared on are never the student's
    choice.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tensors:
            if not p.is_floating_point() or p.numel() == 0:
                continue
            fan_in = math.prod(p.shape[1:]) if p.dim() > 1 else p.numel()
            bound = 1.0 / max(min(fan_in, MAX_FAN_IN), 1) ** 0.5
            fresh = torch.empty(p.shape, dtype=torch.float64).uniform_(
                -bound, bound, generator=generator
            )
            p.copy_(fresh.to(p.dtype))


def _copy(p: Any) -> Any:
    """The tensor's values now, in float64, in memory of their own (never a view: a float64
    parameter changed in place later must not change what was recorded)."""
    import torch

    return p.detach().to("cpu", torch.float64, copy=True)


def _record_parameters(
    named: list[tuple[str, int]], tensors: list[Any], obs: dict[str, Any], arrays: dict[str, Any]
) -> list[Any]:
    """Record the parameters as set, before any forward runs; returns the copies kept."""
    saved = [_copy(p) for p in tensors]
    for k, copy in enumerate(saved):
        arrays[f"param{k}"] = copy.numpy()
    obs["params"] = [
        {
            "name": name,
            "shape": list(tensors[k].shape),
            "tensor": k,
            "requires_grad": bool(tensors[k].requires_grad),
            "dtype": str(tensors[k].dtype).replace("torch.", ""),
        }
        for name, k in named
    ]
    obs["n_tensors"] = len(tensors)
    return saved


def _note_changes(
    model: Any, named: list[tuple[str, int]], saved: list[Any], stage: str, obs: dict[str, Any]
) -> None:
    """Say which parameters `stage` changed (values, or which tensors are registered), once.

    Outputs are compared with the reference on the weights recorded before the first forward;
    a forward that changes them was not computed on those weights.
    """
    import torch

    if obs.get("weights_changed"):
        return
    try:
        now, tensors = _distinct_parameters(model)
        if now != named or len(tensors) != len(saved):
            changed = sorted({n for n, _ in now} ^ {n for n, _ in named}) or ["(their order)"]
        else:
            differ = {k for k, p in enumerate(tensors) if not torch.equal(_copy(p), saved[k])}
            changed = [n for n, k in named if k in differ]
    except Exception as exc:  # student code (a property, a hook) may raise here too
        changed = [f"(cannot be read again: {type(exc).__name__})"]
    if changed:
        obs["weights_changed"] = {"stage": stage, "names": changed[:20]}


def _forward(model: Any, x: Any, i: int, arrays: dict[str, Any]) -> dict[str, Any]:
    import torch

    try:
        with torch.no_grad():
            out = model(x)
    except Exception as exc:  # student code: any failure is an observation
        return {"ok": False, "error": exception_info(exc)}
    if not isinstance(out, torch.Tensor):
        return {"ok": False, "returned": type(out).__name__}
    arrays[f"out{i}"] = _copy(out).numpy()  # a copy: the module may keep and change its output
    return {"ok": True, "shape": list(out.shape), "dtype": str(out.dtype).replace("torch.", "")}


def _backward(
    model: Any, tensors: list[Any], x: Any, arrays: dict[str, Any], cotangent: Any
) -> dict[str, Any]:
    import torch

    try:
        model.zero_grad(set_to_none=True)
        out = model(x)
        if not isinstance(out, torch.Tensor):  # said as such, not as the probe's AttributeError
            raise TypeError(f"forward returned {type(out).__name__}, not a tensor")
        if cotangent is not None and tuple(out.shape) == cotangent.shape:
            loss = (out * torch.from_numpy(cotangent).to(out.dtype)).sum()
        else:
            loss = out.sum()
        loss.backward()
    except Exception as exc:
        return {"ok": False, "error": exception_info(exc)}
    grads = []
    for k, p in enumerate(tensors):
        if p.grad is None:
            grads.append(False)
        else:
            grads.append(True)
            arrays[f"grad{k}"] = _copy(p.grad).numpy()
    return {"ok": True, "has_grad": grads}


def _quiet_matplotlib() -> None:
    """Headless plotting: Agg backend, `show()` a no-op, LaTeX text rendering always off.

    Students set `usetex=True`; the grading machine has no LaTeX, and that must not cost points.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    original = matplotlib.RcParams.__setitem__

    def setitem(self: Any, key: str, value: Any) -> None:
        original(self, key, False if key == "text.usetex" else value)  # type: ignore[arg-type]

    matplotlib.RcParams.__setitem__ = setitem  # type: ignore[method-assign]
    matplotlib.rcParams["text.usetex"] = False
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: None
    # A script that picks its own backend ('TkAgg', 'MacOSX') ran with it on the student's
    # machine; here it would stop the script before it computes anything.
    switch = plt.switch_backend
    matplotlib.use = lambda *args, **kwargs: None
    plt.switch_backend = lambda *args, **kwargs: switch("agg")
    _old_style_names(matplotlib)
    _keep_figures_drawn(plt)


def _old_style_names(matplotlib: Any) -> None:
    """`plt.style.use("seaborn")`: the seaborn styles matplotlib 3.8 renamed 'seaborn-v0_8'."""
    import matplotlib.style

    use = matplotlib.style.use

    def renamed(style: Any) -> Any:
        if isinstance(style, str) and style.startswith("seaborn"):
            new = style.replace("seaborn", "seaborn-v0_8", 1)
            if style not in matplotlib.style.available and new in matplotlib.style.available:
                return new
        return style

    def use_style(style: Any) -> None:
        if isinstance(style, list | tuple):
            style = [renamed(s) for s in style]
        use(renamed(style))

    matplotlib.style.use = use_style


#: NumPy names removed in 1.24 and 2.0 whose replacement is exact: scripts written for the NumPy
#: of their course (`np.Inf`, `dtype=np.float`) run here as they ran there.
NUMPY_REMOVED = {
    "Inf": "inf", "Infinity": "inf", "infty": "inf", "PINF": "inf", "NaN": "nan", "NAN": "nan",
    "float_": "float64", "complex_": "complex128", "cfloat": "complex128",
    "longfloat": "longdouble", "singlecomplex": "complex64", "clongfloat": "clongdouble",
    "longcomplex": "clongdouble", "string_": "bytes_", "unicode_": "str_",
    "round_": "round", "product": "prod", "cumproduct": "cumprod", "sometrue": "any",
    "alltrue": "all",
}  # fmt: skip
NUMPY_REMOVED_BUILTINS = {"float": float, "int": int, "object": object, "complex": complex,
                          "str": str, "unicode": str}  # fmt: skip


def _old_numpy_names() -> None:
    for old, new in NUMPY_REMOVED.items():
        if old not in vars(np) and new in vars(np):
            setattr(np, old, getattr(np, new))
    if "NINF" not in vars(np):
        np.NINF = -np.inf  # type: ignore[attr-defined]
    for old, builtin in NUMPY_REMOVED_BUILTINS.items():
        if old not in vars(np):
            setattr(np, old, builtin)


#: Figures a script closed or cleared, as they stood just before (at most this many, the latest).
MAX_CLEARED_FIGURES = 10
_CLEARED: list[tuple[list[dict[str, Any]], list[np.ndarray]]] = []


def _keep_figures_drawn(plt: Any) -> None:
    """Record a figure's curves before `close`, `clf` or `cla` erases them.

    `plt.savefig(...); plt.close()` and "plot, save, `plt.clf()`, plot the next curve" are how
    scripts save their plots: the figures left open at the end no longer show what was drawn.
    Nothing the script sees changes (no figure is made current, nothing is kept open).
    """
    from matplotlib._pylab_helpers import Gcf
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    close, fig_clear, ax_cla, ax_clear = plt.close, Figure.clear, Axes.cla, Axes.clear

    def closing(fig: Any = None) -> None:
        with contextlib.suppress(Exception):
            if fig is None:
                active = Gcf.get_active()
                targets = [active.canvas.figure] if active is not None else []
            elif isinstance(fig, Figure):
                targets = [fig]
            else:
                targets = [
                    m.canvas.figure
                    for m in Gcf.get_all_fig_managers()
                    if fig == "all" or m.num == fig or m.canvas.figure.get_label() == fig
                ]
            for target in targets:
                _snapshot(target)
        close(fig)

    def clearing_figure(self: Any, *args: Any, **kwargs: Any) -> Any:
        _snapshot(self)
        return _unobserved(fig_clear, self, *args, **kwargs)

    def clearing_axes(original: Any) -> Any:
        def clear(self: Any, *args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(Exception):
                if self.lines or self.collections:  # not a fresh Axes clearing itself
                    _snapshot(self.figure)
            return _unobserved(original, self, *args, **kwargs)

        return clear

    plt.close = closing
    Figure.clear = clearing_figure  # type: ignore[method-assign]
    Axes.cla = clearing_axes(ax_cla)  # type: ignore[method-assign]
    Axes.clear = clearing_axes(ax_clear)  # type: ignore[method-assign]


_SNAPSHOTS_OFF = [0]  # > 0 while a clear runs: its inner clears would only record halves


def _unobserved(function: Any, *args: Any, **kwargs: Any) -> Any:
    _SNAPSHOTS_OFF[0] += 1
    try:
        return function(*args, **kwargs)
    finally:
        _SNAPSHOTS_OFF[0] -= 1


def _snapshot(fig: Any) -> None:
    """Keep what `fig` shows now (unless it shows nothing, or exactly what was already kept)."""
    if _SNAPSHOTS_OFF[0]:
        return
    with contextlib.suppress(Exception):
        axes, data = _describe_axes(fig)
        if not data:
            return
        for kept_axes, kept_data in _CLEARED:
            if kept_axes == axes and all(
                np.array_equal(a, b, equal_nan=True) for a, b in zip(kept_data, data, strict=True)
            ):
                return
        _CLEARED.append((axes, data))
        del _CLEARED[:-MAX_CLEARED_FIGURES]


def _numeric(value: Any) -> Any:
    """A float array for lists/arrays of numbers, else None (never pickles anything).

    A dict of numbers (`errors[p] = err`) gives its values, in the order they were stored.
    """
    if isinstance(value, dict):
        value = list(value.values())
    try:
        if isinstance(value, list | tuple):
            if len(value) > 1_000_000:
                return None
            value = [_detached(v) for v in value]
        array = np.asarray(_detached(value), dtype=np.float64)
    except Exception:
        return None
    return array if array.ndim <= 2 and array.size <= 1_000_000 else None


def _detached(value: Any) -> Any:
    """A torch tensor as a numpy array (`losses.append(loss)` keeps tensors that require grad,
    or live on a GPU, which numpy cannot read directly); anything else as it is."""
    detach = getattr(value, "detach", None)
    if callable(detach) and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return detach().cpu().numpy()
    return value


def _describe_global(name: str, namespace: dict[str, Any], arrays: dict[str, Any]) -> dict:
    if name not in namespace:
        return {"name": name, "defined": False}
    value = namespace[name]
    info: dict[str, Any] = {"name": name, "defined": True, "type": type(value).__name__}
    with contextlib.suppress(Exception):
        info["length"] = len(value)
    array = _numeric(value)
    if array is not None:
        arrays[f"global.{name}"] = array
        info["shape"] = list(array.shape)
    return info


def _describe_axes(fig: Any) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    """The axes of `fig` (series keyed by their position in the returned data) and the data."""
    axes: list[dict[str, Any]] = []
    data: list[np.ndarray] = []
    for ax in fig.get_axes()[:10]:
        series = []
        artists = list(ax.get_lines()) + list(ax.collections)
        for artist in artists[:20]:
            if hasattr(artist, "get_xydata"):
                xy = np.array(artist.get_xydata(), dtype=np.float64)
                kind = "line"
            else:
                xy = np.array(artist.get_offsets(), dtype=np.float64)
                kind = "scatter"
            if xy.ndim != 2 or xy.shape[1] != 2:
                continue
            series.append(
                {
                    "key": len(data),
                    "kind": kind,
                    "label": str(artist.get_label())[:200],
                    "length": len(xy),
                }
            )
            data.append(xy[:100_000])
        legend = ax.get_legend()
        axes.append(
            {
                "xlabel": ax.get_xlabel()[:200],
                "ylabel": ax.get_ylabel()[:200],
                "title": ax.get_title()[:200],
                "series": series,
                "legend": [t.get_text()[:200] for t in legend.get_texts()] if legend else [],
                "xscale": ax.get_xscale(),
                "yscale": ax.get_yscale(),
            }
        )
    return axes, data


def _describe_figures(arrays: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures left open (at most 10), then those closed or cleared on the way (`_CLEARED`)."""
    import matplotlib.pyplot as plt

    drawn = []
    for number in plt.get_fignums()[:10]:
        drawn.append((int(number), *_describe_axes(plt.figure(number))))
    drawn.extend((-1 - i, axes, data) for i, (axes, data) in enumerate(_CLEARED))
    figures = []
    for f, (number, axes, data) in enumerate(drawn):
        for a, ax in enumerate(axes):
            for s, series in enumerate(ax["series"]):
                key = f"fig{f}.ax{a}.s{s}"
                arrays[key] = data[series["key"]]
                series["key"] = key
        figures.append({"number": number, "axes": axes})
    return figures


def probe_script(
    req: dict[str, Any], inputs: dict[str, Any], obs: dict[str, Any], arrays: dict[str, Any]
) -> None:
    """Run a student script as `python script.py` would, then report globals and figures.

    The namespace is kept even when the script crashes halfway, so the parts that were done
    (a filled list, a first figure) are still observed and can still earn credit.
    """
    path = SUBMISSION / req["file"]
    obs["stage"] = "setup"
    obs["printed"] = {}
    _quiet_matplotlib()
    _old_numpy_names()
    np.random.seed(req["seed"] % 2**32)
    unseed = _watch_seeding(req.get("seeding"), obs)
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(path)}
    cwd = os.getcwd()
    os.chdir(path.parent)
    sys.path.insert(0, str(path.parent))
    sys.argv = [str(path)]
    started = time.monotonic()
    try:
        with captured(obs["printed"]):
            obs["stage"] = "run"
            code = compile(path.read_bytes(), str(path), "exec")
            exec(code, namespace)
            obs["stage"] = "done"
    except (Exception, ProbeTimeout, SystemExit, KeyboardInterrupt) as exc:
        if not (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            obs["error"] = exception_info(exc)
    finally:
        obs["run_seconds"] = round(time.monotonic() - started, 3)
        obs["globals"] = [_describe_global(n, namespace, arrays) for n in req["globals"]]
        obs["figures"] = _describe_figures(arrays)
        timed_out = obs.get("error", {}).get("type") == "ProbeTimeout"
        if not timed_out:  # the alarm has fired: nothing would bound student code any more
            _probe_after_run(req, namespace, inputs, obs, arrays)
        unseed()
        os.chdir(cwd)


# --- seeds the rubric imposes on a script's run (the plan's `seeding`) -----------------------

MAX_SEEDING_CALLS = 40
#: (module attribute path, name reported, keyword of the seed argument)
SEEDING_CALLS = (
    ("numpy.random", "seed", "np.random.seed", "seed"),
    ("numpy.random", "default_rng", "np.random.default_rng", "seed"),
    ("random", "seed", "random.seed", "a"),
    ("torch", "manual_seed", "torch.manual_seed", "seed"),
    ("torch.random", "manual_seed", "torch.manual_seed", "seed"),
)


def _watch_seeding(seeding: dict[str, Any] | None, obs: dict[str, Any]) -> Any:
    """Report the seeding calls of the student's code and, when the plan imposes a seed, make
    each call with that seed instead of the script's own; seed the generators with it before
    the run too (for a script that never seeds). Returns what undoes the patches.

    Seeding calls: `np.random.seed`, `np.random.default_rng`, `random.seed`,
    `torch.manual_seed`. A call without a seed (None: entropy from the OS) is reported and left
    as it is, as is a generator passed to `default_rng`; calls made by libraries are neither
    replaced nor reported. Nothing here is trusted: the grader compares the run's quantities
    with the reference replayed under the seed it asked for."""
    if not seeding:
        return lambda: None
    impose = seeding.get("impose")
    report: dict[str, Any] = {"imposed": impose, "calls": [], "more": 0}
    obs["seeding"] = report
    if impose is not None:
        random.seed(impose)
        np.random.seed(impose)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.manual_seed(impose)
    saved = []
    for module_name, attr, name, keyword in SEEDING_CALLS:
        owner = sys.modules.get(module_name)
        original = getattr(owner, attr, None) if owner is not None else None
        if original is None:
            continue
        saved.append((owner, attr, original))
        setattr(owner, attr, _seeding_call(original, name, keyword, impose, report))

    def undo() -> None:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)

    return undo


def _seeding_call(original: Any, name: str, keyword: str, impose: Any, report: dict) -> Any:
    def seeding_call(*args: Any, **kwargs: Any) -> Any:
        where = _relative(sys._getframe(1).f_code.co_filename)
        if where is None:  # a library's own seeding
            return original(*args, **kwargs)
        given = args[0] if args else kwargs.get(keyword)
        kept = given is None or isinstance(given, np.random.Generator | np.random.BitGenerator)
        used = given if impose is None or kept else impose
        if used is not given:
            if args:
                args = (used, *args[1:])
            else:
                kwargs[keyword] = used
        if len(report["calls"]) < MAX_SEEDING_CALLS:
            try:
                shown = repr(given)[:80]
            except Exception:  # a student object whose repr fails
                shown = f"<{type(given).__name__}>"
            report["calls"].append(
                {
                    "call": name,
                    "given": shown,
                    "used": shown if used is given else repr(used)[:80],
                    "file": where,
                    "line": sys._getframe(1).f_lineno,
                }
            )
        else:
            report["more"] += 1
        return original(*args, **kwargs)

    with contextlib.suppress(AttributeError, TypeError):  # its name and doc, for help() and repr
        functools.update_wrapper(seeding_call, original)
    return seeding_call


# --- after a script's run: what the rubric asks to observe, evaluate and call ----------------


def _probe_after_run(
    req: dict[str, Any],
    namespace: dict[str, Any],
    inputs: dict[str, Any],
    obs: dict[str, Any],
    arrays: dict[str, Any],
) -> None:
    """Observe values by name or type, evaluate observed networks and call student functions on
    the grader's inputs (`observe`, `evaluate`, `calls` of the plan). Student code runs here
    again (forward passes, calls): each failure is recorded against its entry, and a time limit
    reached stops what is left. What they print is not kept."""
    found: dict[str, Any] = {}
    if req.get("observe"):
        obs["observed"] = []
        for role, spec in req["observe"].items():
            try:
                info, value = _observe_value(role, spec, namespace, arrays)
            except (Exception, ProbeTimeout) as exc:  # a student object that fights being read
                obs["observed"].append({"role": role, "found": None, "error": exception_info(exc)})
                if isinstance(exc, ProbeTimeout):
                    return
                continue
            obs["observed"].append(info)
            if info["found"] is not None:
                found[role] = value
    steps = [
        *(("evaluate", n, e) for n, e in (req.get("evaluate") or {}).items()),
        *(("calls", n, c) for n, c in (req.get("calls") or {}).items()),
    ]
    for section, _, _ in steps:
        obs.setdefault(section, [])
    for section, name, entry in steps:
        sink: dict[str, str] = {}
        try:
            with captured(sink):
                if section == "evaluate":
                    info = _evaluate(name, entry, found, inputs, arrays)
                else:
                    info = _call(name, entry, namespace, inputs, arrays)
        except ProbeTimeout as exc:
            obs[section].append({"name": name, "ok": False, "error": exception_info(exc)})
            return
        obs[section].append(info)


def _fits(value: Any, spec: dict[str, Any]) -> bool:
    kind = spec.get("type", "any")
    if kind == "module":
        import torch

        return isinstance(value, torch.nn.Module)
    if kind == "any":
        return True
    plain = isinstance(value, list | tuple | dict | int | float | np.ndarray | np.generic)
    tensor = hasattr(value, "detach") and hasattr(value, "numpy")
    if isinstance(value, bool) or not (plain or tensor):
        return False  # never iterate a data set or other object to see whether it is numbers
    array = _numeric(value)
    if array is None:
        return False
    if kind == "number":
        return array.size == 1 and array.ndim <= 1
    shape = spec.get("shape")
    if shape is None:
        return array.ndim >= 1
    return len(shape) == array.ndim and all(
        w in (-1, n) for w, n in zip(shape, array.shape, strict=True)
    )


def _trainable(module: Any) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _observe_value(
    role: str, spec: dict[str, Any], namespace: dict[str, Any], arrays: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """The global the rubric means by `role`: a name first, else the one global of its type."""
    info: dict[str, Any] = {"role": role, "found": None, "via": None, "candidates": []}
    chosen: tuple[str, Any] | None = None
    for name in spec.get("names") or []:
        if name in namespace and _fits(namespace[name], spec):
            chosen = (name, namespace[name])
            info["via"] = "name"
            break
    if chosen is None and spec.get("type", "any") != "any":
        candidates = _candidates(spec, namespace)
        info["candidates"] = [n for n, _ in candidates][:20]
        if len(candidates) == 1:
            chosen = candidates[0]
            info["via"] = "type"
    if chosen is None:
        return info, None
    name, value = chosen
    info["found"] = name
    info["type"] = type(value).__name__[:200]
    if spec.get("type") == "module":
        with contextlib.suppress(Exception):
            info["n_params"] = int(_trainable(value))
        return info, value
    array = _numeric(value)
    if array is not None:
        arrays[f"observed.{role}"] = array
        info["shape"] = list(array.shape)
    return info, value


def _candidates(spec: dict[str, Any], namespace: dict[str, Any]) -> list[tuple[str, Any]]:
    """Globals of the wanted type, one per object; for networks, those with parameters and not
    part of another candidate (the trained model, not its first layer or the loss)."""
    seen: dict[int, tuple[str, Any]] = {}
    for name, value in list(namespace.items()):
        if name.startswith("__") or isinstance(value, type) or id(value) in seen:
            continue
        with contextlib.suppress(Exception):
            if _fits(value, spec):
                seen[id(value)] = (name, value)
    found = list(seen.values())
    if spec.get("type") == "module":
        with contextlib.suppress(Exception):
            found = [(n, m) for n, m in found if _trainable(m) > 0]
            inside = {id(sub) for _, m in found for sub in m.modules() if sub is not m}
            found = [(n, m) for n, m in found if id(m) not in inside]
    return found


def _evaluate(
    name: str,
    entry: dict[str, Any],
    found: dict[str, Any],
    inputs: dict[str, Any],
    arrays: dict[str, Any],
) -> dict[str, Any]:
    """The observed network on the grader's input, under torch.no_grad()."""
    import torch

    model = found.get(entry["model"])
    if model is None:
        return {"name": name, "ok": False, "missing": entry["model"]}
    try:
        x = torch.from_numpy(np.array(inputs[entry["input"]]))
        first = next(iter(model.parameters()), None)
        if first is not None:
            x = x.to(dtype=first.dtype, device=first.device)
        with torch.no_grad():
            out = model(x)
        array = _numeric(out) if isinstance(out, torch.Tensor) else None
        if array is None:
            raise TypeError(f"the network returned {type(out).__name__}, not a tensor")
    except Exception as exc:  # student code: any failure is an observation
        return {"name": name, "ok": False, "error": exception_info(exc)}
    arrays[f"eval.{name}"] = array
    return {"name": name, "ok": True, "shape": list(array.shape)}


def _argument(value: Any, form: str) -> Any:
    """One sample of an input, in the form a convention passes it (always a fresh copy)."""
    if form == "float":
        return float(value)
    if form == "list":
        return np.array(value).tolist()
    if form == "tensor":
        import torch

        return torch.from_numpy(np.array(value))
    return np.array(value)


def _result_array(value: Any) -> tuple[np.ndarray | None, list[list[int]]]:
    """A call's result as one array; a tuple of arrays (da, db, du) is flattened and joined,
    its parts' shapes kept."""
    array = _numeric(value)
    if array is not None:
        return array, []
    if isinstance(value, tuple | list) and 0 < len(value) <= 100:
        parts = [_numeric(v) for v in value]
        if all(p is not None for p in parts):
            return np.concatenate([p.ravel() for p in parts]), [list(p.shape) for p in parts]
    return None, []


def _call(
    name: str,
    entry: dict[str, Any],
    namespace: dict[str, Any],
    inputs: dict[str, Any],
    arrays: dict[str, Any],
) -> dict[str, Any]:
    """Call the student's function on every sample with the first convention that works."""
    info: dict[str, Any] = {"name": name, "ok": False, "function": None}
    function = next(
        (f for f in entry["function"] if f in namespace and callable(namespace[f])), None
    )
    if function is None:
        return info
    info["function"] = function
    results: list[np.ndarray] = []
    first_error: dict[str, Any] | None = None
    for index, convention in enumerate(entry["conventions"]):
        results = []
        try:
            for i in range(int(entry["samples"])):
                args = [_argument(inputs[a["input"]][i], a["as"]) for a in convention]
                value, parts = _result_array(namespace[function](*args))
                if value is None:
                    raise TypeError(f"{function} returned no numbers")
                if results and value.shape != results[0].shape:
                    raise ValueError(f"{function} returned results of different shapes")
                results.append(value)
        except Exception as exc:  # this convention does not fit: try the next one
            if first_error is None:
                first_error = exception_info(exc)
            if results:  # it worked on the first samples: the failure is the function's
                info["error"] = exception_info(exc)
                return info
            continue
        info.update(ok=True, convention=index, shape=list(results[0].shape), parts=parts)
        arrays[f"call.{name}"] = np.stack(results)
        return info
    info["error"] = first_error
    return info


# --- a module given the grader's weights (the students' bundle) ----------------------------


def probe_loaded_module(
    req: dict[str, Any], inputs: dict[str, Any], obs: dict[str, Any], arrays: dict[str, Any]
) -> None:
    """Import and instantiate the class as `probe_module` does, then for each of the plan's
    `settings` set every distinct parameter to the grader's array (one input key per tensor,
    in the order `_distinct_parameters` lists them), run the forwards on the plan's `inputs`
    and, with a `cotangent`, one backward. Outputs: `set<j>.out<i>`, gradients:
    `set<j>.grad<k>`.

    The students' bundle asks this with weights computed from the reference when the bundle was
    built: the grader compares the outputs with the reference's own, stored beside them. It
    decides nothing here either: a setting that does not fit (a tensor count or shape other
    than the grader's) is reported as such.
    """
    import torch

    obs["stage"] = "import"
    obs["printed"] = {}
    torch.manual_seed(req["seed"])
    with captured(obs["printed"]):
        module = load_student_module(req["file"], f"student_{req['index']}")
        obs["stage"] = "lookup"
        cls = getattr(module, req["class_name"], None)
        if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
            obs["stage"] = "no module class"
            return
        obs["stage"] = "instantiate"
        model = cls(*req.get("init_args", []))
        obs["stage"] = "parameters"
        named, tensors = _distinct_parameters(model)
        obs["params"] = [
            {"name": name, "shape": list(tensors[k].shape), "tensor": k} for name, k in named
        ]
        obs["n_tensors"] = len(tensors)
        obs["settings"] = []
        for j, setting in enumerate(req["settings"]):
            obs["stage"] = f"setting {j}"
            obs["settings"].append(
                _run_setting(model, named, tensors, setting, req, inputs, j, arrays)
            )
        obs["stage"] = "done"


def _run_setting(
    model: Any,
    named: list[tuple[str, int]],
    tensors: list[Any],
    setting: list[str],
    req: dict[str, Any],
    inputs: dict[str, Any],
    j: int,
    arrays: dict[str, Any],
) -> dict[str, Any]:
    """One setting of `probe_loaded_module`: load, forwards, backward; what happened."""
    import torch

    if len(setting) != len(tensors):
        return {"loaded": False, "forwards": []}
    with torch.no_grad():
        for p, key in zip(tensors, setting, strict=True):
            value = inputs[key]
            if tuple(value.shape) != tuple(p.shape) or not p.is_floating_point():
                return {"loaded": False, "forwards": []}
            p.copy_(torch.from_numpy(value).to(p.dtype))
    saved = [_copy(p) for p in tensors]
    info: dict[str, Any] = {"loaded": True, "forwards": []}
    for i, key in enumerate(req["inputs"]):
        forward = _forward(model, torch.from_numpy(inputs[key]), i, arrays)
        if f"out{i}" in arrays:
            arrays[f"set{j}.out{i}"] = _as_computed(arrays.pop(f"out{i}"), forward["dtype"])
        info["forwards"].append(forward)
    changed: dict[str, Any] = {}
    _note_changes(model, named, saved, "forward", changed)
    if req.get("cotangent") and all(f["ok"] for f in info["forwards"]):
        grads: dict[str, Any] = {}
        x = torch.from_numpy(inputs[req["inputs"][0]])
        info["backward"] = _backward(model, tensors, x, grads, inputs.get(req["cotangent"]))
        for k, p in enumerate(tensors):
            if f"grad{k}" in grads:
                dtype = str(p.dtype).replace("torch.", "")
                arrays[f"set{j}.grad{k}"] = _as_computed(grads[f"grad{k}"], dtype)
        _note_changes(model, named, saved, "backward", changed)
    if changed.get("weights_changed"):
        info["weights_changed"] = changed["weights_changed"]
    return info


def _as_computed(array: Any, dtype: str) -> Any:
    """A float64 copy of float32 values back in float32 (exact: half the bytes to send)."""
    return array.astype(np.float32) if dtype == "float32" else array


PROBES = {"module": probe_module, "script": probe_script, "module_loaded": probe_loaded_module}
IO_DIR = "/sandbox/io"  # where the sandbox mounts the plan, inputs and output folder


class _Tqdm:
    """What scripts use of tqdm's progress bar, showing nothing: iterating, `update`, `close`,
    descriptions and postfixes, `with`, `tqdm.write`."""

    def __init__(self, iterable: Any = None, *args: Any, **kwargs: Any) -> None:
        self.iterable = iterable
        self.total = kwargs.get("total")
        if self.total is None and iterable is not None and hasattr(iterable, "__len__"):
            self.total = len(iterable)
        self.n: float = 0

    def __iter__(self) -> Any:
        for item in self.iterable if self.iterable is not None else ():
            self.n += 1
            yield item

    def __len__(self) -> int:
        return int(self.total or 0)

    def __enter__(self) -> _Tqdm:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: float = 1) -> None:
        self.n += n

    def _nothing(self, *args: Any, **kwargs: Any) -> None:
        return None

    close = refresh = clear = reset = set_description = set_description_str = _nothing
    set_postfix = set_postfix_str = display = unpause = _nothing

    @staticmethod
    def write(text: Any, *args: Any, **kwargs: Any) -> None:
        print(text)


def _progress_bar_stand_in() -> None:
    """tqdm, when this machine lacks it: scripts wrap their loops in a progress bar, which
    changes nothing they compute, and an ImportError would leave the whole script to a TA.
    The real package is used wherever it is installed."""
    if importlib.util.find_spec("tqdm") is not None:
        return
    import types

    def trange(*args: Any, **kwargs: Any) -> _Tqdm:
        return _Tqdm(range(*args), **kwargs)

    for name in ("tqdm", "tqdm.auto", "tqdm.notebook", "tqdm.std", "tqdm.autonotebook"):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=name == "tqdm")
        module.tqdm = _Tqdm  # type: ignore[attr-defined]
        module.trange = trange  # type: ignore[attr-defined]
        module.__version__ = "0+grader-stand-in"  # type: ignore[attr-defined]
        sys.modules[name] = module
    package = sys.modules["tqdm"]
    package.__path__ = []
    for sub in ("auto", "notebook", "std", "autonotebook"):
        setattr(package, sub, sys.modules[f"tqdm.{sub}"])


def run_plan(io_dir: Path) -> None:
    """Execute `plan.json` on `inputs.npz` in `io_dir`, writing `out/<index>.json` and arrays.

    The one code path for both ways the probe runs: a process of its own (`main`) and a child
    forked by a warm worker (`serve`). Every random generator a student may use unseeded is
    seeded from the grader's seed for the probe, so the run does not depend on which process ran
    before it.
    """
    plan = json.loads((io_dir / "plan.json").read_text())
    out_dir = io_dir / "out"
    signal.signal(signal.SIGALRM, _on_alarm)
    with np.load(io_dir / "inputs.npz", allow_pickle=False) as data:
        inputs = {k: data[k] for k in data.files}
    import torch  # before the clock starts: a slow import is not the student's

    _progress_bar_stand_in()
    for req in plan["probes"]:
        random.seed(req.get("seed", 0))
        np.random.seed(req.get("seed", 0) % 2**32)
        torch.manual_seed(req.get("seed", 0))  # torch seeds itself at random otherwise
        started = time.monotonic()
        obs: dict[str, Any] = {"kind": req["kind"], "id": req["id"], "stage": "start"}
        arrays: dict[str, Any] = {}
        signal.setitimer(signal.ITIMER_REAL, float(req["timeout_s"]))
        try:
            PROBES[req["kind"]](req, inputs, obs, arrays)
        except (Exception, ProbeTimeout, SystemExit, KeyboardInterrupt) as exc:
            obs["error"] = exception_info(exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        obs["seconds"] = round(time.monotonic() - started, 3)
        with _open(out_dir / f"{req['index']}.json", "w") as fh:
            _json_dump(obs, fh, default=str)
        _write_arrays(out_dir, req["index"], arrays)
    sys.stdout.flush()


def _write_arrays(out_dir: Path, index: int, arrays: dict[str, Any]) -> None:
    """Arrays back to back in `<index>.bin`, their names, dtypes, shapes and offsets in
    `<index>.arrays.json`: one file to read instead of a zip member per array."""
    entries = []
    offset = 0
    with _open(out_dir / f"{index}.bin", "wb") as fh:
        for name, array in sorted(arrays.items()):
            data = _np_ascontiguous(array)
            if data.ndim != array.ndim:  # a 0-d array: ascontiguousarray makes it 1-d
                data = data.reshape(array.shape)
            fh.write(data.tobytes())
            shape = list(data.shape)
            entries.append({"name": name, "dtype": data.dtype.str, "shape": shape, "at": offset})
            offset += data.nbytes
    with _open(out_dir / f"{index}.arrays.json", "w") as fh:
        _json_dump(entries, fh)


# --- warm worker ("zygote") ----------------------------------------------------------------
#
# `probe.py --serve FD` runs as PID 1 of a bubblewrap sandbox (`grader/workers.py` starts it):
# it imports torch, numpy and matplotlib once, then for each request on the control socket FD
# forks a child that runs `run_plan` exactly as `main` does, waits for it with the request's
# wall-clock limit, kills every other process in the sandbox, wipes the private tmpfs mounts and
# replies. Student code only ever runs in the forked child. SECURITY.md explains what is shared.

WIPED = ("/tmp", "/dev/shm", "/sandbox/home", "/sandbox/tmp")
PR_SET_DUMPABLE = 4


def _preload() -> None:
    """Import what every probe needs (never student code)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import torch  # noqa: F401


def _prctl(option: int, value: int) -> None:
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _child(request: dict[str, Any], fds: list[int], control: Any) -> None:
    """In the forked child: become a fresh probe process, confined, then run the plan."""
    import resource

    code = 70
    try:
        control.close()  # the child can never speak for the worker
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in fds:
            os.close(fd)
        os.closerange(3, 1 << 16)  # nothing of the worker's stays open in the child
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
        _prctl(PR_SET_DUMPABLE, 0)
        os.setsid()
        limits = request["limits"]
        resource.setrlimit(resource.RLIMIT_AS, (limits["as"],) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits["fsize"],) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 5))
        resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))  # nothing that outlives the run
        if limits.get("nproc"):
            resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"],) * 2)
        os.chdir(SUBMISSION)
        sys.argv = [f"{IO_DIR}/probe.py", IO_DIR]
        run_plan(Path(IO_DIR))
        code = 0
    except BaseException:  # the probe's own failure: say so on the child's stderr
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _wait_child(pid: int, wall_s: float, control: Any) -> tuple[int | None, bool, bool]:
    """(wait status, timed out, grader gone): the child's end, or its kill at the deadline."""
    import select

    deadline = time.monotonic() + wall_s
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(control.fileno(), select.POLLHUP | select.POLLERR)
    timed_out = gone = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            events = dict(poller.poll(min(left, 3600.0) * 1000))
            if pidfd in events:
                break
            if control.fileno() in events:
                gone = True
                break
    finally:
        os.close(pidfd)
    if timed_out or gone:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return status, timed_out, gone


def _kill_the_rest(grace_s: float = 5.0) -> bool:
    """As PID 1: kill every other process of the sandbox and reap them all (orphans come here)."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)  # from PID 1 of a PID namespace: everyone but itself
        try:
            while os.waitpid(-1, os.WNOHANG) != (0, 0):
                pass
        except ChildProcessError:
            return True
        time.sleep(0.005)
    return False


def _wipe(folder: str, kept: frozenset[str] = frozenset()) -> bool:
    """Empty a tmpfs mount the child could write to; False if anything stays.

    `kept` are the sandbox's own mount points (taken before any child ran): a venv under /tmp
    or HOME is bind-mounted read-only inside these folders, and the directories leading to it
    are emptied of anything else but stay, like the mount itself.
    """
    import shutil

    tried: set[str] = set()

    def retry(func: Any, path: str, exc: Any) -> None:
        # The failing call may be os.open or os.scandir (a mode-000 folder), which cannot be
        # repeated with the path alone: make the path removable and remove it, once per path.
        if path in tried:
            return
        tried.add(path)
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            if not os.path.islink(path):
                os.chmod(path, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, onerror=retry)
            else:
                os.unlink(path)

    if not os.path.isdir(folder):
        return False  # a folder the sandbox made is gone: something moved it, retire the worker
    with contextlib.suppress(OSError):
        os.chmod(folder, 0o1777 if folder in ("/tmp", "/dev/shm") else 0o755)
    clean = True
    for entry in os.scandir(folder):
        if entry.path in kept:
            continue
        if any(mount.startswith(entry.path + "/") for mount in kept):
            clean = entry.is_dir(follow_symlinks=False) and _wipe(entry.path, kept) and clean
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, onerror=retry)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    left = [name for name in os.listdir(folder) if not _on_the_way(folder, name, kept)]
    return clean and not left


def _on_the_way(folder: str, name: str, kept: frozenset[str]) -> bool:
    path = os.path.join(folder, name)
    return path in kept or any(mount.startswith(path + "/") for mount in kept)


def _mount_points() -> frozenset[str]:
    """Where the sandbox has mounts, from /proc/self/mountinfo (its 5th field, octal-escaped)."""
    points = set()
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) > 4:
                points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4]))
    return frozenset(points)


def _ipc_is_empty() -> bool:
    """No System V IPC object (shared memory, queues, semaphores) was left in the namespace."""
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as fh:
                if len(fh.read().splitlines()) > 1:
                    return False
        except OSError:
            continue
    return True


def _tidy(kept: frozenset[str]) -> bool:
    """After a run: nothing of it remains that the next child could see. False: retire me."""
    clean = _kill_the_rest()
    clean = all([_wipe(folder, kept) for folder in WIPED]) and clean
    with contextlib.suppress(OSError):
        os.makedirs("/sandbox/tmp/mpl", exist_ok=True)  # MPLCONFIGDIR, as after startup
    return clean and _ipc_is_empty()


def serve(control_fd: int) -> int:
    """The warm worker's loop (see above). Exits when the grader closes the control socket."""
    import socket

    signal.signal(signal.SIGINT, signal.SIG_DFL)  # PID 1: signals from inside are ignored
    _prctl(PR_SET_DUMPABLE, 0)  # no ptrace or /proc/1/mem for the children
    control = socket.socket(fileno=control_fd)
    _preload()
    kept = _mount_points()  # the sandbox's own, before any child could make one
    _tidy(kept)
    control.send(b'{"ready": true}')
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 4)
        if not message:
            return 0
        request = json.loads(message)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            control.send(json.dumps({"error": "expected two fds"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            _child(request, fds, control)
        for fd in fds:
            os.close(fd)
        status, timed_out, gone = _wait_child(pid, float(request["wall_s"]), control)
        clean = _tidy(kept)
        if gone:
            return 0
        reply = {"status": status, "timed_out": timed_out, "clean": clean}
        control.send(json.dumps(reply).encode())
        if not clean:
            return 0


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        code = serve(int(sys.argv[2]))
        os._exit(code)
    run_plan(Path(sys.argv[1]))
    os._exit(0)  # skip atexit handlers and threads a student may have left behind


if __name__ == "__main__":
    sys.exit(main())
