"""The test helpers themselves: FakeEmbedder is deterministic and unit-length."""

from __future__ import annotations

import numpy as np
import pytest

import motai.testing
from motai.embeddings import Embedder, get_embedder
from motai.testing import FakeEmbedder, RecordingEmbedder


def test_exports() -> None:
    assert set(motai.testing.__all__) == {
        "FakeChatModel",
        "FakeEmbedder",
        "FakeProvider",
        "NetworkBlocked",
        "RecordingEmbedder",
        "block_network",
        "first_words",
        "customer_text",
        "quote_reply",
        "rate_limited",
    }
    assert all(hasattr(motai.testing, name) for name in motai.testing.__all__)


def test_fake_embedder_shape_norm_and_determinism() -> None:
    fake = FakeEmbedder(dim=64)
    assert isinstance(fake, Embedder)
    assert fake.id == "fake:bow"
    texts = ["Where is my order?", "", "where IS my order", "Love the fabric"]
    v = fake.embed(texts)
    assert v.shape == (4, 64) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(v, FakeEmbedder(dim=64).embed(texts))  # a new instance
    assert np.allclose(v[0], v[2])  # case and punctuation do not matter
    assert v[0] @ v[3] < v[0] @ fake.embed(["where is my parcel"])[0]
    assert fake.embed([]).shape == (0, 64)


def test_fake_embedder_dim_checked() -> None:
    with pytest.raises(ValueError):
        FakeEmbedder(dim=1)


def test_recording_embedder_counts() -> None:
    rec = RecordingEmbedder(FakeEmbedder())
    assert get_embedder(rec) is rec
    assert rec.id == "fake:bow"
    out = rec.embed(["a b", "c"])
    rec.embed(["d"])
    assert (rec.calls, rec.n_texts, rec.texts) == (2, 3, ["a b", "c", "d"])
    np.testing.assert_array_equal(out, FakeEmbedder().embed(["a b", "c"]))
    rec.reset()
    assert (rec.calls, rec.n_texts) == (0, 0)


def test_block_network_refuses_hosts_off_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import openai

    from motai.testing import NetworkBlocked, block_network

    # Under the guard sits a recorder instead of the real connect, so that even a broken
    # guard sends nothing anywhere.
    reached: list[str] = []

    def record(self: socket.socket, address: tuple) -> None:
        reached.append(address[0])
        raise ConnectionRefusedError("recorded, not sent")

    monkeypatch.setattr(socket.socket, "connect", record)
    with block_network():
        with pytest.raises(NetworkBlocked, match=r"tests may not reach 203\.0\.113\.5"):
            socket.create_connection(("203.0.113.5", 80), timeout=1)
        client = openai.OpenAI(api_key="sk-test", base_url="http://203.0.113.5:9/v1", max_retries=0)
        with pytest.raises(NetworkBlocked):  # the SDK lets it through: the test fails loudly
            client.models.list()
        assert reached == []
        with pytest.raises(ConnectionRefusedError):  # loopback passes through the guard
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        assert reached == ["127.0.0.1"]
