"""Map a student's parameters onto the reference module, so both can be compared on equal weights.

Students name and order their parameters freely (a ModuleList of Sequentials, three ModuleLists,
raw ParameterLists, one stacked tensor, one grouped convolution holding every path's weights,
1x1 convolutions written as matrices). We try a few structural mappings and let the caller keep
one that reproduces the student's outputs. Trying several is safe: if the reference, loaded with
*some* arrangement of the student's own tensors, computes exactly what the student's module
computed on fresh random inputs, then the student's module *is* that computation.

Shapes are matched up to size-1 dimensions (a 1x1 conv weight (4, 256, 1, 1) and a matrix
(4, 256) hold the same numbers), and a student tensor no reference parameter has the shape of is
cut into equal chunks along one dimension (a grouped conv's (128, 4, 3, 3) weight is 32 paths'
(4, 4, 3, 3); a merged last conv's (256, 128, 1, 1) is 32 paths' (256, 4, 1, 1) side by side).
`filled_assignments` goes one step further, for the caller's last try: reference parameters the
student has no tensor for are set to zero (a layer built without biases, or with the 32 summed
last biases merged into one); whether that is the same layer is for the caller to decide.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grader.sandbox.observations import ParamInfo

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Piece:
    """One distinct student tensor (or one chunk of it), named as registered.

    `source` is the student tensor's registered name (None for a zero filling a reference
    parameter the student has no tensor for) and `region` the chunk of it, (dim, start, stop), so
    its gradient can be cut the same way (`take`).
    """

    name: str
    array: np.ndarray
    source: str | None = None
    region: tuple[int, int, int] | None = None

    @property
    def shape(self) -> Shape:
        return tuple(self.array.shape)

    @property
    def key(self) -> Shape:
        return _key(self.shape)

    def take(self, whole: np.ndarray) -> np.ndarray:
        """The same chunk of an array shaped like the whole student tensor (its gradient)."""
        if self.region is None:
            return whole
        dim, start, stop = self.region
        return whole[(slice(None),) * dim + (slice(start, stop),)].reshape(self.shape)


RefParams = Sequence[tuple[str, Shape]]


def student_pieces(params: Sequence[ParamInfo], arrays: dict[str, np.ndarray]) -> list[Piece]:
    """Distinct tensors in registration order, each under the first name it was registered as."""
    pieces: list[Piece] = []
    seen: set[int] = set()
    for p in params:
        if p.tensor in seen or f"param{p.tensor}" not in arrays:
            continue
        seen.add(p.tensor)
        pieces.append(Piece(p.name, arrays[f"param{p.tensor}"], source=p.name))
    return pieces


def candidate_assignments(ref: torch.nn.Module, pieces: list[Piece]) -> list[list[Piece]]:
    """Distinct ways of filling the reference's parameters (in its order) with student pieces."""
    return assignments_for(_ref_params(ref), pieces)


def assignments_for(ref_params: RefParams, pieces: list[Piece]) -> list[list[Piece]]:
    """`candidate_assignments` for a reference known by its parameters' names and shapes only
    (a students' bundle holds those, not the reference's code)."""
    found: list[list[Piece]] = []
    for pool in (pieces, _chunked(pieces, ref_params)):
        for strategy in (by_owner, by_shape_order, by_role_major_shape_order):
            assignment = strategy(ref_params, pool)
            if assignment is not None and not any(_same(assignment, f) for f in found):
                found.append(assignment)
    return found


def filled_assignments(ref: torch.nn.Module, pieces: list[Piece]) -> list[list[Piece]]:
    """Like `candidate_assignments`, with every student piece used and the reference parameters
    left over set to zero (pieces named by `ZERO`), role by role. Empty when no zero is needed
    or the student has no tensor at all."""
    return filled_assignments_for(_ref_params(ref), pieces)


def filled_assignments_for(ref_params: RefParams, pieces: list[Piece]) -> list[list[Piece]]:
    """`filled_assignments` for a reference known by its parameters' names and shapes only."""
    if not pieces:
        return []
    found: list[list[Piece]] = []
    for pool in (pieces, _chunked(pieces, ref_params, exact=False)):
        # Role by role (a layer without some parameters), then in the reference's own order (a
        # layer with fewer parts: 16 paths fill the first 16 of 32, the rest zero).
        for assignment in (
            by_role_major_shape_order(ref_params, pool, fill=True),
            _fill_by_shape(ref_params, pool, fill=True),
        ):
            if (
                assignment is not None
                and any(p.source is None for p in assignment)
                and not any(_same(assignment, f) for f in found)
            ):
                found.append(assignment)
    return found


