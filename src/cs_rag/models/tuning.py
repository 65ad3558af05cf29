"""A knowledge base's own fine-tune of the embedding model's top layers.

For knowledge with documents beside its FAQ, where the linear adapter cannot be used (see
`eligible`).

An FAQ says which questions mean the same thing (an entry's standard and similar questions)
and what each entry answers. `fine_tune` trains the top TOP_LAYERS transformer layers of the
embedding model on that alone: each question is pulled towards its entry's other questions and
towards its entry's answer (embedded as a passage, so customer questions also learn to meet
document text), against the other pairs of its batch (in-batch negatives, masked where they
share the entry). Nothing else is read: no evaluation set, no customer question.

The result, `TunedLayers`, holds only the changed layers' weights (float16 safetensors, base64
in JSON text: no pickle) plus the short hashes of the question groups it was fitted on, so an
incremental ingest can tell how much of the FAQ changed since (`changed_share`) and refit only
past REFIT_SHARE. Applied to the shared base model it gives the tuned model (`apply_to`).

The recipe was chosen on eval/ (the tuning set) alone: the top four layers for two epochs beat
the top two for one (R@1 .804 vs .789); answers are cut at MAX_TOKENS and batches hold one
kind of pair, which made the fit on knowledge/ 3x faster. benchmarks/decisions.py measures it
against `index.fine_tune = false` on both question sets and the carved public checks
(benchmarks/README.md).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cs_rag.types import DECLINED_TAG, Chunk, DocumentKind

if TYPE_CHECKING:
    from cs_rag.models.embedding import Embedder

TOP_LAYERS = 4         # transformer layers trained; the embeddings and lower layers stay frozen
EPOCHS = 2
LEARNING_RATE = 3e-5
TEMPERATURE = 0.05
BATCH = 32
MAX_PAIRS = 2000       # training pairs per epoch, sampled: bounds the fit on large FAQs
MAX_TOKENS = 256       # text length trained on (answers are cut; questions are short)
MIN_GROUPS = 30        # entries with two or more questions; fewer teach the layers noise
MIN_GROUP_SHARE = 0.5  # ... and at least this share of all FAQ entries
REFIT_SHARE = 0.2      # refit once this share of the FAQ's question groups is new or changed
CACHED_FITS = 8        # fits kept in the cache folder (about 19 MB each for e5-small)
QUERY, PASSAGE = "query", "passage"


@dataclass(frozen=True)
class TrainingPair:
    """An anchor question, a text it should be near, and the entry both belong to."""

    anchor: str
    positive: str
    positive_role: str
    entry: str


@dataclass
class TunedLayers:
    """The fine-tuned top layers of one base model, and what they were fitted on."""

    base_model: str
    tensors: dict[str, np.ndarray]        # parameter name in the transformer -> weights
    groups: list[str] = field(default_factory=list)   # group_hash of every fitted entry
    seconds: float = 0.0

    @cached_property
    def digest(self) -> str:
        """Identifies these weights (part of every embedding key made with them); computed once:
        the tensors are never changed after construction."""
        h = hashlib.sha256(self.base_model.encode())
        for name in sorted(self.tensors):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.tensors[name], dtype="<f2").tobytes())
        return h.hexdigest()[:16]

    def changed_share(self, groups: Sequence[str]) -> float:
        """The share of `groups` (group hashes of today's FAQ) these layers were not fitted on."""
        if not groups:
            return 1.0
        fitted = set(self.groups)
        return sum(g not in fitted for g in groups) / len(groups)

    def to_text(self) -> str:
        from safetensors.numpy import save

        blob = save({k: np.ascontiguousarray(v, dtype=np.float16) for k, v in self.tensors.items()})
        return json.dumps({"base_model": self.base_model, "groups": self.groups,
                           "seconds": round(self.seconds, 1),
                           "safetensors": base64.b64encode(blob).decode("ascii")})

    @classmethod
    def from_text(cls, text: str) -> TunedLayers:
        """The inverse of to_text; ValueError if `text` is not one."""
        from safetensors.numpy import load

        try:
            record = json.loads(text)
            tensors = load(base64.b64decode(record["safetensors"], validate=True))
            return cls(str(record["base_model"]), {k: v.astype(np.float32) for k, v in tensors.items()},
                       [str(g) for g in record["groups"]], float(record.get("seconds", 0.0)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not tuned layers: {exc}") from None

    def apply_to(self, model):
        """A copy of the sentence-transformers `model` with these layers; it shares the
        frozen embeddings with `model` (only the copied layers take new memory)."""
        import torch

        transformer = model[0].auto_model
        memo = {id(transformer.embeddings): transformer.embeddings}
        tuned = copy.deepcopy(model, memo)
        state = tuned[0].auto_model.state_dict()
        unknown = sorted(set(self.tensors) - set(state))
        if unknown:
            raise ValueError(f"tuned layers name parameters the model lacks: {unknown[:3]}")
        with torch.no_grad():
            for name, value in self.tensors.items():
                state[name].copy_(torch.from_numpy(value))
        tuned.eval()
        return tuned


def group_hash(chunk: Chunk) -> str:
    """Short hash of an FAQ entry's questions and answer: what a fit learned from it."""
    blob = json.dumps([chunk.doc_id, chunk.match_texts, chunk.text], ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def question_groups(chunks: Sequence[Chunk]) -> list[Chunk]:
    """The FAQ entries (not answer fields) among `chunks`, without declined ones: wordings the
    team does not answer are not the knowledge's language, and declining them is no reason to
    refit."""
    return [c for c in chunks if c.kind is DocumentKind.FAQ and not c.answer_field
            and DECLINED_TAG not in c.tags]


def eligible(chunks: Sequence[Chunk]) -> bool:
    """Whether to fine-tune on this knowledge: documents beside the FAQ, and enough entries with
    similar questions (MIN_GROUPS, and MIN_GROUP_SHARE of all FAQ entries). FAQ-only knowledge
    is left to the linear adapter (models.adapter): on the FAQ-only carves of banking77 and
    StackFAQ-sim3 the fine-tune on top of it lowered R@1 and let through more out-of-scope
    questions (benchmarks/README.md)."""
    if all(c.kind is DocumentKind.FAQ for c in chunks):
        return False
    entries = question_groups(chunks)
    multi = sum(len(set(c.match_texts)) >= 2 for c in entries)
    return multi >= MIN_GROUPS and multi >= MIN_GROUP_SHARE * len(entries)


def training_pairs(chunks: Sequence[Chunk]) -> list[TrainingPair]:
    """Every ordered pair of an entry's distinct questions, and each question with its answer."""
    pairs = []
    for chunk in question_groups(chunks):
        questions = list(dict.fromkeys(chunk.match_texts))
        for a in questions:
            pairs += [TrainingPair(a, b, QUERY, chunk.doc_id) for b in questions if b != a]
            if chunk.text:
                pairs.append(TrainingPair(a, chunk.text, PASSAGE, chunk.doc_id))
    return pairs


def fine_tune(model, base_model: str, chunks: Sequence[Chunk], seed: int = 0) -> TunedLayers:
    """TunedLayers for `model` (a loaded sentence-transformers model, left unchanged) fitted
    on `chunks`' FAQ entries. Deterministic for a seed. Batches hold pairs of one kind, so
    short question pairs are not padded to an answer's length."""
    import time

    import torch

    started = time.perf_counter()
    rng = random.Random(seed)
    torch.manual_seed(seed)
    pairs = training_pairs(chunks)
    work = copy.deepcopy(model)
    work.max_seq_length = MAX_TOKENS
    transformer = work[0].auto_model
    layers = transformer.encoder.layer
    trained = {f"encoder.layer.{i}" for i in range(len(layers) - TOP_LAYERS, len(layers))}
    params = []
    for name, p in transformer.named_parameters():
        p.requires_grad = any(name.startswith(prefix + ".") for prefix in trained)
        if p.requires_grad:
            params.append(p)
    optimiser = torch.optim.AdamW(params, lr=LEARNING_RATE)
    prompts = work.prompts or {}
    work.train()
    for _ in range(EPOCHS):
        sample = rng.sample(pairs, MAX_PAIRS) if len(pairs) > MAX_PAIRS else pairs[:]
        rng.shuffle(sample)
        batches = []
        for role in (QUERY, PASSAGE):
            of_role = [p for p in sample if p.positive_role == role]
            batches += [of_role[s:s + BATCH] for s in range(0, len(of_role), BATCH)]
        rng.shuffle(batches)
        for batch in batches:
            if len(batch) < 2:
                continue
            anchors = _embed(work, [prompts.get(QUERY, "") + p.anchor for p in batch])
            positives = _embed(work, [prompts.get(p.positive_role, "") + p.positive for p in batch])
            entries = [p.entry for p in batch]
            same = torch.tensor([[a == b and i != j for j, b in enumerate(entries)]
                                 for i, a in enumerate(entries)])
            logits = (anchors @ positives.T / TEMPERATURE).masked_fill(same, -1e4)
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    state = transformer.state_dict()
    tensors = {name: value.detach().numpy().copy() for name, value in state.items()
               if any(name.startswith(prefix + ".") for prefix in trained)}
    return TunedLayers(base_model, tensors, sorted({group_hash(c) for c in question_groups(chunks)}),
                       time.perf_counter() - started)


def cached_fine_tune(model, base_model: str, chunks: Sequence[Chunk],
                     cache: Path) -> tuple[TunedLayers, bool]:
    """`fine_tune`'s result, read from `cache` when the same recipe was fitted on the same FAQ
    before (a rebuilt index, a second replica's ingest, a test run), else fitted and written
    there (the newest CACHED_FITS are kept). Returns the layers and whether they were cached."""
    recipe = [base_model, TOP_LAYERS, EPOCHS, LEARNING_RATE, TEMPERATURE, BATCH, MAX_PAIRS, MAX_TOKENS,
              [[c.doc_id, c.match_texts, c.text] for c in question_groups(chunks)]]
    key = hashlib.sha256(json.dumps(recipe, ensure_ascii=False).encode()).hexdigest()[:24]
    path = cache / f"{key}.json"
    if path.is_file():
        try:
            return TunedLayers.from_text(path.read_text(encoding="utf-8")), True
        except (OSError, ValueError):
            pass   # a damaged copy is fitted again and overwritten
    layers = fine_tune(model, base_model, chunks)
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(layers.to_text(), encoding="utf-8")
    os.replace(partial, path)
    for old in sorted(cache.glob("*.json"), key=lambda f: f.stat().st_mtime)[:-CACHED_FITS]:
        old.unlink(missing_ok=True)
    return layers, False


def _embed(model, texts: list[str]):
    features = (getattr(model, "preprocess", None) or model.tokenize)(texts)
    return model(features)["sentence_embedding"]


def tuning_for(chunks: Sequence[Chunk], previous: TunedLayers | None, embedder: Embedder,
               enabled: bool = True) -> tuple[TunedLayers | None, str | None]:
    """The fine-tuned layers an ingest embeds `chunks` with, and what it did about them: none
    when not `enabled` or the knowledge does not qualify (`eligible`); else
    `previous` (the live version's fit, None to refit) while less than REFIT_SHARE of the FAQ's
    entries changed since it, or a new fit."""
    if not enabled or not eligible(chunks):
        return None, None
    groups = [group_hash(c) for c in question_groups(chunks)]
    if previous is not None and previous.base_model == embedder.name:
        changed = previous.changed_share(groups)
        if changed < REFIT_SHARE:
            return previous, f"kept the fine-tune ({changed:.0%} of the FAQ's entries are new or changed)"
    tuned, cached = embedder.fine_tune(chunks)
    return tuned, (f"fine-tuned the embedding model on {len(groups)} FAQ entries "
                   + ("(the same FAQ's fit, from the cache)" if cached else f"in {tuned.seconds:.0f} s"))
