"""Eval configs: YAML files in `evals/` naming datasets, model, taxonomy and thresholds.

    name: default
    datasets: [datasets/dev.jsonl]     # relative to this file
    model: local                       # or an LLM, with base_url and prompt
    folds: 5
    thresholds:
      min_stage_macro_f1: 0.42
      min_valence_macro_f1: 0.80
      class_floors: {SMOT: 0.85}

A bad key is reported as `FILE: key: problem`, the way taxonomy files are.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from motai.errors import MotaiError, TaxonomyError, validation_message
from motai.taxonomy import load_taxonomy


class ConfigError(MotaiError):
    """An eval config is missing, unreadable or has a bad key."""


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_stage_macro_f1: float | None = Field(None, ge=0.0, le=1.0)
    min_valence_macro_f1: float | None = Field(None, ge=0.0, le=1.0)
    class_floors: dict[str, float] = Field(default_factory=dict)

    def check(self, metrics: dict) -> list[str]:
        """Failures of a run's `metrics.json` against these thresholds (empty when fine)."""
        out = []
        for key, floor, label in (
            ("stage", self.min_stage_macro_f1, "stage macro-F1"),
            ("valence", self.min_valence_macro_f1, "valence macro-F1"),
        ):
            value = metrics[key]["macro_f1"]
            if floor is not None and value < floor:
                out.append(f"{label} {value:.4f} is under its threshold {floor:.4f}")
        per_class = metrics["stage"]["per_class"]
        for stage, floor in sorted(self.class_floors.items()):
            if stage not in per_class:
                continue  # no gold item and no prediction of that class in this set
            f1 = per_class[stage]["f1"]
            if f1 < floor:
                out.append(f"{stage} F1 {f1:.4f} is under its floor {floor:.4f}")
        return out


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    datasets: list[Path] = Field(min_length=1)
    model: str = "local"
    base_url: str | None = None
    prompt: str | None = None
    taxonomy: str | None = None
    exemplars: str | None = None
    folds: int = Field(5, ge=2)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    source: Path | None = Field(None, exclude=True)


def parse_config(raw: object, path: Path) -> EvalConfig:
    """Validate a parsed config; relative dataset, taxonomy and exemplar paths are resolved
    against the config file's folder, and class floors are checked against the taxonomy."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        cfg = EvalConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(str(path), exc)) from None
    base = path.parent
    datasets = []
    for i, d in enumerate(cfg.datasets):
        full = d if d.is_absolute() else base / d
        if not full.is_file():
            raise ConfigError(f"{path}: datasets.{i}: no such file: {full}")
        datasets.append(full)
    updates: dict[str, object] = {"datasets": datasets, "source": path}
    for key in ("taxonomy", "exemplars", "prompt"):
        value = getattr(cfg, key)
        if value and value != "bundled:dev" and Path(value).suffix in {".yaml", ".yml", ".jsonl"}:
            full = Path(value) if Path(value).is_absolute() else base / value
            if not full.is_file():
                raise ConfigError(f"{path}: {key}: no such file: {full}")
            updates[key] = str(full)
    cfg = cfg.model_copy(update=updates)
    try:
        labels = set(load_taxonomy(cfg.taxonomy).labels)
    except TaxonomyError as exc:
        raise ConfigError(f"{path}: taxonomy: {exc}") from None
    for stage, floor in cfg.thresholds.class_floors.items():
        if stage not in labels:
            raise ConfigError(
                f"{path}: thresholds.class_floors.{stage}: unknown stage "
                f"(stages are {', '.join(sorted(labels))})"
            )
        if not 0.0 <= floor <= 1.0:
            raise ConfigError(f"{path}: thresholds.class_floors.{stage}: must be within 0 and 1")
    return cfg


def load_config(path: str | Path) -> EvalConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such eval config")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    return parse_config(raw, path)