ZERO = "(zero)"


def roles(ref: torch.nn.Module) -> dict[str, list[int]]:
    """The reference's parameter indices by role: `paths.#.0.bias` is every path's first bias."""
    found: dict[str, list[int]] = defaultdict(list)
    for index, (name, _) in enumerate(ref.named_parameters()):
        found[role_of(name)].append(index)
    return dict(found)


def transplant_weights(ref: torch.nn.Module, assignment: list[Piece]) -> None:
    """Copy the assigned student arrays into the reference module's parameters, in place."""
    with torch.no_grad():
        for param, piece in zip(ref.parameters(), assignment, strict=True):
            array = np.ascontiguousarray(piece.array)
            if array.size != param.numel():
                raise ValueError(f"{piece.name} has {array.size} values, not {param.numel()}")
            param.copy_(torch.from_numpy(array).reshape(param.shape).to(param.dtype))


def by_owner(ref_params: RefParams, pieces: list[Piece]) -> list[Piece] | None:
    """Match whole submodules (a conv's weight and bias together) by their shapes, in order."""
    ref_units = _units([(n, _key(s)) for n, s in ref_params])
    student_units = _units([(p.name, p.key) for p in pieces])
    by_name = {p.name: p for p in pieces}
    queues: dict[tuple[tuple[str, Shape], ...], deque[str]] = defaultdict(deque)
    for owner, members in student_units.items():
        queues[_signature(members)].append(owner)
    assignment: dict[str, Piece] = {}
    for owner, members in ref_units.items():
        queue = queues.get(_signature(members))
        if not queue:
            return None
        student_owner = queue.popleft()
        for leaf, _ in members:
            full = f"{student_owner}.{leaf}" if student_owner else leaf
            assignment[f"{owner}.{leaf}" if owner else leaf] = by_name[full]
    if any(queues.values()):
        return None
    return [assignment[name] for name, _ in ref_params]


def by_shape_order(ref_params: RefParams, pieces: list[Piece]) -> list[Piece] | None:
    """The k-th student tensor of a shape fills the k-th reference parameter of that shape."""
    return _fill_by_shape(ref_params, pieces, fill=False)


def _fill_by_shape(ref_params: RefParams, pieces: list[Piece], fill: bool) -> list[Piece] | None:
    queues: dict[Shape, deque[Piece]] = defaultdict(deque)
    for piece in pieces:
        queues[piece.key].append(piece)
    assignment = []
    for _, shape in ref_params:
        queue = queues[_key(shape)]
        if queue:
            assignment.append(queue.popleft())
        elif fill:
            assignment.append(Piece(ZERO, np.zeros(shape)))
        else:
            return None
    return assignment if not any(queues.values()) else None


def by_role_major_shape_order(
    ref_params: RefParams, pieces: list[Piece], fill: bool = False
) -> list[Piece] | None:
    """Like `by_shape_order`, for students who list all first convs, then all second convs, ...

    The reference is enumerated role by role (`paths.#.0.bias` for every path, then the next role),
    which is how ParameterLists or parallel ModuleLists register their tensors.
    """
    by_role: dict[str, list[int]] = defaultdict(list)
    for index, (name, _) in enumerate(ref_params):
        by_role[role_of(name)].append(index)
    order = [i for indices in by_role.values() for i in indices]
    assignment = _fill_by_shape([ref_params[i] for i in order], pieces, fill)
    if assignment is None:
        return None
    result: list[Piece | None] = [None] * len(ref_params)
    for position, index in enumerate(order):
        result[index] = assignment[position]
    return [p for p in result if p is not None]


def _ref_params(ref: torch.nn.Module) -> RefParams:
    return [(n, tuple(p.shape)) for n, p in ref.named_parameters()]


def role_of(name: str) -> str:
    """`paths.3.0.bias` -> `paths.#.0.bias`: the first index in a name stands for any."""
    return re.sub(r"\.\d+(?=\.)", ".#", name, count=1)


def _key(shape: Shape) -> Shape:
    """A shape up to size-1 dimensions: (4, 256, 1, 1) holds what (4, 256) does."""
    return tuple(d for d in shape if d != 1)


def _units(named: list[tuple[str, Shape]]) -> dict[str, list[tuple[str, Shape]]]:
    units: dict[str, list[tuple[str, Shape]]] = defaultdict(list)
    for name, shape in named:
        owner, _, leaf = name.rpartition(".")
        units[owner].append((leaf, shape))
    return dict(units)


