"""`compare` and `gate` on synthetic run folders whose predictions are written by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from motai.cli import cli
from motai.evals.compare import compare_runs, gate, render_markdown
from motai.evals.config import Thresholds
from motai.evals.metrics import compute_metrics
from motai.evals.rundir import write_predictions
from motai.labelled import LabelledItem
from motai.models import TagResult
from motai.taxonomy import Taxonomy

STAGES = ["ZMOT", "FMOT", "SMOT", "SMOT", "AMOT", "NONE"]  # SMOT the most common, as in feeds
N = 240


def _gold(n: int = N) -> list[LabelledItem]:
    return [
        LabelledItem(
            id=f"t{i:03d}",
            text=f"text number {i}",
            stage=STAGES[i % len(STAGES)],
            valence="pain" if i % 2 else "glory",
        )
        for i in range(n)
    ]


def _wrong(stage: str) -> str:
    return "SMOT" if stage != "SMOT" else "AMOT"


def _write_run(folder: Path, tax: Taxonomy, items: list[LabelledItem], right: set[int]) -> Path:
    """A run folder where exactly the items at the `right` positions get the gold stage."""
    results = [
        TagResult(
            id=it.id,
            stage=it.stage if i in right else _wrong(it.stage),
            valence=it.valence,
            confidence=0.9 if i in right else 0.4,
            provider="local",
            model="synthetic",
        )
        for i, it in enumerate(items)
    ]
    metrics = compute_metrics(items, results, tax)
    metrics |= {
        "name": folder.name,
        "cross_validated": False,
        "folds": None,
        "latency": {"mean_ms_per_item": 1.0},
        "provenance": {"model": "synthetic", "dataset_sha256": "x" * 64},
    }
    folder.mkdir(parents=True)
    write_predictions(folder / "predictions.jsonl", items, results, [0.001] * len(items))
    (folder / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return folder


@pytest.fixture()
def runs(tmp_path: Path, taxonomy: Taxonomy) -> dict[str, Path]:
    items = _gold()
    good = {i for i in range(N) if i % 10 != 0}  # 90% right
    bad = {i for i in range(N) if i % 2 == 0 and i % 10 != 0}  # about 40% right
    better = set(range(N))
    return {
        "a": _write_run(tmp_path / "a", taxonomy, items, good),
        "same": _write_run(tmp_path / "same", taxonomy, items, good),
        "worse": _write_run(tmp_path / "worse", taxonomy, items, bad),
        "better": _write_run(tmp_path / "better", taxonomy, items, better),
    }


def test_much_worse_b_fails_the_gate(runs: dict[str, Path]) -> None:
    cmp = compare_runs(runs["a"], runs["worse"])
    assert cmp.n_common == N
    assert len(cmp.fixed) == 0
    assert len(cmp.broken) == sum(1 for i in range(N) if i % 2 and i % 10 != 0)
    assert cmp.p_value < 1e-6
    assert cmp.diff_ci["high"] < 0
    failures = gate(cmp)
    assert len(failures) == 2
    assert "significantly worse" in failures[0]
    assert "McNemar" in failures[1]


def test_identical_b_passes_the_gate(runs: dict[str, Path]) -> None:
    cmp = compare_runs(runs["a"], runs["same"])
    assert cmp.broken == [] and cmp.fixed == []
    assert cmp.p_value == 1.0
    assert cmp.diff_ci == {"point": 0.0, "low": 0.0, "high": 0.0}
    assert gate(cmp) == []


def test_better_b_passes_the_gate_and_lists_fixed_items(runs: dict[str, Path]) -> None:
    cmp = compare_runs(runs["a"], runs["better"])
    assert cmp.diff_ci["low"] > 0
    assert {f.id for f in cmp.fixed} == {f"t{i:03d}" for i in range(0, N, 10)}
    assert gate(cmp) == []
    md = render_markdown(cmp, gate(cmp))
    assert "B is significantly better than A" in md
    assert "### Gate: pass" in md
    assert "### Fixed by B (24)" in md


def test_small_difference_is_not_significant(tmp_path: Path, taxonomy: Taxonomy) -> None:
    items = _gold()
    a = _write_run(tmp_path / "a", taxonomy, items, {i for i in range(N) if i % 10 != 0})
    # B breaks 2 items A got right and fixes 1: noise, not a regression.
    b_right = ({i for i in range(N) if i % 10 != 0} - {1, 2}) | {0}
    b = _write_run(tmp_path / "b", taxonomy, items, b_right)
    cmp = compare_runs(a, b)
    assert (len(cmp.broken), len(cmp.fixed)) == (2, 1)
    assert cmp.p_value == 1.0
    assert not cmp.b_worse_ci and not cmp.b_worse_mcnemar
    assert gate(cmp) == []


def test_class_floor_fails_even_when_not_significantly_worse(runs: dict[str, Path]) -> None:
    cmp = compare_runs(runs["a"], runs["same"])
    smot_f1 = cmp.metrics_b["stage"]["per_class"]["SMOT"]["f1"]
    assert gate(cmp, Thresholds(class_floors={"SMOT": smot_f1 - 0.01})) == []
    failures = gate(cmp, Thresholds(class_floors={"SMOT": smot_f1 + 0.01}))
    assert len(failures) == 1 and failures[0].startswith("SMOT F1")
    failures = gate(cmp, Thresholds(min_stage_macro_f1=0.99))
    assert len(failures) == 1 and "stage macro-F1" in failures[0]


def test_markdown_side_by_side(runs: dict[str, Path]) -> None:
    cmp = compare_runs(runs["a"], runs["worse"])
    md = render_markdown(cmp, gate(cmp))
    assert "B is significantly worse than A" in md
    assert "### Gate: FAIL" in md
    row = next(line for line in md.splitlines() if line.startswith("| stage accuracy |"))
    a_acc, b_acc = cmp.metrics_a["stage"]["accuracy"], cmp.metrics_b["stage"]["accuracy"]
    assert row == f"| stage accuracy | {a_acc:.3f} | {b_acc:.3f} | {b_acc - a_acc:+.3f} |"
    assert "### Broken by B" in md and "text number" in md


def test_only_shared_ids_are_tested(tmp_path: Path, taxonomy: Taxonomy) -> None:
    items = _gold()
    everything = set(range(N))
    a = _write_run(tmp_path / "a", taxonomy, items, everything)
    b = _write_run(tmp_path / "b", taxonomy, items[:100], set(range(100)))
    cmp = compare_runs(a, b)
    assert (cmp.n_common, cmp.only_a, cmp.only_b) == (100, N - 100, 0)
    assert "items in A only: 140" in render_markdown(cmp)


def test_not_a_run_folder(tmp_path: Path, runs: dict[str, Path]) -> None:
    from motai.errors import MotaiError

    with pytest.raises(MotaiError, match="not a run folder"):
        compare_runs(runs["a"], tmp_path / "nothing")


def _config(tmp_path: Path, floors: str) -> Path:
    data = tmp_path / "d.jsonl"
    data.write_text("", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"name: t\ndatasets: [d.jsonl]\nthresholds:\n  class_floors: {floors}\n", encoding="utf-8"
    )
    return cfg


def test_cli_compare_fail_if_worse(runs: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["eval", "compare", str(runs["a"]), str(runs["worse"]), "--fail-if-worse"]
    res = runner.invoke(cli, args)
    assert res.exit_code == 3, res.output  # EXIT_GATE: apart from a run that failed (1)
    assert "### Gate: FAIL" in res.stdout
    # Without the flag the same comparison reports but does not fail.
    res = runner.invoke(cli, args[:-1])
    assert res.exit_code == 0 and "### Gate: FAIL" in res.stdout

    same = ["eval", "compare", str(runs["a"]), str(runs["same"]), "--fail-if-worse"]
    res = runner.invoke(cli, same)
    assert res.exit_code == 0, res.output
    assert "### Gate: pass" in res.stdout

    out = tmp_path / "summary.md"
    res = runner.invoke(
        cli,
        [
            "eval",
            "compare",
            str(runs["a"]),
            str(runs["better"]),
            "--fail-if-worse",
            "--config",
            str(_config(tmp_path, "{ZMOT: 1.0}")),
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output  # B gets every ZMOT right: F1 1.0 meets the floor
    assert out.read_text(encoding="utf-8") == res.stdout


def test_cli_compare_floor_from_config(runs: dict[str, Path], tmp_path: Path) -> None:
    cfg = _config(tmp_path, "{ZMOT: 0.99}")
    args = ["eval", "compare", str(runs["a"]), str(runs["same"]), "--fail-if-worse"]
    res = CliRunner().invoke(cli, [*args, "--config", str(cfg)])
    assert res.exit_code == 3
    assert "ZMOT F1" in res.stdout and "under its floor 0.9900" in res.stdout
