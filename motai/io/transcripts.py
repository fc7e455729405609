"""Support transcripts: speaker labels and chat turns turned into one `Customer:/Agent:` text.

Every transcript the classifiers see has the same shape, one `Speaker: words` line per turn,
whether it came from a `.txt` call log, a CSV cell or a JSONL `turns` list, so the prompts and
the evidence offsets work the same for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Speaker labels of a transcript line: the customer's, and everyone else's (the agent's).
CUSTOMER_LABELS = frozenset({"customer", "caller", "client", "user"})
AGENT_LABELS = frozenset({"agent", "support", "rep", "representative", "assistant", "operator"})

# The one speaker-turn rule, shared by kind detection (`count_speaker_lines`) and by the
# segmenter (only the customer's turns are tagged): a line that opens with a speaker label,
# optionally after a `[00:12]` style timestamp. `speaker` is the label, `end()` where the
# turn's words start.
SPEAKER_TURN = re.compile(
    r"^[ \t]*(?:\[[^\]\n]{0,20}\][ \t]*)?(?P<speaker>"
    + "|".join(sorted(CUSTOMER_LABELS | AGENT_LABELS, key=len, reverse=True))
    + r")[ \t]*:[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)

CUSTOMER_ROLES = frozenset({"user", "customer", "caller", "client", "human"})
AGENT_ROLES = frozenset({"assistant", "agent", "support", "rep", "bot", "ai"})
_SKIP_ROLES = frozenset({"system", "tool", "function"})


class TurnError(ValueError):
    """A `turns` list entry that cannot become a line; the reader reports it on the row."""


def count_speaker_lines(text: str) -> int:
    """How many lines open with a speaker label: the transcript signal of `detect_kind`."""
    return sum(1 for _ in SPEAKER_TURN.finditer(text))


def looks_like_transcript(lines: Sequence[str]) -> bool:
    """Whether the head of a .txt file is one conversation rather than one text per line.

    Needs two labelled lines and at least half of the non-empty lines labelled, so a file of
    reviews where one happens to start with `User:` stays a file of reviews.
    """
    nonempty = [line for line in lines if line.strip()]
    labelled = sum(1 for line in nonempty if SPEAKER_TURN.match(line))
    return labelled >= 2 and labelled * 2 >= len(nonempty)


def speaker_name(role: str) -> str:
    """Map a chat role (`user`, `assistant`, ...) to the `Customer`/`Agent` label."""
    key = role.strip().lower()
    if key in CUSTOMER_ROLES:
        return "Customer"
    if key in AGENT_ROLES:
        return "Agent"
    return role.strip().title() or "Unknown"


def _turn_text(value: object) -> str | None:
    """Text of a turn: a string, or OpenAI-style content parts `[{type: text, text}]`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p.get("text") for p in value if isinstance(p, dict)]
        return " ".join(p for p in parts if isinstance(p, str))
    return None


def turns_to_text(turns: Iterable[object]) -> str:
    """Render `[{speaker|role, text|content}]` as `Customer: ...\\nAgent: ...` lines.

    System and tool turns are dropped (they are not the customer's experience); empty turns
    are skipped. Raises TurnError naming the turn when one has no usable speaker or text.
    """
    lines: list[str] = []
    for n, turn in enumerate(turns, 1):
        if not isinstance(turn, dict):
            raise TurnError(f"turn {n} is not an object")
        role = turn.get("speaker", turn.get("role"))
        if not isinstance(role, str):
            raise TurnError(f"turn {n} has no 'speaker' or 'role'")
        if role.strip().lower() in _SKIP_ROLES:
            continue
        text = _turn_text(turn.get("text", turn.get("content")))
        if text is None:
            raise TurnError(f"turn {n} has no 'text' or 'content'")
        text = " ".join(text.split())
        if text:
            lines.append(f"{speaker_name(role)}: {text}")
    return "\n".join(lines)
