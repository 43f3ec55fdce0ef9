"""Tests for grader.ingest.notebook: notebooks read with `json`, cells laid out as one text.

The sample notebook (tests/data/writeups/hw6_notebook.ipynb) answers HW6 in markdown cells and
code cells: the class in one cell, the ddescent script spread over three cells, an IPython magic,
an empty code cell, a raw cell. Locations are checked the way a student would look them up:
"cell N, line M", counting every cell from the top as Jupyter shows them.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import random
from pathlib import Path

import pytest

from grader.ingest import notebook
from grader.ingest.exprs import parse_expression
from grader.ingest.latex import VARIANCE, find_final_formula, latex_to_python
from grader.ingest.notebook import NotebookError, notebook_code_blocks, read_notebook
from grader.ingest.writeup import (
    assemble_class,
    assemble_script,
    detect_homework,
    extract_choices,
    extract_result_numbers,
    find_sections,
    section_text,
)

NOTEBOOK = Path(__file__).resolve().parents[1] / "data" / "writeups" / "hw6_notebook.ipynb"
NAME = NOTEBOOK.name


def _doc() -> notebook.NotebookDocument:
    return read_notebook(NOTEBOOK.read_bytes(), NAME)


def _cell_sources() -> list[list[str]]:
    """The cells' source lines straight from the JSON, independently of the reader."""
    data = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    out = []
    for cell in data["cells"]:
        source = cell["source"]
        out.append(("".join(source) if isinstance(source, list) else source).splitlines())
    return out


def test_code_cells_in_order_with_unique_lines_that_map_back_to_the_cells() -> None:
    doc = _doc()
    sources = _cell_sources()
    assert [b.context for b in doc.code_blocks] == [f"cell {n}" for n in (5, 6, 9, 10, 12, 13)]
    assert all(b.kind == "cell" for b in doc.code_blocks)
    lines = [n for b in doc.code_blocks for n, _ in b.lines]
    assert lines == sorted(set(lines))  # a running count: unique and increasing
    for block in doc.code_blocks:
        for line, code in block.lines:
            cell, row = doc.locate(line)  # type: ignore[misc]
            original = sources[cell - 1][row - 1]
            assert code == original or code == "# " + original  # magics are commented out
    assert notebook_code_blocks(NOTEBOOK.read_bytes(), NAME) == list(doc.code_blocks)


def test_describe_says_cell_and_line() -> None:
    doc = _doc()
    class_line = next(n for b in doc.code_blocks for n, c in b.lines if c.startswith("class "))
    assert doc.describe(class_line) == f"{NAME}, cell 6, line 1"
    assert doc.describe(1) == f"{NAME}, cell 1, line 1"
    assert doc.describe(10**6) == NAME
    assert doc.notes == ("cell 5, line 1: IPython syntax '%matplotlib inline' commented out",)


def test_markdown_cells_give_sections_and_answers() -> None:
    doc = _doc()
    sections = {s.problem: s for s in find_sections(doc.text)}
    assert list(sections) == ["1", "2", "4", "5"]
    assert detect_homework(doc.text) == ("hw6", 0.9)
    chosen, _ = extract_choices(section_text(doc.text, sections["1"]), {
        "relu": ["ReLU"], "sigmoid": ["Sigmoid"], "leaky_relu": ["LeakyReLU"],
    })  # fmt: skip
    assert chosen == {"relu", "leaky_relu"}
    p4 = sections["4"]
    values = [v for v, _ in extract_result_numbers(section_text(doc.text, p4), p4.start_line)]
    assert values == [213504, 78592]
    p2 = sections["2"]
    found = find_final_formula(section_text(doc.text, p2), VARIANCE, p2.start_line)
    assert found is not None
    assert doc.describe(found[1]).endswith("cell 3, line 5")
    expression = parse_expression(
        latex_to_python(found[0], {"L": "int", "n": "int_list"}), ["L", "n"]
    )
    for L, n in [(1, [4]), (3, [10, 20, 7])]:
        reference = 3.0**-L + sum(1 / (n[i] * 3.0 ** (L - i)) for i in range(L))
        assert math.isclose(expression.evaluate(L=L, n=n), reference, rel_tol=1e-12)


def test_class_in_a_cell_is_assembled_with_the_import_cell() -> None:
    doc = _doc()
    assembled = assemble_class(list(doc.code_blocks), "STMConvLayer")
    assert assembled is not None and assembled.syntax_error is None
    tree = ast.parse(assembled.source)
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert [n.name for n in cls.body if isinstance(n, ast.FunctionDef)] == ["__init__", "forward"]
    places = {doc.describe(n) for n in assembled.line_map if n}
    assert f"{NAME}, cell 5, line 3" in places  # import torch.nn as nn
    assert all("cell 5" in p or "cell 6" in p for p in places)
    assert "model = STMConvLayer()" not in assembled.source


