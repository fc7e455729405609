"""The response cache (SQLite) and `motai cache stats | clear`."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from click.testing import CliRunner

from motai.cli import cli
from motai.llm.cache import ResponseCache, default_cache_path


def test_default_path_under_motai_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOTAI_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "cache.sqlite"
    cache = ResponseCache()
    assert cache.path == tmp_path / "cache.sqlite"
    assert cache.path.exists()


def test_default_path_without_motai_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MOTAI_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "motai" / "cache.sqlite"


def test_key_is_canonical() -> None:
    a = ResponseCache.key(model="m", text="t", context=["x", "y"], params={"a": 1, "b": 2})
    b = ResponseCache.key(params={"b": 2, "a": 1}, context=["x", "y"], text="t", model="m")
    assert a == b
    assert len(a) == 64
    assert a != ResponseCache.key(model="m", text="t", context=["y", "x"], params={"a": 1, "b": 2})
    assert a != ResponseCache.key(model="m2", text="t", context=["x", "y"], params={"a": 1, "b": 2})


def test_get_put_stats_clear(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    k = cache.key(model="m", text="hello")
    assert cache.get(k) is None
    cache.put(k, {"stage": "AMOT", "usage": {"prompt_tokens": 10}, "text": "é😀"})
    assert cache.get(k) == {"stage": "AMOT", "usage": {"prompt_tokens": 10}, "text": "é😀"}
    cache.put(k, {"stage": "SMOT"})  # replaces
    assert cache.get(k) == {"stage": "SMOT"}
    st = cache.stats()
    assert st["entries"] == 1
    assert st["hits"] == 2 and st["misses"] == 1
    assert st["size_bytes"] > 0
    assert st["path"] == str(tmp_path / "c.sqlite")
    assert cache.clear() == 1
    assert cache.get(k) is None
    assert len(cache) == 0


def test_persists_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as c1:
        c1.put("k", {"v": 1})
    with ResponseCache(path) as c2:
        assert c2.get("k") == {"v": 1}
        assert c2.stats()["hits"] == 1  # counters are per instance


def test_rejects_non_dict(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    try:
        cache.put("k", ["not", "a", "dict"])  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("a list was stored")


def test_threads_and_tasks_share_one_cache(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                k = cache.key(t=n, i=i)
                cache.put(k, {"n": n, "i": i})
                assert cache.get(k) == {"n": n, "i": i}
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(cache) == 400

    async def task(n: int) -> None:
        for i in range(20):
            cache.put(cache.key(a=n, i=i), {"i": i})
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(task(n) for n in range(10)))

    asyncio.run(main())
    assert len(cache) == 600


def test_damaged_row_is_a_miss(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    cache._conn.execute("INSERT INTO responses VALUES ('bad', 'not json', 0)")
    assert cache.get("bad") is None


# --- CLI -------------------------------------------------------------------------------


def test_cli_stats_and_clear(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOTAI_HOME", str(tmp_path))
    with ResponseCache() as cache:
        for i in range(3):
            cache.put(cache.key(i=i), {"i": i})
    runner = CliRunner()
    res = runner.invoke(cli, ["cache", "stats"])
    assert res.exit_code == 0, res.output
    assert "entries: 3" in res.output
    assert str(tmp_path / "cache.sqlite") in res.output

    res = runner.invoke(cli, ["cache", "stats", "--json"])
    st = json.loads(res.output)
    assert st["entries"] == 3 and st["size_bytes"] > 0

    res = runner.invoke(cli, ["cache", "clear"], input="n\n")
    assert res.exit_code == 1  # aborted: nothing deleted
    assert json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).output)["entries"] == 3

    res = runner.invoke(cli, ["cache", "clear", "--yes"])
    assert res.exit_code == 0, res.output
    assert "cleared 3 cached replies" in res.output
    assert json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).output)["entries"] == 0


def test_cli_explicit_cache_file(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "my.sqlite"
    with ResponseCache(path) as cache:
        cache.put("k", {"v": 1})
    runner = CliRunner()
    res = runner.invoke(cli, ["cache", "stats", "--cache", str(path)])
    assert "entries: 1" in res.output
    res = runner.invoke(cli, ["cache", "clear", "-y", "--cache", str(path)])
    assert "cleared 1 cached reply" in res.output


def test_cli_help() -> None:
    res = CliRunner().invoke(cli, ["cache", "--help"])
    assert res.exit_code == 0
    assert "stats" in res.output and "clear" in res.output
