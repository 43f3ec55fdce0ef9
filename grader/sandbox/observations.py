"""What comes back from the sandbox, validated before anything reads it.

The probe's JSON is untrusted (student code ran in that process and may have rewritten it), so it
is parsed into strict models with bounded sizes; arrays are loaded with `allow_pickle=False`.
A malformed observation is treated like a crash, never as a verdict.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Obs(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Frame(_Obs):
    file: str = Field(max_length=1000)
    line: int
    function: str = Field(max_length=300)
    code: str = Field(default="", max_length=1000)
    student: bool = False


class ExceptionInfo(_Obs):
    type: str = Field(max_length=200)
    message: str = Field(max_length=10_000)
    frames: list[Frame] = Field(default_factory=list, max_length=100)

    def student_frame(self) -> Frame | None:
        """The deepest frame in the student's own files: the line they should look at."""
        for frame in reversed(self.frames):
            if frame.student:
                return frame
        return None


class Printed(_Obs):
    stdout: str = Field(default="", max_length=10_000)
    stderr: str = Field(default="", max_length=10_000)


class ParamInfo(_Obs):
    name: str = Field(max_length=500)
    shape: list[int] = Field(max_length=16)
    tensor: int = Field(ge=0, description="Index of the distinct tensor (shared ones repeat).")
    requires_grad: bool = True
    dtype: str = Field(default="float32", max_length=40)


class ForwardObs(_Obs):
    ok: bool
    shape: list[int] | None = None
    dtype: str | None = None
    returned: str | None = Field(default=None, max_length=200)
    error: ExceptionInfo | None = None


class BackwardObs(_Obs):
    ok: bool
    has_grad: list[bool] = Field(default_factory=list, max_length=100_000)
    error: ExceptionInfo | None = None


class WeightsChanged(_Obs):
    """Parameters a forward or the backward changed (values, or which tensors are registered)."""

    stage: str = Field(max_length=100)
    names: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list, max_length=20)


class ModuleObservation(_Obs):
    kind: Literal["module"]
    id: str
    stage: str = Field(max_length=100, description="How far the probe got.")
    seconds: float = 0.0
    printed: Printed = Field(default_factory=Printed)
    error: ExceptionInfo | None = None
    class_found: bool | None = None
    is_module: bool | None = None
    has_forward: bool | None = None
    params: list[ParamInfo] = Field(default_factory=list, max_length=100_000)
    n_tensors: int = 0
    forwards: list[ForwardObs] = Field(default_factory=list, max_length=100)
    backward: BackwardObs | None = None
    weights_changed: WeightsChanged | None = None


class GlobalInfo(_Obs):
    name: str = Field(max_length=200)
    defined: bool
    type: str | None = Field(default=None, max_length=200)
    length: int | None = None
    shape: list[int] | None = Field(default=None, max_length=4)


class SeriesInfo(_Obs):
    key: str = Field(max_length=100)
    kind: Literal["line", "scatter"]
    label: str = Field(default="", max_length=1000)
    length: int = 0


class AxesInfo(_Obs):
    xlabel: str = Field(default="", max_length=1000)
    ylabel: str = Field(default="", max_length=1000)
    title: str = Field(default="", max_length=1000)
    series: list[SeriesInfo] = Field(default_factory=list, max_length=50)
    legend: list[str] = Field(default_factory=list, max_length=50)
    xscale: str = Field(default="linear", max_length=50)
    yscale: str = Field(default="linear", max_length=50)


class FigureInfo(_Obs):
    number: int
    axes: list[AxesInfo] = Field(default_factory=list, max_length=20)


class ObservedInfo(_Obs):
    """A value the rubric's `observe` asked for: which global held it, found how."""

    role: str = Field(max_length=200)
    found: str | None = Field(default=None, max_length=200, description="The global's name.")
    via: Literal["name", "type"] | None = None
    candidates: list[str] = Field(default_factory=list, max_length=20)
    type: str | None = Field(default=None, max_length=200)
    shape: list[int] | None = Field(default=None, max_length=4)
    n_params: int | None = Field(default=None, ge=0, description="Trainable, for networks.")
    error: ExceptionInfo | None = Field(default=None, description="Reading the value failed.")


class EvaluationInfo(_Obs):
    """An observed network evaluated on the grader's input (`eval.<name>` holds the output)."""

    name: str = Field(max_length=200)
    ok: bool
    shape: list[int] | None = Field(default=None, max_length=8)
    missing: str | None = Field(default=None, max_length=200, description="Role not found.")
    error: ExceptionInfo | None = None


class CallInfo(_Obs):
    """A student function called on the grader's inputs (`call.<name>` holds the results)."""

    name: str = Field(max_length=200)
    ok: bool
    function: str | None = Field(default=None, max_length=200, description="The name found.")
    convention: int | None = Field(default=None, ge=0)
    shape: list[int] | None = Field(default=None, max_length=8)
    parts: list[list[int]] = Field(default_factory=list, max_length=100)
    error: ExceptionInfo | None = None


class SeedingCall(_Obs):
    """One seeding call of the student's code, as the probe saw it (np.random.seed(0) at
    train.py:12): the seed the script gave and the one it ran with (the rubric's, if imposed)."""

    call: str = Field(max_length=100)
    given: str = Field(max_length=200)
    used: str = Field(max_length=200)
    file: str = Field(max_length=1000)
    line: int = Field(ge=0)


class SeedingInfo(_Obs):
    """The seeding calls a run made (the first `calls`, `more` not listed), when the plan asked.
    The probe's word only: no verdict rests on it, it explains one ("the script never seeds")."""

    imposed: int | None = Field(default=None, description="The seed the plan imposed, if any.")
    calls: list[SeedingCall] = Field(default_factory=list, max_length=100)
    more: int = Field(default=0, ge=0)


