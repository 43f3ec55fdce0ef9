"""Tests for grader.ingest.submission: answer sheets with line provenance, and classes found by AST.

Submissions are written to `tmp_path` (or read from `tests/data/hw6`). Expected line numbers
are looked up in the text the test wrote (`_line_of`), so each assertion says which line a
student would be sent to, without hand-counted constants.
"""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from grader.ingest.submission import ANSWER_SHEET, CodeUnit, Submission, find_class, ingest

DATA = Path(__file__).resolve().parents[1] / "data" / "hw6"


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the `occurrence`-th line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not found {occurrence} times"
    return hits[occurrence - 1]


def _submission(root: Path, files: dict[str, str | bytes]) -> Submission:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(dedent(content), encoding="utf-8")
    return ingest(root)


def _sheet(tmp_path: Path, text: str | bytes) -> Submission:
    return _submission(tmp_path / "student", {ANSWER_SHEET: text})


def _names(sub: Submission) -> list[str]:
    return [u.name for u in sub.classes]


# --- answer sheet -----------------------------------------------------------------------------

SHEET = """\
# Alice -- HW6
homework = "hw6"
p3.derivation = "see page 2"

[p1]
# (a) and (c)
equivalent = ["relu", "leaky_relu"]

[ p2 ]
mean   = "0"
variance="3**-L + sum(1/(n[i] * 3**(L - i)) for i in range(L))"

[p4a]
params_naive = 213_504
params_stm = 78592

[p5.notes]
seen = true
"""


def test_answers_values_and_lines(tmp_path: Path) -> None:
    sub = _sheet(tmp_path, SHEET)
    assert sub.answer_sheet_error is None
    assert sub.homework == "hw6"
    expected = {
        "homework": ("hw6", 'homework = "hw6"'),
        "p3.derivation": ("see page 2", "p3.derivation"),
        "p4a.params_naive": (213504, "params_naive"),
        "p1.equivalent": (["relu", "leaky_relu"], "equivalent ="),
        "p2.mean": ("0", "mean   ="),
        "p2.variance": ("3**-L + sum(1/(n[i] * 3**(L - i)) for i in range(L))", "variance="),
        "p4a.params_stm": (78592, "params_stm"),
        "p5.notes.seen": (True, "seen = true"),
    }
    assert set(sub.answers) == set(expected)
    for key, (value, needle) in expected.items():
        answer = sub.answers[key]
        assert answer.key == key
        assert answer.value == value, key
        assert answer.source.file == ANSWER_SHEET
        assert answer.source.line == _line_of(SHEET, needle), key


def test_same_key_in_two_sections_gets_each_line(tmp_path: Path) -> None:
    text = "[p4a]\ncount = 1\n\n[p4b]\ncount = 2\n"
    sub = _sheet(tmp_path, text)
    assert sub.answers["p4a.count"].source.line == 2
    assert sub.answers["p4b.count"].source.line == 5


def test_dotted_key_inside_a_section(tmp_path: Path) -> None:
    text = '[p4]\na.params_naive = 213504\nb.params_stm = "78,592"\n'
    sub = _sheet(tmp_path, text)
    assert sub.answers["p4.a.params_naive"].source.line == 2
    assert sub.answers["p4.b.params_stm"].source.line == 3
    assert sub.answers["p4.b.params_stm"].value == "78,592"


def test_crlf_sheet(tmp_path: Path) -> None:
    sub = _sheet(tmp_path, b'homework = "hw6"\r\n\r\n[p4a]\r\nparams_stm = 78592\r\n')
    assert sub.answer_sheet_error is None
    assert sub.answers["p4a.params_stm"].source.line == 4


def test_inline_table_keys_point_at_their_line(tmp_path: Path) -> None:
    text = 'homework = "hw6"\np4a = {params_naive = 213504, params_stm = 78592}\n'
    sub = _sheet(tmp_path, text)
    assert sub.answers["p4a.params_naive"].value == 213504
    assert sub.answers["p4a.params_naive"].source.line == 2
    assert sub.answers["p4a.params_stm"].source.line == 2


def test_bad_toml_sample_reports_line_5() -> None:
    """tests/data/hw6/bad-toml: unquoted `[relu, leaky_relu]` on line 5 (SCENARIOS.md)."""
    sub = ingest(DATA / "bad-toml")
    error = sub.answer_sheet_error
    assert error is not None
    assert error.path.name == ANSWER_SHEET
    assert error.line == 5
    assert "Invalid value" in error.reason
    assert str(error).startswith("answers.toml:5: not valid TOML")
    assert sub.answers == {}
    assert sub.homework == "hw6", "the homework is still read from the broken sheet"
    assert _names(sub) == ["STMConvLayer"], "a broken sheet must not stop the code being read"


