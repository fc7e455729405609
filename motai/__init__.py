"""motai: tag customer texts with their moment of truth, glory or pain, and the evidence.

The names below load on first use (PEP 562), so `import motai` and `motai --help` stay
fast: numpy, pydantic and the model load only when a Tagger or a result is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from motai.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "InputError": "motai.errors",
    "MotaiError": "motai.errors",
    "StoreError": "motai.errors",
    "TaxonomyError": "motai.errors",
    "Moment": "motai.models",
    "TagResult": "motai.models",
    "TextItem": "motai.models",
    "result_schema": "motai.models",
    "Tagger": "motai.tagger",
    "Taxonomy": "motai.taxonomy",
    "load_taxonomy": "motai.taxonomy",
}

__all__ = [
    "InputError",
    "Moment",
    "MotaiError",
    "StoreError",
    "TagResult",
    "Tagger",
    "Taxonomy",
    "TaxonomyError",
    "TextItem",
    "__version__",
    "load_taxonomy",
    "result_schema",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)

if TYPE_CHECKING:
    from motai.errors import InputError, MotaiError, StoreError, TaxonomyError
    from motai.models import Moment, TagResult, TextItem, result_schema
    from motai.tagger import Tagger
    from motai.taxonomy import Taxonomy, load_taxonomy
