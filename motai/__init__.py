"""motai: tag customer texts with their moment of truth, glory or pain, and the evidence."""

from motai.errors import InputError, MotaiError, StoreError, TaxonomyError
from motai.models import Moment, TagResult, TextItem, result_schema
from motai.tagger import Tagger
from motai.taxonomy import Taxonomy, load_taxonomy

__version__ = "0.1.0"

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