def test_broken_toml_line_and_homework_after_the_error(tmp_path: Path) -> None:
    text = '[p4a\nparams_stm = 78592\n\nhomework = "HW6"\n'
    sub = _sheet(tmp_path, text)
    assert sub.answer_sheet_error is not None
    assert sub.answer_sheet_error.line == 1
    assert sub.homework == "hw6"


def test_duplicate_key_is_a_sheet_error_at_its_line(tmp_path: Path) -> None:
    text = "[p4a]\nparams_naive = 1\nparams_naive = 2\n"
    sub = _sheet(tmp_path, text)
    assert sub.answer_sheet_error is not None
    assert sub.answer_sheet_error.line == 3
    assert sub.homework is None


def test_homework_from_the_sheet_is_normalised(tmp_path: Path) -> None:
    sub = _sheet(tmp_path, 'homework = " HW6 "\n')
    assert sub.homework == "hw6"


def test_no_sheet_means_no_homework(tmp_path: Path) -> None:
    sub = _submission(tmp_path / "s", {"stm.py": "x = 1\n"})
    assert sub.homework is None
    assert sub.answers == {}
    assert sub.answer_sheet_error is None


def test_non_utf8_sheet(tmp_path: Path) -> None:
    raw = 'homework = "hw6"\n# r\xe9ponse\n[p4a]\nparams_stm = 78592\n'.encode("latin-1")
    sub = _sheet(tmp_path, raw)
    error = sub.answer_sheet_error
    assert error is not None
    assert "not UTF-8" in error.reason
    assert sub.answers == {}
    assert sub.homework == "hw6"


def test_utf8_bom_sheet_is_read(tmp_path: Path) -> None:
    sub = _sheet(tmp_path, '\ufeffhomework = "hw6"\n[p4a]\nparams_stm = 78592\n'.encode())
    assert sub.answer_sheet_error is None
    assert sub.homework == "hw6"
    assert sub.answers["p4a.params_stm"].source.line == 3


def test_answer_sheet_in_a_subfolder_is_not_the_sheet(tmp_path: Path) -> None:
    sub = _submission(tmp_path / "s", {"old/answers.toml": 'homework = "hw5"\n'})
    assert sub.answers == {}
    assert sub.homework is None
    assert sub.files == ["old/answers.toml"]


# --- classes ----------------------------------------------------------------------------------

CLASSES = """\
import torch
import torch.nn as nn
from torch.nn import Module


class Plain:
    pass


class A(nn.Module):
    pass


class B(torch.nn.Module):
    pass


class C(Module):
    pass


class D(A):
    pass


class E(D):
    pass


if torch.cuda.is_available():
    class InIf(nn.Module):
        pass
else:
    class InElse(nn.Module):
        pass

try:
    class InTry(nn.Module):
        pass
except ImportError:
    class InExcept(nn.Module):
        pass
finally:
    class InFinally(nn.Module):
        pass

with open(__file__):
    class InWith(nn.Module):
        pass


def factory():
    class InFunction(nn.Module):
        pass

    return InFunction


class Outer(nn.Module):
    class Nested(nn.Module):
        pass
"""


def test_module_level_classes_by_ast(tmp_path: Path) -> None:
    sub = _submission(tmp_path / "s", {"models.py": CLASSES})
    units = {u.name: u for u in sub.classes}
    assert set(units) == {
        "Plain",
        "A",
        "B",
        "C",
        "D",
        "E",
        "InIf",
        "InElse",
        "InTry",
        "InExcept",
        "InFinally",
        "InWith",
        "Outer",
    }, "functions' and classes' inner classes are not defined by importing the file"
    for name, unit in units.items():
        assert unit.file == "models.py"
        assert unit.line == _line_of(CLASSES, f"class {name}" + ("(" if name != "Plain" else ":"))
        assert unit.is_module == (name != "Plain"), name
    assert units["B"].bases == ("torch.nn.Module",)
    assert units["E"].bases == ("D",), "a subclass of a subclass of nn.Module is a module too"


