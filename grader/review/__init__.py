"""Course staff's reviews of a class, as data: `reviews.toml` read and written (`store`), and
applied to every graded batch (`apply`), so a TA's points count in every total and export and
survive every re-grade. `docs/reviews.md` documents the file."""

from grader.review.apply import ReviewedFolder, apply_reviews, fingerprint, reviewed_folders
from grader.review.store import (
    REVIEWS_FILE,
    Decision,
    Override,
    Regrade,
    ReviewError,
    Reviews,
    load_reviews,
    parse_reviews,
    render_reviews,
    reviews_path,
    save_reviews,
)

__all__ = [
    "REVIEWS_FILE",
    "Decision",
    "Override",
    "Regrade",
    "ReviewError",
    "ReviewedFolder",
    "Reviews",
    "apply_reviews",
    "fingerprint",
    "load_reviews",
    "parse_reviews",
    "render_reviews",
    "reviewed_folders",
    "reviews_path",
    "save_reviews",
]
