"""Split a text into the spans a moment can be evidenced by: sentences, then clauses.

Offsets always index the original text, so evidence is an exact quote. Transcripts keep
only the customer's turns (the agent's words are not the customer's moments), and spoken
calls with no punctuation are cut into short word windows instead of sentences.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from motai.io.transcripts import CUSTOMER_LABELS, SPEAKER_TURN

# A sentence ends at . ! ? (runs of them, with closing quotes) followed by space, or a newline,
# unless the "." closes an abbreviation (see _ends_sentence).
_SENTENCE_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)|\n+")
# Abbreviations a sentence never ends at, in practice ("Dr. Lee", "e.g. the app").
_NEVER_LAST = frozenset(
    ["dr", "mr", "mrs", "ms", "prof", "st", "mt", "sr", "jr", "e.g", "i.e", "cf", "vs", "approx"]
)
# Abbreviations that end a sentence only before a capital ("etc. The" but "etc. all", "Jan. 5").
# fmt: off
_MAYBE_LAST = frozenset([
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "no", "nr", "etc", "inc", "ltd", "co", "dept", "est", "ca",
])
# fmt: on
# Initials and initialisms: "U.S.", "p.m.", "J." (same rule as _MAYBE_LAST).
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")
_LAST_WORD = re.compile(r"[\w.]+$")
# Clause breaks inside a long sentence.
_CLAUSE = re.compile(
    r"[;:]\s+|,\s+(?=(?:but|and|so|because|although|though|however|yet)\b)|\s+-+\s+"
    r"|\s+(?=but\b)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\S+")

NO_MOMENT = ""
MAX_WORDS = 28
WINDOW_WORDS = 14
MIN_CHARS = 3


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str


def customer_regions(text: str, kind: str | None) -> list[tuple[int, int]]:
    """The (start, end) regions a moment may come from: the customer's turns, or all of it.

    A transcript with no customer turn has none: the agent's words are never evidence.
    """
    marks = list(SPEAKER_TURN.finditer(text))
    if not marks or (kind != "transcript" and len(marks) < 2):
        return [(0, len(text))]
    regions = []
    if marks[0].start() > 0 and text[: marks[0].start()].strip():
        regions.append((0, marks[0].start()))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        if m.group("speaker").lower() in CUSTOMER_LABELS:
            regions.append((m.end(), end))
    return regions


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and (text[start].isspace() or text[start] in ",;:-"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end - start < MIN_CHARS or not any(c.isalnum() for c in text[start:end]):
        return None
    return Span(start, end, text[start:end])


def _ends_sentence(text: str, m: re.Match[str]) -> bool:
    """False when a lone "." closes an abbreviation rather than a sentence."""
    if m.group() != ".":
        return True
    word = _LAST_WORD.search(text, max(0, m.start() - 12), m.start() + 1)
    if word is None:
        return True
    token = word.group().lower()
    if token[:-1] in _NEVER_LAST:
        return False
    if token[:-1] in _MAYBE_LAST or _INITIALS.fullmatch(word.group()):
        after = text[m.end() :].lstrip()[:1]
        return not after or after.isupper() or not after.isalnum()
    return True


def _split(
    text: str,
    start: int,
    end: int,
    pattern: re.Pattern[str],
    keep: Callable[[str, re.Match[str]], bool] | None = None,
) -> list[tuple[int, int]]:
    """Pieces of text[start:end] cut after each match of `pattern` that `keep` accepts."""
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        if keep is not None and not keep(text, m):
            continue
        out.append((pos, m.end()))
        pos = m.end()
    out.append((pos, end))
    return out


def _windows(text: str, start: int, end: int) -> list[tuple[int, int]]:
    words = list(_WORD.finditer(text, start, end))
    if len(words) <= MAX_WORDS:
        return [(start, end)]
    step = WINDOW_WORDS
    out = []
    for i in range(0, len(words), step):
        chunk = words[i : i + step]
        if len(chunk) < 4 and out:  # fold a short tail into the window before it
            out[-1] = (out[-1][0], chunk[-1].end())
            break
        out.append((chunk[0].start(), chunk[-1].end()))
    return out


def segments(text: str, kind: str | None = None) -> list[Span]:
    """Sentences and clauses of the customer's words, each with exact offsets."""
    spans: list[Span] = []
    for r_start, r_end in customer_regions(text, kind):
        for s_start, s_end in _split(text, r_start, r_end, _SENTENCE_END, _ends_sentence):
            pieces = [(s_start, s_end)]
            if len(_WORD.findall(text, s_start, s_end)) > MAX_WORDS:
                pieces = [
                    w for c in _split(text, s_start, s_end, _CLAUSE) for w in _windows(text, *c)
                ]
            for a, b in pieces:
                span = _trim(text, a, b)
                if span:
                    spans.append(span)
    return spans


def moment_counts(items: Iterable[Any]) -> Counter[str]:
    """How many gold moments each stage has in labelled items (for `segment_label`)."""
    return Counter(m.stage for item in items for m in item.moments)


def segment_label(start: int, end: int, spans: list, counts: Mapping[str, int]) -> tuple[str, str]:
    """Stage and valence of the gold moments a segment covers ('' when none).

    When it covers moments of several stages, the stage rarest in the training data
    (`counts`, from `moment_counts`) labels it, so the rare stages keep their few examples.
    """
    hits = []
    for a, b, m in spans:
        overlap = min(b, end) - max(a, start)
        if overlap > 0 and overlap >= 0.5 * min(b - a, end - start):
            hits.append(m)
    if not hits:
        return NO_MOMENT, NO_MOMENT
    best = min(hits, key=lambda m: (counts.get(m.stage, 0), m.stage))
    return best.stage, best.valence
