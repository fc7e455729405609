"""The taxonomy as data: stages, valences, signals and examples, loaded from YAML.

A taxonomy file is the single source of what labels exist; the classifiers, the store and
the readers of labelled sets all take their labels from it, so a user's own file (a B2B
variant with LMOT, say) works everywhere the default does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from motai.errors import TaxonomyError, validation_message

DEFAULT_TAXONOMY = "moments-of-truth"
_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"


class Valence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    definition: str


class Stage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    name: str
    order: int
    definition: str
    # How much this stage's evidence counts when choosing the primary moment (guideline:
    # recommending is rarely the point of a review, so UMOT counts less).
    primary_weight: float = Field(1.0, gt=0)
    signals: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    examples: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("cues")
    @classmethod
    def _cues_compile(cls, cues: list[str]) -> list[str]:
        for i, cue in enumerate(cues):
            try:
                re.compile(cue)
            except re.error as exc:
                raise ValueError(f"cue {i} is not a valid regular expression: {exc}") from exc
        return cues

    @cached_property
    def cue_patterns(self) -> list[re.Pattern[str]]:
        return [re.compile(c, re.IGNORECASE) for c in self.cues]


class NoneLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field("NONE", pattern=_ID)
    definition: str = "No customer experience in the text."
    examples: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    """A validated taxonomy. Stages are kept in journey order."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_ID)
    version: str
    name: str
    description: str = ""
    none: NoneLabel = Field(default_factory=NoneLabel)
    valences: list[Valence] = Field(min_length=1)
    stages: list[Stage] = Field(min_length=1)
    # Labels of another taxonomy mapped onto this one's (e.g. UMOT: LMOT): training data
    # labelled with them loads (`motai train`), and a model trained on them tags with this
    # taxonomy's labels.
    label_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_str(cls, v: object) -> object:
        return str(v) if isinstance(v, int | float) else v

    @field_validator("stages")
    @classmethod
    def _stages_unique(cls, stages: list[Stage]) -> list[Stage]:
        ids = [s.id for s in stages]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate stage id {sorted(dup)[0]!r}")
        return sorted(stages, key=lambda s: s.order)

    def model_post_init(self, _: object) -> None:
        valences = {v.id for v in self.valences}
        for stage in self.stages:
            if stage.id == self.none.id:
                raise TaxonomyError(f"stages: {stage.id!r} is reserved for texts with no moment")
            for key in stage.examples:
                if key not in valences:
                    raise TaxonomyError(
                        f"stages.{stage.id}.examples: unknown valence {key!r} "
                        f"(valences are {', '.join(sorted(valences))})"
                    )
        for src, dst in self.label_map.items():
            if dst not in self.labels:
                raise TaxonomyError(f"label_map.{src}: {dst!r} is not a stage of this taxonomy")

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    @property
    def labels(self) -> list[str]:
        """Stage ids in journey order, then the no-moment label."""
        return [*self.stage_ids, self.none.id]

    @property
    def valence_ids(self) -> list[str]:
        return [v.id for v in self.valences]

    @property
    def none_valence(self) -> str:
        """The valence of a NONE text and of a plain fact: neutral, if the taxonomy has it."""
        return "neutral" if "neutral" in self.valence_ids else self.valence_ids[0]

    @property
    def ref(self) -> str:
        """`id@version`, recorded in every result."""
        return f"{self.id}@{self.version}"

    @cached_property
    def hash(self) -> str:
        """Content hash: a changed file rebuilds the index and misses the cache."""
        dump = self.model_dump(exclude=None if self.label_map else {"label_map"})
        blob = json.dumps(dump, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def mapped(self, label: str) -> str:
        """A label in this taxonomy's terms (`label_map` applied)."""
        return self.label_map.get(label, label)

    def stage(self, stage_id: str) -> Stage:
        for s in self.stages:
            if s.id == stage_id:
                return s
        raise KeyError(stage_id)


def _format_validation(path: str, exc: ValidationError, raw: dict) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    # Show stage ids rather than list indexes: "stages.AMOT.definition".
    if len(loc) >= 2 and loc[0] == "stages" and isinstance(loc[1], int):
        with contextlib.suppress(KeyError, IndexError, AttributeError, TypeError):
            loc[1] = raw["stages"][loc[1]].get("id", loc[1])
    return validation_message(path, exc, loc)


def parse_taxonomy(raw: object, path: str = "<taxonomy>") -> Taxonomy:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{path}: expected a mapping at the top level")
    try:
        return Taxonomy.model_validate(raw)
    except ValidationError as exc:
        raise TaxonomyError(_format_validation(path, exc, raw)) from None
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from None


def load_taxonomy(source: str | Path | None = None) -> Taxonomy:
    """Load a taxonomy by file path, or by name: bundled (default: moments-of-truth) or
    registered by a plugin (entry point group `motai.taxonomies`)."""
    name = str(source) if source is not None else DEFAULT_TAXONOMY
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise TaxonomyError(f"{path}: no such taxonomy file")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TaxonomyError(f"{path}: cannot read: {exc}") from None
        label = str(path)
    else:
        bundled = resources.files("motai") / "taxonomies" / f"{name}.v1.yaml"
        if not bundled.is_file():
            from motai.classifiers import plugin_taxonomy

            plugged = plugin_taxonomy(name)  # a taxonomy a plugin package registers
            if plugged is not None:
                return plugged
            raise TaxonomyError(
                f"{name}: no bundled taxonomy of that name and no such file "
                f"(bundled: {', '.join(bundled_taxonomies())})"
            )
        text, label = bundled.read_text(encoding="utf-8"), name
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{label}: not valid YAML: {exc}".replace("\n", " ")) from None
    except RecursionError:  # PyYAML recurses per nesting level
        raise TaxonomyError(f"{label}: not valid YAML: nested too deeply") from None
    return parse_taxonomy(raw, label)


def bundled_taxonomies() -> list[str]:
    folder = resources.files("motai") / "taxonomies"
    return sorted(p.name.split(".v")[0] for p in folder.iterdir() if p.name.endswith(".yaml"))
