"""A blank, commented answer sheet generated from the rubric, so students write to the contract."""

from __future__ import annotations

from grader.rubric import (
    ChoiceCheck,
    CustomCheck,
    FormulaCheck,
    IntListVar,
    NumberCheck,
    Rubric,
    TableCheck,
    ValuesCheck,
    answer_key,
)


def answer_template(rubric: Rubric) -> str:
    lines = [
        f"# Answer sheet for {rubric.title}. Fill in the keys, remove the leading '# '.",
        "# Check it yourself with: grade <your folder>",
        f'homework = "{rubric.homework}"',
    ]
    sections: dict[str, list[str]] = {}
    top_level: list[str] = []
    for problem in rubric.problems:
        for check in problem.checks:
            if isinstance(check, ValuesCheck):
                block = sections.setdefault(check.section or problem.id, [])
                block.extend(_values(problem.id, check))
                continue
            if isinstance(check, CustomCheck) and check.template:
                block = sections.setdefault(answer_key(problem, check), [])
                block.append(f"# {problem.id}: {check.title or check.id} ({_points(check.points)})")
                block.extend(f"# {line}".rstrip() for line in check.template)
                continue
            if not isinstance(check, NumberCheck | ChoiceCheck | FormulaCheck | TableCheck):
                continue
            section, _, name = answer_key(problem, check).rpartition(".")
            block = top_level if not section else sections.setdefault(section, [])
            block.append(f"# {problem.id}: {check.title or check.id} ({_points(check.points)})")
            block.extend(_example(name, check))
    lines += top_level
    for section, block in sections.items():
        lines += ["", f"[{section}]", *block]
    return "\n".join(lines) + "\n"


def _example(name: str, check: NumberCheck | ChoiceCheck | FormulaCheck | TableCheck) -> list[str]:
    if isinstance(check, TableCheck):
        return _table_example(name, check)
    if isinstance(check, ChoiceCheck):
        options = ", ".join(f'"{o}"' for o in check.options)
        return [f"# choose any of: {options}", f"# {name} = []"]
    if isinstance(check, FormulaCheck):
        names = []
        for var_name, var in check.variables.items():
            if not isinstance(var, IntListVar):
                names.append(var_name)
                continue
            fixed = [f"{var_name}[{var.length}+{i}] = {v}" for i, v in enumerate(var.then)]
            fixed = [f.replace("+0]", "]") for f in fixed]
            names.append(", ".join([f"{var_name}[0..{var.length}-1]", *fixed]))
        calls = (
            [f"# it may call: {', '.join(check.functions) or 'no functions'}"]
            if check.functions is not None
            else []
        )
        if check.max_total_calls is not None:
            most = check.max_total_calls
            calls.append(f"# simplify: at most {most} function call{'s' * (most != 1)} in all")
        if check.must_call:
            calls.append(f"# it must call: {', '.join(check.must_call)}")
        return [
            f'# a Python expression in {", ".join(names)}, in quotes, e.g. "1/n[0]"',
            *calls,
            f'# {name} = ""',
        ]
    if isinstance(check, NumberCheck) and check.share:
        return ['# a share: a fraction (0.25) or a percent in quotes ("25%")', f"# {name} = 0"]
    return ["# a number (213504 or 213_504)", f"# {name} = 0"]


_TABLE_EXAMPLE = {"layer": '"CONV3-32"', "shape": '"32x32x32"', "count": "896"}
"""One made-up row per column kind (a 3x3 conv of 32 maps on a 32x32 RGB image), never a row of
the answer: the sheet is generated without the reference."""


def _table_example(name: str, check: TableCheck) -> list[str]:
    columns = ", ".join(c.name for c in check.columns)
    row = ", ".join(_TABLE_EXAMPLE[c.kind] for c in check.columns)
    optional = f" ({', '.join(check.optional)} rows may be left out)" if check.optional else ""
    return [
        f"# one row per layer, in order, each [{columns}]{optional}",
        f"# for example [{row}]; shapes as HxWxC, counts as integers",
        f"# {name} = [[{row}]]",
    ]


def _values(problem_id: str, check: ValuesCheck) -> list[str]:
    """One commented key per quantity; strings, because the digits written are what is judged."""
    share = check.points / len(check.quantities)
    lines = [
        f"# {problem_id}: {check.title or check.id} ({check.points:g} points, {share:g} each)",
        '# numbers in quotes, with the digits you computed: "0.0765" is judged at 4 decimals',
    ]
    lines.extend(f'# {name} = ""' for name in check.quantities)
    return lines


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")
