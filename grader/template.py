"""A blank, commented answer sheet generated from the rubric, so students write to the contract."""

from __future__ import annotations

from grader.rubric import ChoiceCheck, FormulaCheck, IntListVar, NumberCheck, Rubric, answer_key


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
            if not isinstance(check, NumberCheck | ChoiceCheck | FormulaCheck):
                continue
            section, _, name = answer_key(problem, check).rpartition(".")
            block = top_level if not section else sections.setdefault(section, [])
            block.append(f"# {problem.id}: {check.title or check.id} ({check.points:g} points)")
            block.extend(_example(name, check))
    lines += top_level
    for section, block in sections.items():
        lines += ["", f"[{section}]", *block]
    return "\n".join(lines) + "\n"


def _example(name: str, check: NumberCheck | ChoiceCheck | FormulaCheck) -> list[str]:
    if isinstance(check, ChoiceCheck):
        options = ", ".join(f'"{o}"' for o in check.options)
        return [f"# choose any of: {options}", f"# {name} = []"]
    if isinstance(check, FormulaCheck):
        names = []
        for var_name, var in check.variables.items():
            names.append(
                f"{var_name}[0..{var.length}-1]" if isinstance(var, IntListVar) else var_name
            )
        return [
            f'# a Python expression in {", ".join(names)}, in quotes, e.g. "1/n[0]"',
            f'# {name} = ""',
        ]
    return ["# a number (213504 or 213_504)", f"# {name} = 0"]
