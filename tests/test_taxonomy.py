"""The taxonomy: the bundled default agrees with the guideline; bad files fail clearly."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from motai.errors import TaxonomyError
from motai.taxonomy import bundled_taxonomies, load_taxonomy, parse_taxonomy

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FILE = REPO / "motai" / "taxonomies" / "moments-of-truth.v1.yaml"
B2B_FILE = REPO / "examples" / "taxonomies" / "b2b.yaml"
GUIDELINE = REPO / "evals" / "datasets" / "GUIDELINE.md"  # copy of shared/labelling/

# The guideline's stage table, kept here too so the test runs where ../shared is absent.
GUIDELINE_SIGNALS = {
    "ZMOT": [
        "I read the reviews",
        "after researching",
        "a friend told me about",
        "does this come in blue?",
        "which plan should I pick?",
    ],
    "FMOT": [
        "saw it in the store and grabbed it",
        "the price on the site",
        "checkout kept failing",
        "booked online in minutes",
        "coupon at first visit",
    ],
    "AMOT": [
        "still hasn't shipped",
        "arrived two days early",
        "package lost",
        "charged but never received",
        "they changed our flights before the trip",
    ],
    "SMOT": [
        "fits perfectly",
        "broke after a week",
        "the crew were lovely",
        "support fixed it in minutes",
        "charged twice",
        "my account was suspended",
        "I returned it",
    ],
    "UMOT": [
        "highly recommend",
        "buy it!",
        "avoid this airline",
        "telling all my friends",
        "would not recommend",
    ],
}


def _guideline_table() -> dict[str, list[str]]:
    """Stage -> quoted signals, parsed from the guideline's stage table."""
    out: dict[str, list[str]] = {}
    for line in GUIDELINE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"[A-Z]MOT|NONE", cells[0]):
            out[cells[0]] = re.findall(r'"([^"]+)"', cells[3])
    return out


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: object, name: str = "tax.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return p


# --- the default agrees with the guideline -------------------------------------------


def test_default_stages_in_journey_order(taxonomy) -> None:
    assert taxonomy.stage_ids == ["ZMOT", "FMOT", "AMOT", "SMOT", "UMOT"]
    assert taxonomy.labels == ["ZMOT", "FMOT", "AMOT", "SMOT", "UMOT", "NONE"]
    assert taxonomy.none.id == "NONE"
    assert [s.order for s in taxonomy.stages] == sorted(s.order for s in taxonomy.stages)


def test_default_valences(taxonomy) -> None:
    assert taxonomy.valence_ids == ["glory", "pain", "neutral"]


def test_default_is_loaded_by_name_and_ref(taxonomy) -> None:
    assert "moments-of-truth" in bundled_taxonomies()
    assert load_taxonomy("moments-of-truth").hash == taxonomy.hash
    assert taxonomy.ref == "moments-of-truth@1"


@pytest.mark.parametrize("stage", sorted(GUIDELINE_SIGNALS))
def test_default_has_guideline_signals(taxonomy, stage: str) -> None:
    signals = {s.lower() for s in taxonomy.stage(stage).signals}
    missing = [s for s in GUIDELINE_SIGNALS[stage] if s.lower() not in signals]
    assert not missing, f"{stage} lacks the guideline's signals {missing}"


def test_guideline_table_matches_the_copy_here(taxonomy) -> None:
    table = _guideline_table()
    assert list(table) == taxonomy.labels
    assert {k: v for k, v in table.items() if v} == GUIDELINE_SIGNALS


def test_default_examples_use_known_valences_and_cues_compile(taxonomy) -> None:
    for stage in taxonomy.stages:
        assert stage.signals and stage.cues, stage.id
        assert set(stage.examples) <= set(taxonomy.valence_ids)
        assert all(isinstance(p, re.Pattern) for p in stage.cue_patterns)
    assert taxonomy.none.examples


def test_default_cues_fire_on_guideline_examples(taxonomy) -> None:
    """A few of the guideline's clean examples are caught by their stage's cues."""
    cases = {
        "Waited three weeks for this sweater to ship.": "AMOT",
        "@Airline checkout kept failing at the payment step": "FMOT",
        "Lounge was crowded and the food was cold": "SMOT",
        "Read dozens of reviews before choosing this blender": "ZMOT",
        "Highly recommend!": "UMOT",
    }
    for text, stage in cases.items():
        patterns = taxonomy.stage(stage).cue_patterns
        assert any(p.search(text) for p in patterns), (stage, text)


# --- loading by path, and the B2B example -------------------------------------------


