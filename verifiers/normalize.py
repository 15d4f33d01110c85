"""Text normalisation for screening untrusted answers: what a reader sees, not what the bytes say.

A policy that wants a judge's reward can hide one word behind another: fullwidth or
mathematical-bold letters, Cyrillic look-alikes, zero-width or soft-hyphen characters inside a
word, bidi controls, combining marks piled on letters. Two views are built here:

- `normalize_text`: the text the judge is shown and the screen reads. Unicode NFKC (fullwidth
  forms, mathematical alphanumerics, ligatures), lone surrogates replaced, control, format and
  default-ignorable characters removed, curly quotes folded, every kind of space and line break
  made plain. Scripts are kept as they are, so a real answer in Russian stays Russian.
- `match_key`: a key for comparing words, never shown to anyone. Confusable characters are
  mapped to one prototype (Unicode's confusables data, UTS #39, as shipped by the
  `confusable-homoglyphs` package), combining marks dropped, case folded, the ASCII
  look-alikes l/I/1 and O/0 merged and leetspeak digits read as letters. "Тhought" with a
  Cyrillic Т, "C0rrect" and "Gr4de" get the keys of "thought", "correct" and "grade".
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from importlib import resources

__all__ = ["UNSPACED_CLASS", "is_unspaced_script", "match_key", "normalize_text", "strip_marks"]

# Default-ignorable code points that are not of category Cf (those are removed by category):
# combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
# selectors, variation selectors. All render as nothing.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF),
)
_QUOTES = {
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u2035\u02bc\u02b9\u02bb\u02bd\u00b4\uff07"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u2036\u301d\u301e\u301f\uff02"), '"'),
    **dict.fromkeys(map(ord, "\u2028\u2029\u0085\x0b\x0c"), "\n"),
    0x2800: " ",  # braille pattern blank: renders as a space
}


@cache
def _invisible() -> re.Pattern[str]:
    """Everything a reader cannot see: Cf, Cc (but tab and newline), surrogates, ignorables."""
    points = [c for c in range(0x110000) if unicodedata.category(chr(c)) in ("Cf", "Cs")]
    points += [c for c in range(0x20) if c not in (0x09, 0x0A)] + list(range(0x7F, 0xA0))
    for lo, hi in _IGNORABLE_RANGES:
        points += range(lo, hi + 1)
    points.sort()
    ranges: list[tuple[int, int]] = []
    for c in points:
        if ranges and c <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(c, ranges[-1][1]))
        else:
            ranges.append((c, c))
    body = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)
    return re.compile(f"[{body}]+")


_SURROGATE = re.compile("[\ud800-\udfff]")
_LONE_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_SPACES = re.compile(r"[^\S\n\t]+")  # any whitespace but newline and tab (indentation stays)


def normalize_text(text: str) -> str:
    """The canonical form of untrusted text: what the judge sees and the screen reads.

    Total: never raises on any `str` (lone surrogates, NUL, megabytes). Linear time, but NFKC
    can expand text up to 18 times (U+FDFA), so callers bound the input first, as the screen does.
    """
    if not isinstance(text, str):
        return ""
    # A str may hold surrogates (from surrogateescape or JSON "\\ud800"): pairs become the
    # character they encode, lone ones U+FFFD, so nothing downstream can fail to encode.
    if _SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", text)
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _invisible().sub("", text)  # before NFKC too: a ZWJ must not keep letters apart
    text = unicodedata.normalize("NFKC", text)
    text = _invisible().sub("", text)
    text = text.translate(_QUOTES)
    text = _SPACES.sub(" ", text)
    return text.strip()


# Scripts written without spaces between words: each character is a token of its own.
_UNSPACED = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x2E80, 0x2FDF), (0x3040, 0x30FF),
    (0x3100, 0x318F), (0x31A0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA960, 0xA97F),
    (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0x1100, 0x11FF), (0x20000, 0x3FFFF),
)


# The same ranges as a regex character class body, for splitting text at C speed.
UNSPACED_CLASS = "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in _UNSPACED)


def is_unspaced_script(char: str) -> bool:
    """Han, kana, Hangul, Thai, Lao, Khmer, Myanmar: word boundaries are not marked by spaces."""
    c = ord(char)
    return any(lo <= c <= hi for lo, hi in _UNSPACED)


@cache
def _marks() -> re.Pattern[str]:
    """Every combining mark (categories Mn, Mc, Me)."""
    points = [c for c in range(0x110000) if unicodedata.category(chr(c)).startswith("M")]
    ranges: list[tuple[int, int]] = []
    for c in points:
        if ranges and c == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]+")


def strip_marks(text: str) -> str:
    """The text decomposed (NFD) with its combining marks removed: "é" -> "e"."""
    return _marks().sub("", unicodedata.normalize("NFD", text))


@cache
def _prototypes() -> dict[int, str]:
    """Confusable character -> its prototype, from the Unicode confusables data.

    The packaged JSON lists each character's confusables in both directions. A source has
    exactly one entry (its prototype); a prototype lists its sources. Where both sides list
    only each other the direction is unknown, and both map to one representative: for a
    key used only for comparison, the same class is all that matters.
    """
    raw = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    strip = {0x200E: None, 0x200F: None}
    table: dict[str, list[str]] = {}
    for key, entries in raw.items():
        table.setdefault(key.translate(strip), []).extend(e["c"].translate(strip) for e in entries)
    out: dict[int, str] = {}
    for char, targets in table.items():
        if len(char) != 1 or len(targets) != 1 or not targets[0]:
            continue
        target = targets[0]
        back = table.get(target, [])
        if len(target) > 1 or len(back) > 1:
            out[ord(char)] = target
        elif char != target:
            representative = min(char, target, key=lambda c: (not c.isascii(), c))
            out[ord(char)] = representative
    # Merge the ASCII look-alikes a key should not tell apart (case is folded after this).
    out.update({ord("1"): "l", ord("I"): "l", ord("|"): "l", ord("0"): "O"})
    return out


@cache
def _small_capitals() -> dict[int, str]:
    """Latin small capitals (ʙ, ᴛ, ʜ) and kra (ĸ) -> the plain letter.

    Lowercase Cyrillic в, т, н, к have these as prototypes while their capitals map to B, T,
    H, K: folding them lets one key hold for "ВЕРДИКТ", "Вердикт" and "вердикт".
    """
    out = {0x0138: "k"}
    for c in [*range(0x0180, 0x02B0), *range(0x1D00, 0x1DC0), *range(0xA700, 0xA800), *range(0xAB30, 0xAB70)]:
        match = re.fullmatch(r"LATIN LETTER SMALL CAPITAL ([A-Z])", unicodedata.name(chr(c), ""))
        if match:
            out[c] = match.group(1).lower()
    return out


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text).translate(_prototypes())
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.category(c).startswith("M"))


# Digits written for letters ("corr3ct", "Gr4de"). Callers key words, never bare numbers: a
# token of digits only stays a number.
_LEET = str.maketrans("345789", "eastbg")


def match_key(text: str) -> str:
    """A comparison key: confusables to their prototype, marks dropped, case folded, l = i, leetspeak
    digits (0 1 3 4 5 7 8 9) read as the letters they imitate.

    Confusables are mapped before case folding (a capital Cyrillic Т looks like T, its small
    т does not look like t) and again after it. Only for matching (against a word list or the
    reference), never for display.
    """
    key = _fold(_fold(text.translate(_LEET)).casefold()).translate(_small_capitals()).casefold()
    return key.replace("l", "i")
