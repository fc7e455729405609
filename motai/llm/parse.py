"""Parse and validate a model's reply. Pure functions: text in, a valid reply or an error.

A reply is valid when it is one JSON object whose stage and valence are labels of the
taxonomy, whose confidence is a number in [0, 1], and whose every moment quotes the text.
Evidence offsets are computed here, never taken from the model: an exact match first,
else a match ignoring case and runs of whitespace (and straight/curly quotes), mapped
back to the exact original substring. Anything else raises `InvalidReply`, whose message
is written for the model (it is sent back in the one repair request). Nothing is ever
mapped to a guessed label.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from motai.taxonomy import Taxonomy

# Bump when validation changes what a reply becomes (a new rule, a fixed bug): it is part
# of the LLM cache key, so cached rows are parsed again instead of keeping the old outcome.
# 2: a transcript's evidence must be the customer's words.
PARSER_VERSION = 2

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_QUOTES = "\"'“”‘’«»`"
_EQUIV = {
    "'": "['‘’`]",
    "‘": "['‘’`]",
    "’": "['‘’`]",
    '"': '["“”]',
    "“": '["“”]',
    "”": '["“”]',
    "-": "[-‐‑–—]",
    "–": "[-‐‑–—]",
    "—": "[-‐‑–—]",
}


class InvalidReply(ValueError):
    """The reply cannot be used. The message explains why, for the model to fix it."""


@dataclass(frozen=True)
class ParsedMoment:
    stage: str
    valence: str
    evidence: str
    start: int
    end: int


@dataclass(frozen=True)
class ParsedReply:
    stage: str
    valence: str
    confidence: float
    moments: list[ParsedMoment] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "valence": self.valence,
            "confidence": self.confidence,
            "moments": [m.__dict__ for m in self.moments],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParsedReply:
        return cls(
            stage=d["stage"],
            valence=d["valence"],
            confidence=float(d["confidence"]),
            moments=[ParsedMoment(**m) for m in d.get("moments", [])],
        )


def _balanced_object(s: str, start: int) -> str | None:
    """The JSON object that opens at s[start] ('{'), or None when it never closes."""
    depth, in_str, esc = 0, False, False
    for i in range(start, len(s)):
        c = s[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return s[start : i + 1]
    return None


def extract_json(raw: str | None) -> dict[str, Any]:
    """The JSON object in a reply: bare, fenced (```json ... ```) or inside prose."""
    if raw is None or not raw.strip():
        raise InvalidReply("the reply was empty; answer with one JSON object")
    text = raw.strip()
    candidates = [text, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for cand in candidates:
        try:
            value = json.loads(cand)
        except json.JSONDecodeError:
            continue
        except RecursionError:
            raise InvalidReply("the reply's JSON is nested too deeply") from None
        if isinstance(value, dict):
            return value
        raise InvalidReply(f"the reply is a JSON {type(value).__name__}, not an object")
    pos = text.find("{")
    while pos != -1:
        obj = _balanced_object(text, pos)
        if obj is None:
            raise InvalidReply(
                "the reply holds a JSON object that is cut off (truncated or unbalanced "
                "braces); answer with one complete JSON object"
            )
        try:
            value = json.loads(obj)
            if isinstance(value, dict):
                return value
        except json.JSONDecodeError:
            pass
        except RecursionError:
            raise InvalidReply("the reply's JSON is nested too deeply") from None
        pos = text.find("{", pos + 1)
    raise InvalidReply("the reply holds no JSON object; answer with one JSON object only")


def _loose_pattern(quote: str) -> re.Pattern[str] | None:
    words = quote.split()
    if not words:
        return None
    parts = ["".join(_EQUIV.get(c, re.escape(c)) for c in w) for w in words]
    return re.compile(r"\s+".join(parts), re.IGNORECASE)


def find_evidence(text: str, quote: str) -> tuple[int, int] | None:
    """(start, end) of `quote` in `text`: exact, else ignoring case, whitespace runs and
    quote styles; also with the quote's own surrounding quotation marks removed."""
    if not isinstance(quote, str) or not quote.strip():
        return None
    tries = [quote, quote.strip()]
    stripped = quote.strip().strip(_QUOTES).strip()
    if stripped and stripped != quote.strip():
        tries.append(stripped)
    for q in tries:
        i = text.find(q)
        if i != -1 and q:
            return i, i + len(q)
    for q in tries[1:] or tries:
        pat = _loose_pattern(q)
        m = pat.search(text) if pat else None
        if m:
            return m.start(), m.end()
    return None


def _in_regions(
    text: str, quote: str, span: tuple[int, int], regions: list[tuple[int, int]]
) -> tuple[int, int] | None:
    """`span` if it lies in a region, else the quote found inside one (an agent may repeat
    the customer's words first), else None."""
    if any(a <= span[0] and span[1] <= b for a, b in regions):
        return span
    for a, b in regions:
        found = find_evidence(text[a:b], quote)
        if found is not None:
            return a + found[0], a + found[1]
    return None


