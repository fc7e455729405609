"""The offline local model: linear heads trained on labelled texts, loaded from a bundle.

Why this design: real feeds are mostly SMOT and the rare stages live in single sentences,
so the model learns at two levels, both from labelled data (more data, better tags):

1. Segment head. Every sentence or clause of the customer's words (and every gold evidence
   quote) is a training unit labelled from the gold moments it covers, or "no moment".
   Features: the MiniLM vector, hashed word 1-2 grams (tf-idf) and the taxonomy's cues.
   A segment whose stage probability passes `moment_threshold` is a moment.
2. Text heads. The primary stage (NONE included) is learned from the text's mean vector
   and the segment head's probabilities (max, mean and opening segment),
   stacked: on training texts those probabilities come from segment heads that never saw
   the text (k folds), so the text head learns how far to trust them on new texts. The
   primary valence is learned from the text's vector and words and its segments' tone.
3. `confidence` is the text head's probability of the primary stage, temperature-scaled
   on out-of-fold predictions so that it matches the accuracy seen.

Everything a tag needs is in the bundle (`model.json` + `weights.npz` + `taxonomy.yaml`):
loading it fits nothing. numpy does the inference; no pickle, no torch.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from motai.embeddings import Embedder, get_embedder
from motai.errors import MotaiError
from motai.labelled import LabelledItem, sha256_file
from motai.language import detect_language
from motai.models import Moment, TagResult, TextItem
from motai.segment import NO_MOMENT, Span, moment_counts, segment_label, segments
from motai.taxonomy import Taxonomy, parse_taxonomy

FORMAT = 1


def default_model_dir() -> Path:
    return Path(str(resources.files("motai") / "data" / "model"))


@dataclass(frozen=True)
class TrainSettings:
    """What `train` does; recorded in the bundle. Chosen by cross-validation on the whole
    dev + silver sets and leave-one-source-out (benchmarks/accuracy.py), never per item."""

    stack_folds: int = 3
    hash_features: int = 2**15
    seg_c: float = 1.0
    text_c: float = 1.0
    valence_c: float = 1.0
    # Class weights (n / (k * count)) ** balance: 0 ignores rarity, 1 fully balances.
    balance: float = 0.5
    text_balance: float = 0.5
    evidence_weight: float = 1.0
    # The taxonomy's signals and examples are labelled units too, spanning domains the
    # training texts may not.
    taxonomy_weight: float = 3.0
    aggregate_weight: float = 2.0
    moment_threshold: float = 0.5
    seed: int = 0


@dataclass
class Head:
    """A fitted multinomial (or binary) logistic head as plain arrays."""

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    @classmethod
    def fit(cls, x: Any, y: Sequence[str], c: float, balance: float, weight: Any = None) -> Head:
        labels = sorted(set(y))
        if len(labels) < 2:
            n = x.shape[1]
            return cls(labels, np.zeros((1, n), np.float32), np.zeros(1, np.float32))
        from sklearn.linear_model import LogisticRegression

        counts = {lab: list(y).count(lab) for lab in labels}
        cw = {lab: (len(y) / (len(labels) * k)) ** balance for lab, k in counts.items()}
        lr = LogisticRegression(C=c, max_iter=3000, class_weight=cw)
        lr.fit(x, list(y), sample_weight=weight)
        return cls([str(k) for k in lr.classes_], lr.coef_.astype(np.float32), lr.intercept_)

    def logits(self, x: Any) -> np.ndarray:
        z = np.asarray(x @ self.coef.T) + self.intercept
        if len(self.classes) == 2:  # sklearn's binary head scores the second class
            z = np.hstack([np.zeros_like(z), z])
        elif len(self.classes) == 1:
            z = np.zeros((x.shape[0], 1))
        return z

    def proba(self, x: Any, labels: Sequence[str], temperature: float = 1.0) -> np.ndarray:
        """Probabilities in the order of `labels` (zero for a label the head never saw)."""
        z = self.logits(x) / temperature
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        out = np.zeros((x.shape[0], len(labels)), np.float32)
        for j, c in enumerate(self.classes):
            if c in labels:
                out[:, list(labels).index(c)] = p[:, j]
        return out

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        return {
            f"{name}.classes": np.array(self.classes, dtype=str),
            f"{name}.coef": self.coef.astype(np.float32),
            f"{name}.intercept": np.asarray(self.intercept, np.float32),
        }

    @classmethod
    def from_arrays(cls, npz: Any, name: str) -> Head:
        return cls(
            [str(c) for c in npz[f"{name}.classes"]], npz[f"{name}.coef"], npz[f"{name}.intercept"]
        )


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def hashed_ngrams(texts: Sequence[str], n_features: int) -> Any:
    """Counts of hashed word 1-2 grams, sparse: what scikit-learn's HashingVectorizer
    (ngram_range=(1, 2), alternate_sign=False, norm=None) gives, index for index, without
    importing scikit-learn (1.5 s of every start) to tag. The same MurmurHash3 (mmh3)."""
    import mmh3
    import scipy.sparse as sp

    indptr, indices = [0], []
    for text in texts:
        tokens = _TOKEN.findall(text.lower())
        for gram in tokens + [f"{a} {b}" for a, b in pairwise(tokens)]:
            h = mmh3.hash(gram, 0, signed=True)
            indices.append(2**31 - n_features if h == -(2**31) else abs(h) % n_features)
        indptr.append(len(indices))
    data = np.ones(len(indices), np.float32)
    x = sp.csr_matrix((data, indices, indptr), shape=(len(texts), n_features))
    x.sum_duplicates()
    return x


class Features:
    """Text -> feature rows: MiniLM vectors, hashed tf-idf word 1-2 grams, taxonomy cues."""

    def __init__(self, taxonomy: Taxonomy, n_features: int, idf: Any = None):
        self.n_features = n_features
        self.idf = idf
        self._cues = [s.cue_patterns for s in taxonomy.stages]

    def fit_idf(self, texts: Sequence[str]) -> None:
        counts = hashed_ngrams(texts, self.n_features)
        df = np.bincount(counts.indices, minlength=self.n_features)
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)

    def lexical(self, texts: Sequence[str]) -> Any:
        """Sublinear tf-idf rows, L2-normalised (sparse)."""
        import scipy.sparse as sp

        x = hashed_ngrams(texts, self.n_features)
        x.data = 1 + np.log(x.data)
        x = x.multiply(self.idf).tocsr()
        norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
        return (sp.diags(1 / np.where(norms == 0, 1, norms)) @ x).tocsr()

    def cues(self, texts: Sequence[str]) -> np.ndarray:
        return np.array(
            [[float(any(p.search(t) for p in ps)) for ps in self._cues] for t in texts],
            dtype=np.float32,
        ).reshape(len(texts), len(self._cues))

    def segment_rows(self, texts: Sequence[str], vecs: np.ndarray) -> Any:
        import scipy.sparse as sp

        return sp.hstack([sp.csr_matrix(vecs), self.lexical(texts), self.cues(texts)]).tocsr()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _tone(p: np.ndarray, pv: np.ndarray, n_valences: int) -> np.ndarray:
    """A text's segment valences -> mean, max, opening, and weighted by how much each
    segment is a moment (1 - P(no moment), the last column of `p`)."""
    if not len(pv):
        return np.zeros(4 * n_valences, np.float32)
    w = 1.0 - p[:, -1]
    weighted = (w[:, None] * pv).sum(axis=0) / max(float(w.sum()), 1e-6)
    return np.r_[pv.mean(axis=0), pv.max(axis=0), pv[0], weighted].astype(np.float32)


def _aggregate(p: np.ndarray, n_labels: int) -> np.ndarray:
    """A text's segment probabilities -> max, mean and opening segment per label."""
    if not len(p):
        return np.zeros(3 * n_labels, np.float32)
    return np.r_[p.max(axis=0), p.mean(axis=0), p[0]].astype(np.float32)


