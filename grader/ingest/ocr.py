"""Whether the text layer of a scanned page (OCR output) reads as text or as noise.

A scanned or photographed page carries the text an OCR program guessed, drawn invisibly over
the page's image (`grader.ingest.pdf` finds such pages by how they are drawn). On a typeset
page scanned back the guess is good; on handwriting it is noise: words that are not words
('vadaue', 'Cadi'), letters and symbols in random mixes ('(;r~', '|}'), numbers that are not
what the student wrote. Answers read from noise would be guesses, and a wrong verdict is the
worst bug: a page whose OCR text is noise goes to a TA whole, as a page without text does.

The score is deliberately simple and strict, since it only ever decides between reading a
scan and sending it to a TA (a typeset page is never scored: it has no page image under its
text). Measured over the page's tokens:

- shape: the share of tokens that look like a word (letters in one case pattern, with a vowel,
  no long consonant run), a number, or a name or formula of code or math (`self.fc1`,
  `W^{(1)}`, `n_{l-1}`); random symbol mixes and mixed-case fragments ('rnOdeL') do not;
- of the words of Latin letters: the share among the most frequent English words ('the',
  'of', 'is'; prose has a third or more, math-heavy typeset pages a fifth), the share of five
  letters or more (a quarter or more; OCR of strokes gives two- and three-letter fragments), and the
  share capitalised in mid-sentence in two to four letters ('Ine', 'ZL', 'Coe': a few
  percent in prose, a third or more in noise).

Calibrated on every writeup of the repository (the demo PDFs page by page, the Markdown and
LaTeX writeups and the seed texts in chunks of 50 lines), on samples modelled on what OCR makes
of handwriting (tests/ingest/test_ocr.py) and on Tesseract's own output for pages of a
handwriting stand-in (a script font, glyphs rotated and jittered; tests/data/ocr). Real text
that would read as noise: a page mostly of code or math with few words (a TA reads such a scan:
the safe side). Noise that reads as text: one Tesseract page in eight, only mildly distorted,
whose reading is then guarded as every OCR reading is (only a passing verdict stands on it). A
page is text only when every measure says so and it has enough tokens to tell (a scan with a
dozen tokens of OCR goes to a TA). Linear in the text; capped at MAX_TOKENS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_TOKENS", "OcrQuality", "ocr_quality"]

MAX_TOKENS = 5000
"""Tokens scored per page (a dense page has under a thousand)."""
MIN_TOKENS = 25
"""Fewer tokens than this on a scanned page: too little to tell text from noise."""
MIN_WORDS = 15
"""Fewer words of Latin letters than this: the common-word share cannot be told."""
MIN_SHAPE = 0.75
MIN_COMMON = 0.2
MIN_LONG = 0.2
MAX_ODD = 0.3

_COMMON_WORDS = """a about above after all also an and any are as at be because been before being
below between both but by can could did do does each for from had has have he her here his how i
if in into is it its itself just may me more most must my no not now of on once only or other our
out over own same she should since so some such than that the their them then there these they
this those through to too under until up very was we were what when where which while who whom
why will with would you your one two three first second every given let thus hence note using use
used get gives show shows equal equals per"""
_COMMON = frozenset(_COMMON_WORDS.split())
_STRIP = "\"'.,;:!?()[]{}*`‘’“”«»"
_NEUTRAL = re.compile(r"^(?:[-=+×·/<>≤≥→≈~*|:]{1,2}|\(?[a-zA-Z0-9]{1,2}[.)]|[-–—•])$")
# A word: lower case, Capitalised, UPPER case or CamelCase of at most 4 humps ('ReLU',
# 'PyTorch'), with hyphenated or elided parts. Matched in two linear steps (letters, then the
# humps counted), never by a pattern with several ways to split a run of capitals: that one took
# 40 s on a token of 400 capitals.
_LETTERS = re.compile(r"^([A-Za-z]+)(?:['’-][a-z]+)*$")
_HUMP = re.compile(r"[A-Z]+[a-z]*")
MAX_HUMPS = 4
_NUMBER = re.compile(r"^[-+−]?(?:\d+(?:[.,]\d+)*|\.\d+)(?:[eE][-+−]?\d+)?%?$")
_MATH = re.compile(r"[\d\\_^{}=.()\[\]$]")
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]{6,}", re.I)
_VOWEL = re.compile(r"[aeiouy]", re.I)


@dataclass(frozen=True)
class OcrQuality:
    """How a page's OCR text reads: `tokens` and `words` (of Latin letters) scored; the shares
    `shape` (of tokens), `common`, `long` and `odd` (of words)."""

    tokens: int
    words: int
    shape: float
    common: float
    long: float
    odd: float

    @property
    def is_text(self) -> bool:
        """Whether the text can be read as text (else it is noise, for a TA): every measure
        must say so, since reading noise is the error that costs a student points."""
        enough = self.tokens >= MIN_TOKENS and self.words >= MIN_WORDS
        return (
            enough
            and self.shape >= MIN_SHAPE
            and self.common >= MIN_COMMON
            and self.long >= MIN_LONG
            and self.odd <= MAX_ODD
        )

    def describe(self) -> str:
        return (
            f"{self.tokens} tokens: {self.shape:.0%} shaped like words, numbers or formulas; "
            f"of {self.words} words {self.common:.0%} common English words, {self.long:.0%} of "
            f"five letters or more, {self.odd:.0%} capitalised mid-sentence"
        )


def _word_shaped(token: str) -> bool:
    letters = _LETTERS.match(token)
    if letters is None:
        return False
    head = letters.group(1)
    if head[0].islower():
        return head.islower()
    return len(_HUMP.findall(head)) <= MAX_HUMPS


def _looks_like_word(token: str) -> bool:
    if not _word_shaped(token):
        return False
    if len(token) > 3 and not _VOWEL.search(token) and not token.isupper():
        return False
    return not _CONSONANTS.search(token)


def _shaped(token: str) -> bool:
    """A word, a number, a word of another script, or a name or formula of code or math (any
    token with a digit or one of `\\ _ ^ { } = . ( ) [ ] $` that is mostly letters and digits)."""
    if _looks_like_word(token) or _NUMBER.match(token):
        return True
    if token.isalpha():
        return not token.isascii()  # Latin letters in a shape no word has: 'rnOdeL', 'tHe'
    alnum = sum(c.isalnum() for c in token)
    return alnum >= 0.5 * len(token) and _MATH.search(token) is not None


def ocr_quality(text: str) -> OcrQuality:
    """How `text` (a page's OCR layer) reads; see the module's docstring."""
    scored = shaped = words = common = long = odd = 0
    after_stop = True
    for raw in text.split()[:MAX_TOKENS]:
        if _NEUTRAL.match(raw):
            continue
        token = raw.strip(_STRIP)
        scored += 1
        if token and _shaped(token):
            shaped += 1
        if token and token.isascii() and token.isalpha():
            words += 1
            common += token.lower() in _COMMON
            long += len(token) >= 5
            # 'Ine', 'ZL', 'Coe' mid-sentence: OCR's reading of strokes, not a name
            odd += not after_stop and token[0].isupper() and 2 <= len(token) <= 4
        after_stop = raw.endswith((".", "!", "?", ":"))
    return OcrQuality(
        scored,
        words,
        shaped / scored if scored else 0.0,
        common / words if words else 0.0,
        long / words if words else 0.0,
        odd / words if words else 0.0,
    )