def test_forward_nested_in_init_is_misplaced(tmp_path: Path) -> None:
    """tests/data/hw6/forward-in-init: seed 000's bug, `def forward` inside `__init__`."""
    source = (DATA / "forward-in-init" / "stm.py").read_text(encoding="utf-8")
    sub = ingest(DATA / "forward-in-init")
    lookup = find_class(sub, "STMConvLayer")
    assert lookup.exact and lookup.unit is not None
    assert lookup.unit.methods == ("__init__",)
    assert lookup.unit.misplaced_methods == {
        "forward": (_line_of(source, "def forward"), "__init__")
    }


def test_nested_forward_that_is_also_a_method_is_not_misplaced(tmp_path: Path) -> None:
    source = """\
    import torch.nn as nn

    class M(nn.Module):
        def forward(self, x):
            def step(y):
                return y
            return step(x)
    """
    sub = _submission(tmp_path / "s", {"m.py": source})
    (unit,) = sub.classes
    assert unit.methods == ("forward",)
    assert "forward" not in unit.misplaced_methods


def test_syntax_error_is_recorded_with_its_line() -> None:
    """tests/data/hw6/syntax-error: missing `:` at line 9 (SCENARIOS.md)."""
    sub = ingest(DATA / "syntax-error")
    assert [(p.file, p.line) for p in sub.parse_problems] == [("stm.py", 9)]
    assert "syntax error" in sub.parse_problems[0].message
    assert sub.classes == []
    lookup = find_class(sub, "STMConvLayer")
    assert lookup.unit is None and lookup.found_instead == ()


def test_a_broken_file_does_not_hide_the_others(tmp_path: Path) -> None:
    sub = _submission(
        tmp_path / "s",
        {
            "broken.py": "def f(:\n",
            "good.py": "import torch.nn as nn\nclass STMConvLayer(nn.Module): ...\n",
        },
    )
    assert [(p.file, p.line) for p in sub.parse_problems] == [("broken.py", 1)]
    assert find_class(sub, "STMConvLayer").exact


def test_non_utf8_python_file_is_still_parsed(tmp_path: Path) -> None:
    raw = "# caf\xe9\nimport torch.nn as nn\nclass STMConvLayer(nn.Module): ...\n".encode("latin-1")
    sub = _submission(tmp_path / "s", {"stm.py": raw})
    assert sub.parse_problems == []
    assert _names(sub) == ["STMConvLayer"]


def test_class_in_a_subfolder_is_found() -> None:
    """tests/data/hw6/correct-helper-class: `models/layers.py`, no `__init__.py`."""
    sub = ingest(DATA / "correct-helper-class")
    lookup = find_class(sub, "STMConvLayer")
    assert lookup.exact and lookup.unit is not None
    assert lookup.unit.file == "models/layers.py"


def test_exact_name_prefers_the_shallowest_file_and_its_last_definition(tmp_path: Path) -> None:
    body = "import torch.nn as nn\n"
    body += "class STMConvLayer(nn.Module):\n    pass\n"
    body += "class STMConvLayer(nn.Module):  # second\n    pass\n"
    sub = _submission(tmp_path / "s", {"sub/deep.py": body, "top.py": body})
    lookup = find_class(sub, "STMConvLayer")
    assert lookup.unit is not None
    assert (lookup.unit.file, lookup.unit.line) == ("top.py", _line_of(body, "# second"))


# --- near misses ------------------------------------------------------------------------------


def _with_classes(tmp_path: Path, *names: str, base: str = "nn.Module") -> Submission:
    source = "import torch.nn as nn\n" + "".join(f"class {n}({base}):\n    pass\n" for n in names)
    return _submission(tmp_path / "s", {"stm.py": source})


@pytest.mark.parametrize("name", ["STMConv", "STM_ConvLayer", "stmconvlayer", "STMConvLayer2"])
def test_near_miss_names_are_found(tmp_path: Path, name: str) -> None:
    lookup = find_class(_with_classes(tmp_path, "ResBlock", name), "STMConvLayer")
    assert lookup.unit is not None
    assert lookup.unit.name == name
    assert lookup.exact is False


def test_misnamed_sample() -> None:
    lookup = find_class(ingest(DATA / "misnamed"), "STMConvLayer")
    assert lookup.unit is not None and lookup.unit.name == "STMConv" and not lookup.exact


def test_exact_name_wins_over_a_near_miss(tmp_path: Path) -> None:
    lookup = find_class(_with_classes(tmp_path, "STMConv", "STMConvLayer"), "STMConvLayer")
    assert lookup.unit is not None and lookup.unit.name == "STMConvLayer" and lookup.exact


