"""What comes back from the sandbox, validated before anything reads it.

The probe's JSON is untrusted (student code ran in that process and may have rewritten it), so it
is parsed into strict models with bounded sizes; arrays are loaded with `allow_pickle=False`.
A malformed observation is treated like a crash, never as a verdict.
"""

from __future__ import annotations

import zipfile
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

    def global_info(self, name: str) -> GlobalInfo | None:
        return next((g for g in self.globals if g.name == name), None)


Observation = ModuleObservation | ScriptObservation
OBSERVATION: TypeAdapter[Observation] = TypeAdapter(
    Annotated[Observation, Field(discriminator="kind")]
)

MAX_ARRAY_BYTES = 256 * 2**20


def load_arrays(path: str, max_bytes: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """Numeric arrays only, never objects; bounded so a submission cannot flood the grader.

    One pass over the archive: each member's header is checked (numeric dtype, a size its zip
    member can hold, the running total within `max_bytes`) before its data is read, so nothing is
    allocated for a claim that fails. A module probe sends hundreds of arrays, and opening the
    archive once instead of twice per array is most of the cost of reading an observation.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"not an array archive ({exc})") from exc
    arrays: dict[str, np.ndarray] = {}
    total = 0
    with archive:
        members = archive.infolist()
        if len(members) > 10_000:
            raise ValueError("too many arrays")
        for member in members:
            key = member.filename.removesuffix(".npy")
            if key in arrays:
                raise ValueError(f"array {key!r} appears twice")
            if member.file_size > max_bytes:
                raise ValueError(f"array {member.filename!r} is too large")
            with archive.open(member) as fh:
                shape, fortran, dtype = _array_header(fh, member.filename)
                nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                if nbytes > member.file_size:
                    raise ValueError(f"array {member.filename!r} claims more data than it holds")
                total += nbytes
                if total > max_bytes:
                    raise ValueError("observation arrays exceed the size limit")
                data = bytearray(nbytes)
                if fh.readinto(data) != nbytes:  # type: ignore[attr-defined]  # a ZipExtFile
                    raise ValueError(f"array {member.filename!r} is truncated")
            flat = np.frombuffer(data, dtype=dtype)
            arrays[key] = flat.reshape(shape, order="F" if fortran else "C")
    return arrays


def _array_header(fh: Any, name: str) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported format version {version}")
    except ValueError as exc:
        raise ValueError(f"array {name!r} has a bad header ({exc})") from exc
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise ValueError(f"array {name!r} has non-numeric dtype {dtype}")
    return shape, fortran, dtype
