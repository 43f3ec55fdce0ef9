"""Stage 2, ingest: read a submission folder into a `Submission`, parsing only.

Nothing here runs student code or knows the rubric or the sandbox: answer sheets (TOML), Python
files (`ast`), notebooks, writeups (sections, code blocks, class and script assembly, prose
numbers and choices), LaTeX sources laid out as writeups (`tex`), PDFs laid out from glyph
positions in a bounded child process (`pdf`), LaTeX formulas and the safe expression evaluator.
What a judge needs to read from a document is passed in by the judge.
"""
