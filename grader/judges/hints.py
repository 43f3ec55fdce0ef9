"""Turn a student's exception into a hint, where the cause is recognisable.

Each hint is a (pattern over 'Type: message', advice) pair; the first match wins. Hints are
advice, never verdicts: they only add a sentence to a failure that was judged elsewhere.
"""

from __future__ import annotations

import re

from grader.sandbox.observations import ExceptionInfo

HINTS: tuple[tuple[str, str], ...] = (
    (
        r"missing the required \"forward\" function",
        "the class has no `forward` method: check its indentation (it must be at class level, "
        "not inside `__init__`)",
    ),
    (
        r"expected input\[.*\] to have \d+ channels",
        "a convolution received a tensor with the wrong number of channels: check which tensor "
        "you pass to each conv",
    ),
    (
        r"modified by an inplace operation",
        "an in-place operation (`+=`, `relu_`, `inplace=True`, slice assignment) changed a tensor "
        "autograd still needed: write `out = out + ...` instead",
    ),
    (
        r"^ModuleNotFoundError: No module named '([^']+)'",
        "the grading environment has only the course's packages (torch, numpy, matplotlib): remove "
        "the import of `{0}` or the file it comes from",
    ),
    (
        r"Expected all tensors to be on the same device|CUDA",
        "do not hard-code `.cuda()` or a device: the grader runs on the CPU",
    ),
    (
        r"expected (scalar type|m1 and m2 to have the same dtype)|found dtype",
        "tensors of different dtypes meet here: keep everything float32 (avoid `.double()`)",
    ),
    (
        r"mat1 and mat2 shapes cannot be multiplied|size of tensor a .* must match",
        "two tensors with incompatible shapes meet here: print the shapes at this line",
    ),
    (
        r"^NameError: name '([^']+)'",
        "`{0}` is used before it is defined (a typo, or a variable defined in another function?)",
    ),
    (
        r"^ProbeTimeout",
        "your code did not finish within the time limit: look for an endless loop or very large "
        "tensors",
    ),
    (
        r"^MemoryError|cannot allocate memory|DefaultCPUAllocator",
        "your code ran out of memory: look for very large tensors",
    ),
    (
        r"takes \d+ positional arguments? but \d+ (were|was) given|missing \d+ required positional",
        "the constructor or forward has a different signature from the one in the statement",
    ),
)


def hint_for(exc: ExceptionInfo) -> str | None:
    text = f"{exc.type}: {exc.message}"
    for pattern, advice in HINTS:
        match = re.search(pattern, text, flags=re.MULTILINE)
        if match:
            return advice.format(*match.groups())
    return None