def _label(value: object, allowed: list[str], what: str, problems: list[str]) -> str | None:
    if not isinstance(value, str):
        problems.append(f"{what} must be a string, one of {', '.join(allowed)}; got {value!r}")
        return None
    if value not in allowed:
        problems.append(f"{what} {value!r} is not a label; use one of {', '.join(allowed)}")
        return None
    return value


def validate_reply(
    data: Any, text: str, taxonomy: Taxonomy, regions: list[tuple[int, int]] | None = None
) -> ParsedReply:
    """Check a decoded reply against the taxonomy and the text; every problem is listed.

    `regions` (a transcript's customer turns, `segment.customer_regions`): evidence must
    lie in one of them, so the agent's words are never a customer's moment.
    """
    if not isinstance(data, dict):
        raise InvalidReply(f"the reply must be a JSON object, not {type(data).__name__}")
    problems: list[str] = []
    extra = sorted(set(data) - {"stage", "valence", "confidence", "moments"})
    if extra:
        problems.append(f"unknown key(s) {', '.join(map(repr, extra))}")
    stage = _label(data.get("stage"), taxonomy.labels, "stage", problems)
    valence = _label(data.get("valence"), taxonomy.valence_ids, "valence", problems)
    conf = data.get("confidence")
    if isinstance(conf, bool) or not isinstance(conf, int | float):
        problems.append(f"confidence must be a number from 0 to 1; got {conf!r}")
        conf = None
    elif not 0.0 <= float(conf) <= 1.0:
        problems.append(f"confidence must be from 0 to 1; got {conf!r}")
        conf = None
    raw_moments = data.get("moments", [])
    if raw_moments is None:
        raw_moments = []
    if not isinstance(raw_moments, list):
        problems.append(f"moments must be a list; got {type(raw_moments).__name__}")
        raw_moments = []
    moments: list[ParsedMoment] = []
    for i, m in enumerate(raw_moments):
        if not isinstance(m, dict):
            problems.append(f"moments[{i}] must be an object with stage, valence, evidence")
            continue
        ms = _label(m.get("stage"), taxonomy.stage_ids, f"moments[{i}].stage", problems)
        mv = _label(m.get("valence"), taxonomy.valence_ids, f"moments[{i}].valence", problems)
        ev = m.get("evidence")
        if not isinstance(ev, str) or not ev.strip():
            problems.append(f"moments[{i}].evidence must be a non-empty quote of the text")
            continue
        span = find_evidence(text, ev)
        if span is None:
            problems.append(
                f"moments[{i}].evidence {ev!r} is not in the customer text; quote it exactly"
            )
            continue
        if regions is not None:
            span = _in_regions(text, ev, span, regions)
        if span is None:
            problems.append(
                f"moments[{i}].evidence {ev!r} is not the customer's words; quote a "
                "Customer: line (no customer line: stage NONE, no moments)"
            )
            continue
        if ms and mv:
            s, e = span
            moments.append(ParsedMoment(ms, mv, text[s:e], s, e))
    if stage is not None and not problems:
        if stage == taxonomy.none.id and moments:
            problems.append(f"stage {stage} means no moment, so moments must be empty")
        elif stage != taxonomy.none.id and not any(m.stage == stage for m in moments):
            problems.append(
                f"the primary stage {stage} must be one of the moments, with its evidence quote"
            )
    if problems:
        raise InvalidReply("; ".join(problems))
    assert stage is not None and valence is not None and conf is not None
    moments.sort(key=lambda m: (m.start, m.end, m.stage))
    return ParsedReply(stage=stage, valence=valence, confidence=float(conf), moments=moments)


def parse_reply(
    raw: str | dict[str, Any] | None,
    text: str,
    taxonomy: Taxonomy,
    regions: list[tuple[int, int]] | None = None,
) -> ParsedReply:
    """Decode (when a string) and validate a reply (`regions`: see `validate_reply`)."""
    data = raw if isinstance(raw, dict) else extract_json(raw)
    return validate_reply(data, text, taxonomy, regions)


def stage_logprob_confidence(tokens: list[tuple[str, float]] | None, stage: str) -> float | None:
    """Probability of the stage label from token logprobs of a JSON reply, else None.

    The tokens are concatenated; the value of the first `"stage": "..."` is located and
    the logprobs of the tokens overlapping it are summed: exp(sum) is P(stage).
    """
    if not tokens:
        return None
    import math

    text, starts = "", []
    for tok, _lp in tokens:
        starts.append(len(text))
        text += tok
    m = re.search(r'"stage"\s*:\s*"([^"]*)"', text)
    if not m or m.group(1) != stage:
        return None
    a, b = m.span(1)
    total = 0.0
    for (tok, lp), s in zip(tokens, starts, strict=True):
        if s < b and s + len(tok) > a:
            total += lp
    return max(0.0, min(1.0, math.exp(total)))