def test_load_by_file_path(tmp_path: Path) -> None:
    raw = _raw()
    raw["id"] = "my-copy"
    tax = load_taxonomy(_write(tmp_path, raw))
    assert tax.id == "my-copy"
    assert tax.labels == ["ZMOT", "FMOT", "AMOT", "SMOT", "UMOT", "NONE"]
    assert load_taxonomy(str(DEFAULT_FILE)).ref == "moments-of-truth@1"


def test_b2b_example_loads_with_lmot() -> None:
    tax = load_taxonomy(B2B_FILE)
    assert tax.stage_ids == ["ZMOT", "FMOT", "SMOT", "LMOT"]
    assert "AMOT" not in tax.labels and "UMOT" not in tax.labels
    assert tax.labels[-1] == "NONE"
    assert tax.valence_ids == ["glory", "pain", "neutral"]
    lmot = tax.stage("LMOT")
    assert lmot.signals and lmot.cues
    assert set(lmot.examples) == {"glory", "pain", "neutral"}
    for stage in tax.stages:
        assert stage.examples, stage.id
        assert any(p.search(" ".join(stage.signals)) for p in stage.cue_patterns), stage.id
    assert any(p.search("We are not renewing next year") for p in lmot.cue_patterns)


def test_version_number_is_kept_as_string(tmp_path: Path) -> None:
    raw = _raw()
    raw["version"] = 2
    assert load_taxonomy(_write(tmp_path, raw)).version == "2"


def test_hash_changes_with_content(tmp_path: Path, taxonomy) -> None:
    same = load_taxonomy(_write(tmp_path, _raw(), "same.yaml"))
    assert same.hash == taxonomy.hash
    raw = _raw()
    raw["stages"][0]["signals"].append("a brand new signal")
    changed = load_taxonomy(_write(tmp_path, raw, "changed.yaml"))
    assert changed.hash != taxonomy.hash
    raw = _raw()
    raw["stages"][3]["definition"] += " And more."
    assert load_taxonomy(_write(tmp_path, raw, "def.yaml")).hash not in {
        taxonomy.hash,
        changed.hash,
    }


# --- errors name the file and the key ------------------------------------------------


def _error(tmp_path: Path, mutate) -> tuple[str, str]:
    raw = copy.deepcopy(_raw())
    mutate(raw)
    path = _write(tmp_path, raw)
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: "), msg
    return msg, str(path)


def test_missing_definition(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][0].pop("definition"))
    assert "stages.ZMOT.definition" in msg
    assert "missing" in msg


def test_unknown_key_in_stage(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][1].update(colour="blue"))
    assert "stages.FMOT.colour" in msg
    assert "unknown key" in msg


def test_unknown_key_at_top_level(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r.update(stagez=[]))
    assert ": stagez: unknown key" in msg


def test_duplicate_stage_id(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][2].update(id="ZMOT"))
    assert "stages" in msg
    assert "duplicate stage id 'ZMOT'" in msg


def test_bad_regex_cue(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][2]["cues"].append("(unclosed"))
    assert "stages.AMOT.cues" in msg
    assert "not a valid regular expression" in msg


def test_examples_with_unknown_valence(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][3]["examples"].update(meh=["so so"]))
    assert "stages.SMOT.examples" in msg
    assert "unknown valence 'meh'" in msg


def test_stage_named_like_none_is_rejected(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r["stages"][4].update(id="NONE"))
    assert "'NONE' is reserved" in msg


def test_no_stages(tmp_path: Path) -> None:
    msg, _ = _error(tmp_path, lambda r: r.update(stages=[]))
    assert ": stages: " in msg


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("id: moments\nstages: [unclosed\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: not valid YAML")
    assert "\n" not in msg


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(TaxonomyError, match="no such taxonomy file") as exc:
        load_taxonomy(path)
    assert str(path) in str(exc.value)


def test_top_level_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- ZMOT\n- FMOT\n", encoding="utf-8")
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy(path)
    assert str(exc.value) == f"{path}: expected a mapping at the top level"


def test_empty_file_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(TaxonomyError, match="expected a mapping"):
        load_taxonomy(path)


def test_unknown_bundled_name() -> None:
    with pytest.raises(TaxonomyError) as exc:
        load_taxonomy("moments-of-lies")
    msg = str(exc.value)
    assert msg.startswith("moments-of-lies: no bundled taxonomy")
    assert "moments-of-truth" in msg  # lists what is bundled


def test_parse_taxonomy_names_its_label() -> None:
    raw = _raw()
    del raw["valences"]
    with pytest.raises(TaxonomyError, match=r"^inline: valences: missing required key$"):
        parse_taxonomy(raw, "inline")
