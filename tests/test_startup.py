"""Start-up stays light: which heavy modules load is checked, not how long it takes."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "pydantic", "sklearn", "chromadb", "onnxruntime", "langchain_core", "pandas")


def _loaded(code: str) -> set[str]:
    """Top-level packages imported by `code` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.splitlines()[-1].split())


@pytest.mark.parametrize(
    "code",
    [
        "import motai",
        "import motai.cli",
        "from motai.cli import cli\ntry:\n    cli(['--help'])\nexcept SystemExit:\n    pass",
        "import motai.evals",
    ],
)
def test_help_and_import_load_nothing_heavy(code: str) -> None:
    assert not _loaded(code) & set(HEAVY)


def test_lazy_names_still_resolve() -> None:
    import motai
    import motai.evals

    assert motai.Tagger.__module__ == "motai.tagger"
    assert motai.evals.run_eval.__module__ == "motai.evals.run"
    assert set(motai.__all__) <= set(dir(motai))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = motai.Nope  # type: ignore[attr-defined]


def test_tagging_locally_loads_neither_sklearn_nor_chromadb() -> None:
    loaded = _loaded("from motai import Tagger\nTagger().tag('It arrived late.')")
    assert {"numpy", "onnxruntime"} <= loaded  # the probe does see what loads
    assert not loaded & {"sklearn", "chromadb", "langchain_core", "pandas"}