@dataclass
class _Text:
    """A text prepared for the model: its segments and their vectors."""

    kind: str | None
    text: str
    spans: list[Span]
    vecs: np.ndarray

    @property
    def vector(self) -> np.ndarray:
        if not len(self.vecs):
            return np.zeros(self.vecs.shape[1], np.float32)
        return _unit(self.vecs.mean(axis=0))


def _prepare(
    embedder: Embedder, texts: Sequence[tuple[str, str | None]], extra: Sequence[str] = ()
) -> tuple[list[_Text], np.ndarray]:
    """Segment and embed texts in one embedder call; `extra` texts are embedded alongside."""
    spans = [segments(t, k) for t, k in texts]
    flat = [s.text for ss in spans for s in ss] + list(extra)
    vecs = embedder.embed(flat)
    out, pos = [], 0
    for (text, kind), ss in zip(texts, spans, strict=True):
        out.append(_Text(kind, text, ss, vecs[pos : pos + len(ss)]))
        pos += len(ss)
    return out, vecs[pos:]


class LocalModel:
    """A trained local model. `classify` is read-only and safe across threads."""

    provider = "local"

    def __init__(
        self,
        taxonomy: Taxonomy,
        embedder: Embedder,
        features: Features,
        heads: dict[str, Head],
        temperature: float,
        settings: TrainSettings,
        meta: dict[str, Any],
    ) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self.features = features
        self.heads = heads
        self.temperature = temperature
        self.settings = settings
        self.meta = meta
        self.name = meta.get("name", "custom")
        self.model = f"motai-local:{self.name}@{embedder.id}"
        self.stages = taxonomy.stage_ids
        self.seg_labels = [*self.stages, NO_MOMENT]
        self.valences = taxonomy.valence_ids
        self.output_taxonomy: Taxonomy | None = None

    # -- inference -------------------------------------------------------------------
    def _text_rows(self, texts: Sequence[_Text], seg_p: Sequence[np.ndarray]) -> np.ndarray:
        w = self.settings.aggregate_weight
        return np.array(
            [
                np.r_[t.vector, w * _aggregate(p, len(self.seg_labels))]
                for t, p in zip(texts, seg_p, strict=True)
            ],
            dtype=np.float32,
        )

    def _valence_rows(
        self, texts: Sequence[_Text], seg_p: Sequence[np.ndarray], seg_v: Sequence[np.ndarray]
    ) -> Any:
        """The text's vector and words, and the tone of its segments: a mean vector blurs
        "softer than I expected" into the style of the source; sentences keep it."""
        import scipy.sparse as sp

        w = self.settings.aggregate_weight
        vec = np.array([t.vector for t in texts], np.float32)
        tone = np.array(
            [w * _tone(p, v, len(self.valences)) for p, v in zip(seg_p, seg_v, strict=True)],
            np.float32,
        )
        lex = self.features.lexical([t.text for t in texts])
        return sp.hstack([sp.csr_matrix(vec), lex, sp.csr_matrix(tone)]).tocsr()

    def _segment_probs(self, texts: Sequence[_Text]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        flat = [s.text for t in texts for s in t.spans]
        if not flat:
            empty = np.zeros((0, len(self.seg_labels)), np.float32)
            return [empty for _ in texts], [empty[:, : len(self.valences)] for _ in texts]
        vecs = np.vstack([t.vecs for t in texts if len(t.spans)])
        x = self.features.segment_rows(flat, vecs)
        p = self.heads["segment"].proba(x, self.seg_labels)
        pv = self.heads["segment_valence"].proba(x, self.valences)
        out_p, out_v, pos = [], [], 0
        for t in texts:
            n = len(t.spans)
            out_p.append(p[pos : pos + n])
            out_v.append(pv[pos : pos + n])
            pos += n
        return out_p, out_v

    def classify(self, batch: Sequence[TextItem]) -> list[TagResult]:
        """Tag a batch: one embedder call for every segment of every text."""
        texts, _ = _prepare(self.embedder, [(it.text, it.kind) for it in batch])
        seg_p, seg_v = self._segment_probs(texts)
        labels = self.taxonomy.labels
        pt = self.heads["text"].proba(self._text_rows(texts, seg_p), labels, self.temperature)
        ptv = self.heads["valence"].proba(self._valence_rows(texts, seg_p, seg_v), self.valences)
        return [
            self._in_output_terms(self._decide(it, t, sp_, sv, pt[i], ptv[i]))
            for i, (it, t, sp_, sv) in enumerate(zip(batch, texts, seg_p, seg_v, strict=True))
        ]

    def _decide(
        self,
        it: TextItem,
        t: _Text,
        p: np.ndarray,
        pv: np.ndarray,
        pt: np.ndarray,
        ptv: np.ndarray,
    ) -> TagResult:
        none_id = self.taxonomy.none.id
        base = {
            "id": it.id,
            "kind": it.kind,
            "provider": self.provider,
            "model": self.model,
            "taxonomy_version": self.taxonomy.ref,
            "language": detect_language(it.text),
        }
        neutral = self.taxonomy.none_valence
        if not t.spans:
            return TagResult(**base, stage=none_id, valence=neutral, confidence=1.0)
        labels = self.taxonomy.labels
        if base["language"] not in (None, "en"):
            # An English model cannot tell that a text in another language holds no
            # experience: it answers its best stage, with that stage's (low) probability.
            pt = np.where(np.array(labels) == none_id, -1.0, pt)
        k = int(pt.argmax())
        primary, confidence = labels[k], round(float(pt[k]), 4)
        if primary == none_id:
            return TagResult(**base, stage=none_id, valence=neutral, confidence=confidence)
        valence = self.valences[int(ptv.argmax())]
        j = self.stages.index(primary)
        found = [
            (i, stage, float(p[i, s]))
            for i in range(len(t.spans))
            for s, stage in enumerate(self.stages)
            if p[i, s] >= self.settings.moment_threshold
        ]
        if not any(m[1] == primary for m in found):
            i = int(p[:, j].argmax())
            found.append((i, primary, float(p[i, j])))
        moments = []
        for i, stage, conf in sorted(found, key=lambda m: (t.spans[m[0]].start, m[1])):
            span = t.spans[i]
            # A moment's valence: its own words, leaning on the whole text's tone.
            v = self.valences[int((pv[i] + ptv).argmax())]
            if stage == primary and i == int(p[:, j].argmax()):
                v = valence  # the primary moment carries the primary valence
            moments.append(
                Moment(
                    stage=stage,
                    valence=v,
                    evidence=span.text,
                    start=span.start,
                    end=span.end,
                    confidence=round(conf, 4),
                )
            )
        return TagResult(
            **base, stage=primary, valence=valence, confidence=confidence, moments=moments
        )

    def for_taxonomy(self, taxonomy: Taxonomy) -> LocalModel:
        """This model tagging in `taxonomy`'s labels: itself when they are its own, else a
        copy whose labels go through the taxonomy's `label_map`."""
        if taxonomy.hash == self.taxonomy.hash:
            return self
        target = set(taxonomy.labels)
        missing = [s for s in self.taxonomy.labels if taxonomy.mapped(s) not in target]
        if missing:
            raise MotaiError(
                f"the model {self.name!r} tags the stages of {self.taxonomy.ref}, and "
                f"{taxonomy.ref} has no stage for {', '.join(missing)}: map them in the "
                f"taxonomy (label_map: {{{missing[0]}: ...}}) or train a model for it "
                "(motai train DATA.jsonl --taxonomy FILE -o MODEL_DIR)"
            )
        copy = object.__new__(LocalModel)
        copy.__dict__.update(self.__dict__)
        copy.output_taxonomy = taxonomy
        return copy

    def _in_output_terms(self, r: TagResult) -> TagResult:
        tax = self.output_taxonomy
        if tax is None or r.stage is None:
            return r
        moments, seen = [], set()
        for m in r.moments:
            stage = tax.mapped(m.stage)
            if (m.start, stage) not in seen:
                seen.add((m.start, stage))
                moments.append(m.model_copy(update={"stage": stage}))
        return r.model_copy(
            update={"stage": tax.mapped(r.stage), "moments": moments, "taxonomy_version": tax.ref}
        )

    # -- the bundle --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the bundle folder: model.json, weights.npz, taxonomy.yaml, MODEL_CARD.md."""
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        arrays = {"idf": self.features.idf}
        for name, head in self.heads.items():
            arrays.update(head.arrays(name))
        np.savez_compressed(out / "weights.npz", **arrays)
        (out / "taxonomy.yaml").write_text(
            yaml.safe_dump(self.taxonomy.model_dump(mode="json"), sort_keys=False, width=100),
            encoding="utf-8",
        )
        manifest = {
            **self.meta,
            "format": FORMAT,
            "embedder": self.embedder.id,
            "taxonomy": {"ref": self.taxonomy.ref, "hash": self.taxonomy.hash},
            "temperature": self.temperature,
            "settings": asdict(self.settings),
            "weights_sha256": sha256_file(out / "weights.npz"),
        }
        (out / "model.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (out / "MODEL_CARD.md").write_text(model_card(manifest), encoding="utf-8")
        return out

    @classmethod
    def load(cls, path: str | Path | None = None, embedder: Embedder | str | None = None):
        """Load a bundle folder (default: the model shipped in motai). Nothing is fitted,
        and a bundle already loaded in this process is shared (a model is read-only)."""
        folder = Path(path) if path is not None else default_model_dir()
        weights = folder / "weights.npz"
        key = (
            str(folder.resolve()),
            weights.stat().st_mtime_ns if weights.is_file() else 0,
            embedder if embedder is None or isinstance(embedder, str) else id(embedder),
        )
        with _loaded_lock:
            if key not in _loaded:
                _loaded[key] = cls._load(folder, embedder)
            return _loaded[key]

    @classmethod
    def _load(cls, folder: Path, embedder: Embedder | str | None) -> LocalModel:
        manifest_file = _bundle_file(folder, "model.json")
        taxonomy = bundle_taxonomy(folder)
        try:
            meta = json.loads(manifest_file.read_text(encoding="utf-8"))
            npz = np.load(_bundle_file(folder, "weights.npz"), allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise MotaiError(f"{folder}: unreadable model bundle: {exc}") from None
        if meta.get("format") != FORMAT:
            raise MotaiError(f"{folder}: model format {meta.get('format')!r}, expected {FORMAT}")
        settings = TrainSettings(**meta["settings"])
        emb = get_embedder(embedder or meta["embedder"])
        if emb.id != meta["embedder"]:
            raise MotaiError(
                f"{folder}: the model was trained on vectors of {meta['embedder']}, "
                f"not {emb.id}: tag without --embedder, or train with it"
            )
        features = Features(taxonomy, settings.hash_features, npz["idf"])
        heads = {
            name: Head.from_arrays(npz, name)
            for name in ("segment", "segment_valence", "text", "valence")
        }
        temperature = float(meta.get("temperature") or 1.0)
        meta = {k: v for k, v in meta.items() if k not in {"settings", "temperature"}}
        return cls(taxonomy, emb, features, heads, temperature, settings, meta)


_loaded: dict[tuple, LocalModel] = {}
_loaded_lock = threading.Lock()


# -- training ----------------------------------------------------------------------------
@dataclass
class _Units:
    """Segment-level training units: texts, vectors, labels, weights, owning text."""

    texts: list[str] = field(default_factory=list)
    stage: list[str] = field(default_factory=list)
    valence: list[str] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # -1: the taxonomy's own units
    vecs: list[np.ndarray] = field(default_factory=list)


def train(
    items: Sequence[LabelledItem],
    taxonomy: Taxonomy,
    *,
    embedder: Embedder | str | None = None,
    settings: TrainSettings | None = None,
    name: str = "custom",
    progress: Callable[[str], None] | None = None,
) -> LocalModel:
    """Fit a LocalModel on labelled items (their labels must be the taxonomy's)."""
    cfg = settings or TrainSettings()
    say = progress or (lambda _msg: None)
    emb = get_embedder(embedder)
    started = time.perf_counter()
    none = taxonomy.none
    # The taxonomy's NONE examples are texts with no moment.
    rows = [(it.text, it.kind, it.stage, it.valence, it) for it in items]
    rows += [(t, "social", none.id, taxonomy.none_valence, None) for t in none.examples]
    tax_units = [
        (text, s.id, v, cfg.taxonomy_weight)
        for s in taxonomy.stages
        for text, v in [(x, "") for x in s.signals]
        + [(x, val) for val, xs in s.examples.items() for x in xs]
    ]
    evidence = [m.evidence for it in items for m in it.moments]
    say(f"embedding the segments of {len(rows)} texts")
    texts, extra = _prepare(emb, [(r[0], r[1]) for r in rows], evidence + [u[0] for u in tax_units])

    counts = moment_counts(items)
    units = _Units()
    seg_index: list[list[int]] = []  # per text, the positions of its segment units
    ev_pos = 0
    for n, (row, t) in enumerate(zip(rows, texts, strict=True)):
        item = row[4]
        spans = item.spans() if item is not None else []
        seg_index.append(list(range(len(units.texts), len(units.texts) + len(t.spans))))
        for span, vec in zip(t.spans, t.vecs, strict=True):
            stage, valence = segment_label(span.start, span.end, spans, counts)
            _add(units, span.text, vec, stage, valence, 1.0, n)
        for m in item.moments if item is not None else []:
            _add(units, m.evidence, extra[ev_pos], m.stage, m.valence, cfg.evidence_weight, n)
            ev_pos += 1
    for (text, stage, valence, w), vec in zip(tax_units, extra[ev_pos:], strict=True):
        _add(units, text, vec, stage, valence, w, -1)

    features = Features(taxonomy, cfg.hash_features)
    features.fit_idf(units.texts + [r[0] for r in rows])
    x_units = features.segment_rows(units.texts, np.array(units.vecs, np.float32))
    owner = np.array(units.owner)
    seg_labels = [*taxonomy.stage_ids, NO_MOMENT]

    def fit_segment(mask: np.ndarray) -> tuple[Head, Head]:
        y = [units.stage[i] for i in np.flatnonzero(mask)]
        w = np.array(units.weight)[mask]
        seg = Head.fit(x_units[mask], y, cfg.seg_c, cfg.balance, w)
        vmask = mask & np.array([v != NO_MOMENT for v in units.valence])
        yv = [units.valence[i] for i in np.flatnonzero(vmask)]
        sv = Head.fit(x_units[vmask], yv, cfg.seg_c, cfg.balance, np.array(units.weight)[vmask])
        return seg, sv

    # Stacking: each text's segment probabilities come from a head that never saw it.
    rng = np.random.default_rng(cfg.seed)
    fold = rng.integers(0, cfg.stack_folds, len(rows))
    is_seg = np.zeros(len(units.texts), bool)
    is_seg[[i for idx in seg_index for i in idx]] = True
    oof = np.zeros((len(units.texts), len(seg_labels)), np.float32)
    oof_v = np.zeros((len(units.texts), len(taxonomy.valence_ids)), np.float32)
    for k in range(cfg.stack_folds):
        say(f"stacking fold {k + 1}/{cfg.stack_folds}")
        held = np.isin(owner, np.flatnonzero(fold == k))
        head, v_head = fit_segment(~held)
        rows_k = held & is_seg
        oof[rows_k] = head.proba(x_units[rows_k], seg_labels)
        oof_v[rows_k] = v_head.proba(x_units[rows_k], taxonomy.valence_ids)
    say("fitting the segment heads")
    seg_head, seg_val_head = fit_segment(np.ones(len(units.texts), bool))

    model = LocalModel(
        taxonomy,
        emb,
        features,
        {"segment": seg_head, "segment_valence": seg_val_head},
        1.0,
        cfg,
        {"name": name},
    )
    x_text = model._text_rows(texts, [oof[idx] for idx in seg_index])
    y_text = [r[2] for r in rows]
    x_val = model._valence_rows(
        texts, [oof[idx] for idx in seg_index], [oof_v[idx] for idx in seg_index]
    )
    y_val = [r[3] for r in rows]
    say("fitting the text heads")
    model.heads["text"] = Head.fit(x_text, y_text, cfg.text_c, cfg.text_balance)
    model.heads["valence"] = Head.fit(x_val, y_val, cfg.valence_c, cfg.balance)
    # Temperature from out-of-fold text-head logits: confidence that means accuracy.
    logits = np.zeros((len(rows), len(taxonomy.labels)))
    for k in range(cfg.stack_folds):
        tr = fold != k
        y_tr = [y_text[i] for i in np.flatnonzero(tr)]
        h = Head.fit(x_text[tr], y_tr, cfg.text_c, cfg.text_balance)
        logits[~tr] = np.log(np.maximum(h.proba(x_text[~tr], taxonomy.labels), 1e-9))
    model.temperature = fit_temperature(logits, [taxonomy.labels.index(y) for y in y_text])
    model.meta.update(
        {
            "trained_seconds": round(time.perf_counter() - started, 1),
            "n_texts": len(items),
            "n_units": len(units.texts),
        }
    )
    return model


def _add(u: _Units, text: str, vec: np.ndarray, stage: str, valence: str, w: float, n: int):
    u.texts.append(text)
    u.vecs.append(vec)
    u.stage.append(stage)
    u.valence.append(valence)
    u.weight.append(w)
    u.owner.append(n)


def fit_temperature(logits: np.ndarray, gold: Sequence[int]) -> float:
    """The temperature minimising the negative log-likelihood of the gold labels."""
    from scipy.optimize import minimize_scalar

    idx = np.asarray(gold)

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -float(logp[np.arange(len(idx)), idx].mean())

    return round(float(minimize_scalar(nll, bounds=(0.05, 20), method="bounded").x), 4)


def model_card(m: dict[str, Any]) -> str:
    """A short model card from the manifest."""
    data = "\n".join(
        f"- `{d['file']}`: {d['n']} texts, sha256 {d['sha256'][:16]}" for d in m.get("data", [])
    )
    metrics = m.get("metrics") or {}
    lines = "\n".join(
        f"| {k} | {v} |" for k, v in metrics.items() if isinstance(v, int | float | str)
    )
    return (
        f"# motai local model `{m.get('name')}`\n\n"
        f"Tags texts with the stages of `{m['taxonomy']['ref']}` (taxonomy hash "
        f"{m['taxonomy']['hash']}), offline, with the embedder `{m['embedder']}`.\n\n"
        f"## Training data\n{data or '- (not recorded)'}\n\n"
        f"Trained with motai {m.get('motai_version')} in {m.get('trained_seconds')} s.\n\n"
        "## Cross-validated metrics\n"
        + (f"| measure | value |\n|---|---|\n{lines}\n" if lines else "Not measured.\n")
        + "\n## Limits\nEnglish: other languages are tagged, flagged in `language`, and less "
        "reliable. The labels are only as good as the training data; a model never tags "
        "better than its labels agree.\n"
    )


def _bundle_file(folder: str | Path, name: str) -> Path:
    f = Path(folder) / name
    if not f.is_file():
        raise MotaiError(
            f"{folder}: not a motai model (no {name}); train one with "
            "`motai train DATA.jsonl -o MODEL_DIR`"
        )
    return f


def bundle_taxonomy(path: str | Path) -> Taxonomy:
    """The taxonomy a bundle was trained on, read without loading its weights."""
    f = _bundle_file(path, "taxonomy.yaml")
    try:
        raw = yaml.safe_load(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise MotaiError(f"{f}: unreadable: {exc}".replace("\n", " ")) from None
    return parse_taxonomy(raw, str(f))