def _signature(members: list[tuple[str, Shape]]) -> tuple[tuple[str, Shape], ...]:
    return tuple(sorted(members))


def _chunked(pieces: list[Piece], ref_params: RefParams, exact: bool = True) -> list[Piece]:
    """Cut pieces no reference parameter has the shape of into equal chunks along one dimension
    that do: a stacked (32, 4, 4, 3, 3) into 32 (4, 4, 3, 3), a grouped conv's (128, 4, 3, 3)
    likewise, a merged (256, 128, 1, 1) along its input channels into 32 (256, 4, 1, 1).

    A shape can often be cut several ways ((32, 256) is 32 biases (256,) or 8 matrices (4, 256)),
    so the cuts are chosen together: the chunks of every shape must number what the reference
    has of that shape (`exact`), or at most that (for `filled_assignments`). Pieces are kept whole
    where no choice fits (and then match nothing)."""
    need = Counter(_key(s) for _, s in ref_params)
    have = Counter(piece.key for piece in pieces)
    if have == need or (not exact and all(need[k] >= n for k, n in have.items())):
        return list(pieces)  # whole pieces fit: the search below would choose no cut either
    options = [_cuts(piece, set(need)) for piece in pieces]
    chosen = _choose(options, need, exact)
    if chosen is None:
        return list(pieces)
    out: list[Piece] = []
    for piece, cut in zip(pieces, chosen, strict=True):
        if cut is None:
            out.append(piece)
            continue
        dim, k = cut
        size = piece.shape[dim] // k
        source = piece.source if piece.source is not None else piece.name
        for j in range(k):
            start, stop = j * size, (j + 1) * size
            chunk = piece.array[(slice(None),) * dim + (slice(start, stop),)]
            if size == 1 and dim == 0:  # one slice of a stack: indexed, as the student does
                name, chunk = f"{piece.name}[{j}]", piece.array[j]
            else:
                name = f"{piece.name}[{':, ' * dim}{start}:{stop}]"
            out.append(Piece(name, chunk, source=source, region=(dim, start, stop)))
    return out


Cut = tuple[int, int] | None  # (dim, number of chunks), or None: the piece whole


def _cuts(piece: Piece, ref_keys: set[Shape]) -> list[tuple[Cut, Shape, int]]:
    """The ways to use a piece, whole first, then by fewest chunks: (cut, chunk key, chunks)."""
    found: list[tuple[Cut, Shape, int]] = []
    if piece.key in ref_keys:
        found.append((None, piece.key, 1))
    cuts = []
    # A chunk's size along the cut is a size the reference has (or 1): trying those, not every
    # divisor of the student's size, keeps the work the reference's, whatever shape a student
    # (or a forged observation: zero-size tensors of huge shape) reports.
    sizes = {d for key in ref_keys for d in key} | {1}
    for dim, size in enumerate(piece.shape):
        for chunk_size in sorted(sizes):
            if chunk_size <= 0 or size % chunk_size or size // chunk_size < 2:
                continue
            k = size // chunk_size
            chunk = _key((*piece.shape[:dim], chunk_size, *piece.shape[dim + 1 :]))
            if chunk in ref_keys:
                cuts.append(((dim, k), chunk, k))
    return found + sorted(cuts, key=lambda c: c[2])[:MAX_CUTS]


MAX_CUTS = 8  # per piece
MAX_STEPS = 20_000  # of the search below: a student chooses the shapes


def _choose(
    options: list[list[tuple[Cut, Shape, int]]], need: Counter[Shape], exact: bool
) -> list[Cut] | None:
    """One cut per piece so the chunks fit the reference's counts (depth-first, bounded)."""
    left = Counter(need)
    chosen: list[Cut] = []
    steps = 0

    def search(i: int) -> bool:
        nonlocal steps
        steps += 1
        if steps > MAX_STEPS:
            return False
        if i == len(options):
            return not exact or not any(left.values())
        for cut, key, count in options[i]:
            if left[key] < count:
                continue
            left[key] -= count
            chosen.append(cut)
            if search(i + 1):
                return True
            chosen.pop()
            left[key] += count
        return False

    if any(not o for o in options):
        return None
    return chosen if search(0) else None


def _same(a: list[Piece], b: list[Piece]) -> bool:
    return all(x.name == y.name for x, y in zip(a, b, strict=True))