class ScriptObservation(_Obs):
    kind: Literal["script"]
    id: str
    stage: str = Field(max_length=100)
    seconds: float = 0.0
    run_seconds: float = 0.0
    printed: Printed = Field(default_factory=Printed)
    error: ExceptionInfo | None = None
    globals: list[GlobalInfo] = Field(default_factory=list, max_length=100)
    figures: list[FigureInfo] = Field(default_factory=list, max_length=20)
    observed: list[ObservedInfo] = Field(default_factory=list, max_length=100)
    evaluate: list[EvaluationInfo] = Field(default_factory=list, max_length=100)
    calls: list[CallInfo] = Field(default_factory=list, max_length=100)
    seeding: SeedingInfo | None = None

    def global_info(self, name: str) -> GlobalInfo | None:
        return next((g for g in self.globals if g.name == name), None)


class LoadedParam(_Obs):
    name: str = Field(max_length=500)
    shape: list[int] = Field(max_length=16)
    tensor: int = Field(ge=0)


class SettingObs(_Obs):
    """One setting of a `module_loaded` probe: the grader's weights loaded, the forwards run
    (`set<j>.out<i>`), the backward if asked (`set<j>.grad<k>`)."""

    loaded: bool
    forwards: list[ForwardObs] = Field(default_factory=list, max_length=100)
    backward: BackwardObs | None = None
    weights_changed: WeightsChanged | None = None


class LoadedModuleObservation(_Obs):
    """A module run on weights the grader set (`probe_loaded_module`): the students' bundle's
    check of a layer against the reference's outputs stored in it."""

    kind: Literal["module_loaded"]
    id: str
    stage: str = Field(max_length=100)
    seconds: float = 0.0
    printed: Printed = Field(default_factory=Printed)
    error: ExceptionInfo | None = None
    params: list[LoadedParam] = Field(default_factory=list, max_length=100_000)
    n_tensors: int = 0
    settings: list[SettingObs] = Field(default_factory=list, max_length=100)


Observation = ModuleObservation | ScriptObservation | LoadedModuleObservation
OBSERVATION: TypeAdapter[Observation] = TypeAdapter(
    Annotated[Observation, Field(discriminator="kind")]
)

MAX_ARRAY_BYTES = 256 * 2**20
MAX_ARRAYS = 10_000


def write_packed(path: Path, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Write arrays back to back (the probe's own format, see probe.py); return their index."""
    index = []
    offset = 0
    with path.open("wb") as fh:
        for name, array in sorted(arrays.items()):
            data = array if array.flags.c_contiguous else array.copy(order="C")  # keeps 0-d
            fh.write(data.tobytes())
            index.append(
                {"name": name, "dtype": data.dtype.str, "shape": list(data.shape), "at": offset}
            )
            offset += data.nbytes
    return index


def read_packed(path: Path, index: Any, max_bytes: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """Numeric arrays only, never objects; bounded so a submission cannot flood the grader.

    Each index entry is checked (a name, a numeric dtype, a shape, a place inside the file)
    before any array is made; nothing is allocated beyond the file itself, which is bounded by
    `max_bytes` before it is read. The arrays are views of one writable buffer.
    """
    if not isinstance(index, list) or len(index) > MAX_ARRAYS:
        raise ValueError("the array index is not a list of at most 10,000 entries")
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError("observation arrays exceed the size limit")
    buffer = bytearray(size)
    with path.open("rb") as fh:
        if fh.readinto(buffer) != size:
            raise ValueError("the array file changed while it was read")
    arrays: dict[str, np.ndarray] = {}
    for entry in index:
        name, dtype, shape, start = _index_entry(entry)
        if name in arrays:
            raise ValueError(f"array {name!r} appears twice")
        count = math.prod(shape)
        if start + count * dtype.itemsize > len(buffer):
            raise ValueError(f"array {name!r} claims more data than its file holds")
        flat = np.frombuffer(buffer, dtype=dtype, count=count, offset=start)
        arrays[name] = flat.reshape(shape)
    return arrays


def _index_entry(entry: Any) -> tuple[str, np.dtype[Any], tuple[int, ...], int]:
    if not isinstance(entry, dict) or set(entry) != {"name", "dtype", "shape", "at"}:
        raise ValueError("malformed array index entry")
    name, dtype, shape, start = entry["name"], entry["dtype"], entry["shape"], entry["at"]
    if not isinstance(name, str) or not 0 < len(name) <= 500:
        raise ValueError("array names must be short strings")
    if not isinstance(dtype, str) or not re.fullmatch(r"[<>|=]?[biuf]\d{1,2}", dtype):
        raise ValueError(f"array {name!r} has non-numeric dtype {str(dtype)[:40]!r}")
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(type(n) is int and 0 <= n < 2**40 for n in shape)
        or type(start) is not int
        or start < 0
    ):
        raise ValueError(f"array {name!r} has a malformed shape or offset")
    try:
        parsed = np.dtype(dtype)
    except TypeError:  # well-formed but not a type ("<f1", "u16")
        raise ValueError(f"array {name!r} has an unknown dtype {dtype!r}") from None
    return name, parsed, tuple(shape), start


def plotted_series(
    figures: list[FigureInfo], arrays: dict[str, np.ndarray]
) -> list[tuple[str, np.ndarray]]:
    """Every curve of the figures: (its label, its points as an (n, 2) array), those whose
    points came back as such (a series whose array is missing or malformed is left out)."""
    found = []
    for figure in figures:
        for axes in figure.axes:
            for s in axes.series:
                xy = arrays.get(s.key)
                if xy is not None and xy.ndim == 2 and xy.shape[1] == 2:
                    found.append((s.label, xy))
    return found
