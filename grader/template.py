"""A blank, commented answer sheet generated from the rubric, so students write to the contract.

Each check kind says what it asks for on the sheet (`template_entry` on its rubric model); this
module only lays the blocks out, top-level keys first, then one TOML table per section.
"""

from __future__ import annotations

from grader.rubric import Rubric, answer_key


def answer_template(rubric: Rubric, course: str | None = None) -> str:
    lines = [
        f"# Answer sheet for {rubric.title}. Fill in the keys, remove the leading '# '.",
        "# Check it yourself with: grade <your folder>",
        f'homework = "{rubric.homework}"',
        *([f'course = "{course}"'] if course else []),
    ]
    sections: dict[str, list[str]] = {}
    top_level: list[str] = []
    for problem in rubric.problems:
        for check in problem.checks:
            entry = check.template_entry(problem.id, answer_key(problem, check))
            if entry is None:
                continue
            section, block = entry
            (top_level if not section else sections.setdefault(section, [])).extend(block)
    lines += top_level
    for section, block in sections.items():
        lines += ["", f"[{section}]", *block]
    return "\n".join(lines) + "\n"
