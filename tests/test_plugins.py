"""Plugins: a real package, installed by pip, adds a classifier, a taxonomy and an embedder
through entry points, without touching motai."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import motai.classifiers as classifiers
from motai.embeddings import get_embedder
from motai.errors import MotaiError
from motai.tagger import Tagger
from motai.taxonomy import load_taxonomy

PLUGIN = Path(__file__).parent / "plugins" / "motai-keyword"
REVIEWS = Path(__file__).parent.parent / "examples" / "reviews.csv"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin installed by pip into a folder of its own (what `pip install` does)."""
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
    )
    assert (site / "motai_keyword-0.1.0.dist-info" / "entry_points.txt").is_file()
    return site


@pytest.fixture()
def installed(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process sees the plugin; the registry looks for plugins afresh."""
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.setattr(classifiers, "_registry", {})
    monkeypatch.setattr(classifiers, "_loaded", False)
    return plugin_site


def _env(site: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_plugin_classifier_tags_with_its_own_taxonomy(installed: Path) -> None:
    tagger = Tagger("keyword:strict")
    assert tagger.taxonomy.ref == "returns-desk@1"  # the plugin's, not the default
    result = tagger.tag("Lovely shop. My parcel is still not here.")
    assert (result.stage, result.valence, result.provider) == ("AMOT", "pain", "keyword")
    assert result.model == "keyword:strict"
    assert [m.evidence for m in result.moments] == ["My parcel is still not here."]
    assert "keyword" in classifiers.classifier_prefixes()


def test_plugin_taxonomy_and_embedder_resolve_by_name(installed: Path) -> None:
    assert load_taxonomy("returns-desk").labels == ["AMOT", "SMOT", "NONE"]
    assert get_embedder("hashing:32").dim == 32


def test_without_the_plugin_its_ids_are_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifiers, "_registry", {})
    monkeypatch.setattr(classifiers, "_loaded", False)
    with pytest.raises(MotaiError, match="unknown provider 'keyword'"):
        Tagger("keyword:strict")


def test_builtin_prefixes_win_over_plugins(installed: Path) -> None:
    classifiers.register("local", lambda name, options: None)  # type: ignore[arg-type,return-value]
    assert Tagger("local").tag("It arrived late.").provider == "local"


def test_cli_tags_and_shows_through_the_plugin(installed: Path, tmp_path: Path) -> None:
    out = tmp_path / "tagged.jsonl"
    env = _env(installed)
    motai = [sys.executable, "-m", "motai"]
    run = subprocess.run(
        [*motai, "tag", str(REVIEWS), "--model", "keyword:cli", "-o", str(out), "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 12 and {r["provider"] for r in rows} == {"keyword"}
    assert {r["taxonomy_version"] for r in rows} == {"returns-desk@1"}
    shown = subprocess.run(
        [*motai, "taxonomy", "show", "--taxonomy", "returns-desk"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Returns desk" in shown.stdout
