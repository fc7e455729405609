"""motai on a real local Ray runtime: the same tags as one process, in order, through a
killed actor, and an LLM cache shared by every actor.

One runtime (2 CPUs, no dashboard) serves the whole module; every run on it is short.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "motai[ray]"')
pytestmark = pytest.mark.ray

from click.testing import CliRunner  # noqa: E402
from test_store import chroma_server  # noqa: E402, F401 - the real `chroma run` fixture

import motai.ray as motai_ray  # noqa: E402
from motai.cli import cli  # noqa: E402
from motai.io import read_items  # noqa: E402
from motai.llm.cache import ResponseCache  # noqa: E402
from motai.tagger import Tagger  # noqa: E402
from motai.testing import FakeEmbedder, FakeProvider, quote_reply  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
ACTOR_CLASS = "_Tagging"


@pytest.fixture(scope="module", autouse=True)
def ray_runtime() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def single() -> Tagger:
    return Tagger()


def _all_examples() -> list[str]:
    return [str(EXAMPLES / f) for f in ("reviews.csv", "posts.jsonl", "transcripts.jsonl")]


def _tag(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["tag", *args, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr


def test_importing_motai_never_imports_ray_and_a_missing_extra_says_how() -> None:
    code = (
        "import sys, motai, motai.cli, motai.tagger\n"
        "assert 'ray' not in sys.modules\n"
        "sys.modules['ray'] = None\n"
        "try:\n    import motai.ray\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'motai.ray needs Ray: pip install "motai[ray]"'


def test_tag_dataset_gives_the_single_process_tags(single: Tagger) -> None:
    items = list(read_items(_all_examples()))
    rows = [{"id": x.id, "text": x.text, "kind": x.kind, "channel": "web"} for x in items]
    ds = ray.data.from_items(rows)
    # 2 actors on the 2-CPU runtime take half a CPU each, leaving one to Ray Data's own
    # tasks: with both CPUs held by actors this would wait forever.
    got = {r["id"]: r for r in motai_ray.tag_dataset(ds, workers=2).take_all()}
    assert len(got) == len(items) == 24
    for want in single.tag_many(items):
        row = got[want.id]
        assert row["channel"] == "web"  # the input's columns stay
        assert {c: row[c] for c in motai_ray.RESULT_COLUMNS} == want.flat()


@pytest.mark.parametrize("out_name", ["tagged.csv", "tagged.jsonl"])
def test_cli_ray_writes_what_one_process_writes(tmp_path: Path, out_name: str) -> None:
    inputs = _all_examples()
    _tag([*inputs, "-o", str(tmp_path / "one" / out_name)])
    _tag([*inputs, "-o", str(tmp_path / "ray" / out_name), "--ray", "--workers", "2"])
    one = (tmp_path / "one" / out_name).read_bytes()
    assert one.count(b"\n") >= 24
    assert (tmp_path / "ray" / out_name).read_bytes() == one


def test_cli_ray_unordered_and_resume(tmp_path: Path) -> None:
    reviews = str(EXAMPLES / "reviews.csv")
    one, out = tmp_path / "one.jsonl", tmp_path / "out.jsonl"
    _tag([reviews, "-o", str(one)])
    _tag([reviews, "-o", str(out), "--ray", "--unordered", "--workers", "2", "--batch-size", "2"])
    lines = out.read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(one.read_text(encoding="utf-8").splitlines())
    # Resume with Ray: the first 5 rows kept, the other 7 tagged on Ray, in order.
    out.write_text("".join(line + "\n" for line in one.read_text().splitlines()[:5]))
    _tag([reviews, "-o", str(out), "--ray"])
    assert out.read_bytes() == one.read_bytes()
    result = CliRunner().invoke(cli, ["tag", reviews, "-o", str(out), "--ray", "--unordered"])
    assert result.exit_code == 2 and "--fresh" in result.stderr


def _actor_pids() -> list[int]:
    actors = ray._private.state.actors().values()
    alive = [a for a in actors if a["State"] == "ALIVE"]
    return [a["Pid"] for a in alive if ACTOR_CLASS in a["ActorClassName"]]


def test_a_killed_actor_loses_no_row_and_repeats_none(tmp_path: Path, single: Tagger) -> None:
    texts = [json.loads(line)["text"] for line in (EXAMPLES / "posts.jsonl").open()]
    feed = tmp_path / "feed.jsonl"
    with feed.open("w", encoding="utf-8") as f:
        for n in range(48):
            text = f"{texts[n % len(texts)]} ({n})"
            f.write(json.dumps({"id": f"t{n:03d}", "text": text}) + "\n")
    got: list[str] = []
    killed = None
    for item, result in motai_ray.tag_files([str(feed)], workers=2, batch_size=4):
        assert item.id == result.id
        got.append(result.model_dump_json())
        if killed is None and len(got) == 8:
            pids = _actor_pids()
            assert pids, "no tagging actor alive mid-run"
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
    assert killed is not None
    time.sleep(0.5)
    assert killed not in _actor_pids()
    want = [r.model_dump_json() for r in single.tag_many(read_items([str(feed)]))]
    assert got == want  # every row, once, in order, with the single-process tags


class _Logged:
    """A fake LLM's `respond` that appends a line per request to a file: the requests
    of every actor, counted in one place."""

    def __init__(self, log: Path) -> None:
        self.log, self.reply = log, quote_reply("SMOT", "glory")

    def __call__(self, request: object) -> dict:
        with self.log.open("a") as f:
            f.write("request\n")
        return self.reply(request)


class _LoggedEmbedder(FakeEmbedder):
    """FakeEmbedder that logs, per call, the process and how many texts it embedded."""

    def __init__(self, log: Path) -> None:
        super().__init__()
        self.log = log

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()} {len(texts)}\n")
        return super().embed(texts)


def _embedded(log: Path) -> tuple[int, int]:
    """Texts embedded by this process (the driver) and by all others (the actors)."""
    lines = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    here = sum(int(n) for pid, n in lines if int(pid) == os.getpid())
    return here, sum(int(n) for pid, n in lines if int(pid) != os.getpid())


@pytest.mark.server
def test_llm_store_built_once_and_answers_shared_by_every_worker(
    tmp_path: Path,
    small_exemplars: Path,
    chroma_server: tuple[str, object],  # noqa: F811 - the fixture imported above
) -> None:
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # tests/ is no package
    requests, embeds = tmp_path / "requests.log", tmp_path / "embeds.log"
    tagger = Tagger(
        "openai:fake-model",
        exemplars=small_exemplars,
        embedder=_LoggedEmbedder(embeds),
        chroma_url=chroma_server[0],
        chat=FakeProvider(respond=_Logged(requests)),
    )
    posts = [str(EXAMPLES / "posts.jsonl")]
    first = [r for _, r in motai_ray.tag_files(posts, tagger=tagger, workers=2, batch_size=2)]
    assert len(first) == 8 and all(r.ok and r.stage == "SMOT" for r in first)
    assert requests.read_text().count("request") == 8
    built, by_actors = _embedded(embeds)
    # The driver built the store; the actors only embedded the 8 texts, once for each of
    # the two queries (the stage definitions, the exemplars).
    assert built > 0 and by_actors == 2 * 8
    again = [r for _, r in motai_ray.tag_files(posts, tagger=tagger, workers=2, batch_size=2)]
    assert requests.read_text().count("request") == 8  # every answer came from the shared cache
    assert _embedded(embeds) == (built, 2 * 16)  # the store was fresh: nothing rebuilt
    assert [r.model_dump() for r in again] == [r.model_dump() for r in first]
    # The answers are in this process's cache ($MOTAI_HOME/cache.sqlite), so a run
    # without Ray asks nothing either.
    assert ResponseCache().stats()["entries"] == 8
    alone = list(tagger.tag_many(read_items(posts)))
    assert requests.read_text().count("request") == 8
    assert [r.model_dump() for r in alone] == [r.model_dump() for r in first]