def test_exact_name_need_not_be_a_module(tmp_path: Path) -> None:
    """The exact name is graded even if its base is unusual; the sandbox then says what it is."""
    lookup = find_class(_with_classes(tmp_path, "STMConvLayer", base="object"), "STMConvLayer")
    assert lookup.exact and lookup.unit is not None


def test_near_miss_must_be_an_nn_module(tmp_path: Path) -> None:
    lookup = find_class(_with_classes(tmp_path, "STMConv", base="object"), "STMConvLayer")
    assert lookup.unit is None
    assert lookup.found_instead == ()


@pytest.mark.parametrize("name", ["ResBlock", "Net", "Model", "Path", "Bottleneck"])
def test_unrelated_classes_are_not_near_misses(tmp_path: Path, name: str) -> None:
    lookup = find_class(_with_classes(tmp_path, name), "STMConvLayer")
    assert lookup.unit is None
    assert lookup.found_instead == (name,)


_MY_CONV_BUG = (
    "engine bug: find_class takes the statement's own MyConvLayer as a near-miss for "
    "STMConvLayer (normalised SequenceMatcher ratio 0.87 >= 0.75), so a student who never wrote "
    "STMConvLayer gets MyConvLayer probed and earns instantiate/independent/output_shape/"
    "backward points (tests/data/hw6/missing-class grades 3.5/8 on p4b instead of 0)"
)


def test_my_conv_layer_is_not_a_near_miss(tmp_path: Path) -> None:
    lookup = find_class(_with_classes(tmp_path, "MyConvLayer"), "STMConvLayer")
    assert lookup.unit is None


def test_missing_class_sample_lists_the_modules_found() -> None:
    """tests/data/hw6/missing-class: only `MyConvLayer` and `ResBlock` (SCENARIOS.md: name F)."""
    lookup = find_class(ingest(DATA / "missing-class"), "STMConvLayer")
    assert lookup.unit is None
    assert lookup.found_instead == ("MyConvLayer", "ResBlock")


def test_missing_class_lists_only_module_classes(tmp_path: Path) -> None:
    source = """\
    import torch.nn as nn

    class Helper:
        pass

    class ResBlock(nn.Module):
        pass

    class Bottleneck(ResBlock):
        pass
    """
    lookup = find_class(_submission(tmp_path / "s", {"hw6.py": source}), "STMConvLayer")
    assert lookup.unit is None
    assert lookup.found_instead == ("Bottleneck", "ResBlock")


# --- files ------------------------------------------------------------------------------------


def test_files_are_listed_relative_and_sorted(tmp_path: Path) -> None:
    sub = _submission(
        tmp_path / "bob",
        {
            "answers.toml": 'homework = "hw6"\n',
            "stm.py": "x = 1\n",
            "lib/util.py": "y = 2\n",
            ".hidden.py": "class STMConvLayer: ...\n",
            "__pycache__/stm.cpython-311.py": "class STMConvLayer: ...\n",
        },
    )
    assert sub.student == "bob"
    assert sub.files == ["answers.toml", "lib/util.py", "stm.py"]
    assert sub.classes == []


def test_student_name_can_be_given(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    assert ingest(tmp_path / "folder", student="Alice").student == "Alice"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks on this platform")
def test_symlinks_are_ignored(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(
        "import torch.nn as nn\nclass STMConvLayer(nn.Module): ...\n"
    )
    (outside / "answers.toml").write_text('homework = "hw6"\n[p4a]\nparams_stm = 78592\n')
    sub_root = tmp_path / "student"
    sub_root.mkdir()
    (sub_root / "stm.py").write_text("x = 1\n")
    (sub_root / "link.py").symlink_to(outside / "secret.py")
    (sub_root / "answers.toml").symlink_to(outside / "answers.toml")
    (sub_root / "lib").symlink_to(outside, target_is_directory=True)

    sub = ingest(sub_root)
    assert sub.files == ["stm.py"]
    assert sub.classes == []
    assert sub.answers == {} and sub.homework is None
    ignored = " ".join(sub.notes)
    for name in ("link.py", "answers.toml", "lib"):
        assert name in ignored, f"{name} should be reported as ignored"


def test_code_unit_is_frozen() -> None:
    unit = CodeUnit("A", "a.py", 1, (), (), {})
    with pytest.raises(AttributeError):
        unit.name = "B"  # type: ignore[misc]
