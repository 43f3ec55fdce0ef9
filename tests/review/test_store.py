"""reviews.toml read and written: stable, round-trips, and a bad block costs only itself."""

from __future__ import annotations

import tomllib
from pathlib import Path

from grader.review.store import (
    Decision,
    Override,
    Regrade,
    Reviews,
    load_reviews,
    parse_reviews,
    render_reviews,
    save_reviews,
    toml_string,
)

GOOD = """\
version = 1

[[decision]]
student = "bob"
problem = "p3"
check = "derivation"
points = 4
comment = "sign slip in step 2"
by = "ta1"
at = "2026-12-04T05:00:00+00:00"
fingerprint = "sha256:aa"

[[decision]]
student = "alice"
problem = "p3"
check = "derivation"
result = "pass"
fingerprint = "sha256:bb"
"""


def test_entries_are_read_with_their_lines(tmp_path: Path) -> None:
    reviews = parse_reviews(GOOD, tmp_path / "reviews.toml")
    assert reviews.errors == []
    assert [d.student for d in reviews.decisions] == ["bob", "alice"]
    assert [reviews.line_of(d) for d in reviews.decisions] == [3, 13]
    assert reviews.decisions[0].points == 4 and reviews.decisions[1].result == "pass"


def test_a_malformed_block_is_an_error_at_its_line_and_the_others_are_kept(
    tmp_path: Path,
) -> None:
    text = GOOD.replace('check = "derivation"\npoints = 4', 'check = "derivation"\npoints = 4 4')
    text += '\n[[override]]\nstudent = "carol"\nproblem = "p1"\ncheck = "x"\npoints = 1\n'
    text += 'fingerprint = "sha256:cc"\n'  # no reason: invalid
    reviews = parse_reviews(text, tmp_path / "reviews.toml")
    assert [d.student for d in reviews.decisions] == ["alice"]
    assert reviews.overrides == []
    messages = [str(e) for e in reviews.errors]
    assert messages[0].startswith(f"{tmp_path / 'reviews.toml'}:7: not valid TOML")
    assert messages[1].startswith(f"{tmp_path / 'reviews.toml'}:20: [[override]] reason")
    # saving keeps what could not be read, exactly as typed
    saved = render_reviews(reviews)
    assert "points = 4 4" in saved and 'student = "carol"' in saved


def test_a_decision_needs_exactly_one_verdict(tmp_path: Path) -> None:
    text = GOOD.replace('result = "pass"', 'result = "pass"\npoints = 2')
    reviews = parse_reviews(text, tmp_path / "r.toml")
    assert len(reviews.decisions) == 1
    assert "exactly one of `points` or `result`" in str(reviews.errors[0])
    assert reviews.errors[0].line == 13


def test_unknown_kinds_and_stray_tables_are_errors(tmp_path: Path) -> None:
    text = GOOD + '\n[[decisions]]\nstudent = "x"\n\n[[regrade]]\nstudent = "a"\n[extra]\n'
    reviews = parse_reviews(text, tmp_path / "r.toml")
    assert len(reviews.decisions) == 2
    assert "is not an entry kind" in str(reviews.errors[0])
    assert "outside the entry" in str(reviews.errors[1])


def test_written_files_round_trip_in_a_stable_order(tmp_path: Path) -> None:
    reviews = Reviews(path=tmp_path / "reviews.toml")
    reviews.add(
        Override(
            student="zed",
            problem="p1",
            check="a",
            points=1.5,
            reason='said "x"\nthen\\',
            fingerprint="f",
        )
    )
    reviews.add(Decision(student="bob", problem="p3", check="d", points=2, fingerprint="f"))
    reviews.add(Decision(student="ann", problem="p3", check="d", result="fail", fingerprint="f"))
    reviews.add(Regrade(student="ann", problem="p3", check="d", request="please"))
    save_reviews(reviews)
    text = (tmp_path / "reviews.toml").read_text()
    assert text.index('"ann"') < text.index('"bob"') < text.index('"zed"')
    again = load_reviews(tmp_path)
    assert again.errors == []
    assert again.overrides[0].reason == 'said "x"\nthen\\'
    assert [d.student for d in again.decisions] == ["ann", "bob"]
    save_reviews(again)
    assert (tmp_path / "reviews.toml").read_text() == text  # byte-stable


def test_a_decision_made_again_replaces_the_first(tmp_path: Path) -> None:
    reviews = Reviews(path=tmp_path / "reviews.toml")
    reviews.add(Decision(student="a", problem="p", check="c", points=1, fingerprint="f"))
    reviews.add(Decision(student="a", problem="p", check="c", points=2, fingerprint="f"))
    assert [d.points for d in reviews.decisions] == [2]


def test_control_characters_survive_a_toml_string() -> None:
    text = "a\x00b\x7fc\u2028d"
    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text


def test_a_file_that_is_not_utf8_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "reviews.toml").write_bytes(b"version = 1\n# \xff\n")
    reviews = load_reviews(tmp_path)
    assert [(e.line, e.message) for e in reviews.errors] == [(2, "not UTF-8 text")]