def test_script_from_consecutive_cells() -> None:
    doc = _doc()
    script = assemble_script(
        list(doc.code_blocks), ["num_params", "errors_fixed_lambda", "errors_opt_lambda"]
    )
    assert script is not None and script.syntax_error is None
    cells = sorted({doc.locate(n)[0] for n in script.line_map if n})  # type: ignore[index]
    assert cells == [9, 10, 12]  # data set-up, the loop, the plots; not the class or the print


def _nb(cells: list[dict[str, object]], **extra: object) -> bytes:
    return json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, **extra}).encode()


def test_an_unclosed_fence_in_markdown_does_not_swallow_later_cells() -> None:
    raw = _nb(
        [
            {"cell_type": "markdown", "source": "## Problem 1\n```python\nx = 1"},
            {"cell_type": "code", "source": "s = '''\n```\n'''\ny = 2"},
            {"cell_type": "markdown", "source": "## Problem 2\ntext"},
        ]
    )
    doc = read_notebook(raw, "a.ipynb")
    assert [s.problem for s in find_sections(doc.text)] == ["1", "2"]
    assert [c for _, c in doc.code_blocks[0].lines] == ["s = '''", "```", "'''", "y = 2"]


def test_nbformat_3_worksheets_are_read() -> None:
    raw = json.dumps(
        {
            "nbformat": 3,
            "worksheets": [
                {
                    "cells": [
                        {"cell_type": "heading", "level": 2, "source": ["Problem 4"]},
                        {"cell_type": "code", "input": ["x = 1\n", "y = 2"]},
                    ]
                }
            ],
        }
    ).encode()
    doc = read_notebook(raw, "old.ipynb")
    assert [c for _, c in doc.code_blocks[0].lines] == ["x = 1", "y = 2"]
    assert doc.cells[0].kind == "markdown"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"cells": [', "not valid notebook JSON: Expecting value at line 1, column 12"),
        (b"[1, 2]", "top level is not an object"),
        (b'{"nbformat": 4, "cells": 3}', "no list of cells"),
        (b'{"nbformat": 4, "cells": [{"cell_type": "code", "source": 7}]}', "cell 1"),
        (b'{"nbformat": 2}', "unsupported notebook format"),
        (b'{"nbformat": 3}', "without worksheets"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_notebooks_raise_notebook_error(raw: bytes, fragment: str) -> None:
    with pytest.raises(NotebookError) as info:
        read_notebook(raw, "bad.ipynb")
    assert fragment in info.value.message
    assert isinstance(info.value, ValueError)


def test_size_limit_and_wrong_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 100)
    with pytest.raises(NotebookError, match="too large"):
        read_notebook(NOTEBOOK.read_bytes(), NAME)
    with pytest.raises(NotebookError, match="bytes"):
        read_notebook("text", NAME)  # type: ignore[arg-type]


def test_random_json_is_read_or_refused_cleanly() -> None:
    rng = random.Random(5)
    values: list[object] = [None, 1, "x", [], {}, ["a", 2], {"cell_type": "code"}]
    for _ in range(300):
        cells = [
            {
                k: rng.choice(values)
                for k in rng.sample(["cell_type", "source", "execution_count"], 2)
            }
            for _ in range(rng.randint(0, 4))
        ]
        with contextlib.suppress(NotebookError):
            read_notebook(_nb(cells), "r.ipynb")  # type: ignore[arg-type]


def test_a_script_brings_what_its_training_loop_reads_from_earlier_cells() -> None:
    """The model in a cell of its own, the loop after it: the loop's step size and data come
    from an earlier cell, which must be assembled too (it was left out: NameError: alpha)."""
    cells = [
        "import torch\nfrom torch import nn",
        "alpha, K = 0.1, 3\nX = torch.randn(8, 1)\nY = X ** 2",
        "model = nn.Sequential(nn.Linear(1, 4), nn.Sigmoid(), nn.Linear(4, 1))",
        "opt = torch.optim.SGD(model.parameters(), lr=alpha)\nfor k in range(K):\n"
        "    opt.zero_grad()\n    ((model(X) - Y) ** 2).mean().backward()\n    opt.step()",
        "print(model(X).shape)",
        "unrelated = 1",
    ]
    doc = read_notebook(_nb([{"cell_type": "code", "source": c} for c in cells]), "p1.ipynb")
    script = assemble_script(list(doc.code_blocks), ["model"])
    assert script is not None and script.syntax_error is None
    used = sorted({doc.locate(n)[0] for n in script.line_map if n})  # type: ignore[index]
    assert used == [1, 2, 3, 4, 5]
    namespace: dict[str, object] = {}
    exec(compile(script.source, "p1", "exec"), namespace)  # trusted test code, not a student's
    assert "model" in namespace
