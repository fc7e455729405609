"""Which language a text is in, so non-English text is flagged instead of silently mis-tagged.

The local model is trained on English. `detect_language` answers "en" at once for text
that is plainly English (common English words, or a few ASCII words), and asks
py3langid (a langid.py model shipped in its wheel, nothing downloaded) only otherwise:
loading its model takes seconds, which an English feed should not pay.
"""

from __future__ import annotations

import re
import threading
from typing import Any

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Common English words that are not also common words of German, French, Spanish, Italian,
# Portuguese or Dutch ("an", "am", "in", "is", "was", "will", "me", "no", "so", "he" are).
_ENGLISH_WORDS = (
    "the and or but my we our you your it its are were be been this that to of on for "
    "with at from by not very just have has had do did does can could would should they "
    "them their she his what when how why which who all get got if than too out up there "
    "here about after before again still never"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
_identifier: Any = None
_lock = threading.Lock()


def _langid() -> Any:
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language ("en", "fr", "ja"...), None when it has no words."""
    words = _WORD.findall(text.lower())
    if not words:
        return None
    ascii_words = sum(w.isascii() for w in words)
    english = sum(w in _ENGLISH for w in words)
    if ascii_words == len(words) and (english / len(words) >= 0.15 or len(words) <= 3):
        return "en"
    lang, prob = _langid().classify(text)
    if prob < 0.5 and ascii_words == len(words):
        return "en"  # too little evidence for anything else
    return str(lang)
