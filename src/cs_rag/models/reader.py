"""The evidence reader: does a knowledge text answer what the customer asked?

Retrieval finds the entry nearest to a question; a near miss (the question is about that
entry's topic, in its words, but asks for a price, a time limit, an event or a feature the
text never states) is near too. The reader is a cross-encoder: the question and the evidence
are read together by the multilingual e5-small model, whose top layers and a one-logit head
were trained by `scripts/train_reader.py` on the project's own writing (`training/reader/`:
invented companies' FAQ entries and policies, customer questions each text answers, and near
misses it does not). It ships as `src/cs_rag/data/reader.safetensors`: only the trained
layers and the head (float16), applied to the e5 weights cs_rag builds anyway.

`scores(question, evidences)` is, for each text, a 0-1 score that it answers the question (the
sigmoid of the head; training weighted the answered pairs up, so it is not a calibrated
probability: `retrieval.reader_threshold` is chosen on questions).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cs_rag.errors import EmbeddingError
from cs_rag.models.embedding import LazyModel, default_cache_dir, offline, shared_model, use_cores
from cs_rag.types import DocumentKind, Hit

log = logging.getLogger(__name__)
SHIPPED = Path(__file__).resolve().parent.parent / "data" / "reader.safetensors"
HEAD = "head."   # prefix of the head's tensors; every other tensor names a transformer parameter


def question_text(question: str) -> str:
    """The question as the reader reads it (the e5 query role)."""
    return "query: " + question.strip()


def evidence_text(title: str | None, body: str) -> str:
    """A knowledge text as the reader reads it: its title or headings, then the text."""
    head = (title or "").strip()
    return "passage: " + (f"{head}\n{body.strip()}" if head else body.strip())


def hit_evidence(hit: Hit) -> str:
    """What a hit tells the customer: an FAQ entry's question and answer, or a passage under
    its headings."""
    if hit.kind is DocumentKind.FAQ:
        return evidence_text(hit.question, hit.text)
    return evidence_text(" / ".join(hit.heading_path), hit.text)


class EvidenceReader:
    """The shipped reader (or the weights at `path`), loaded on first use and shared by every
    reader of the same weights and precision ("auto": bfloat16 where `fast_bfloat16`). Weights
    that cannot be read raise EmbeddingError naming the file, at the first call that needs them.
    A pair longer than the model reads (192 tokens: about 250 Chinese characters with the
    question) loses the end of the longer text, usually the passage's."""

    def __init__(self, path: Path | None = None, cache_dir: Path | None = None, precision: str = "auto",
                 threads: int = 0) -> None:
        self.path = Path(path).expanduser() if path is not None else SHIPPED
        self._cache_dir = cache_dir or default_cache_dir()
        self.threads = threads   # torch threads of a read (0: every core)
        self.bfloat16 = precision == "bfloat16" or (precision == "auto" and fast_bfloat16())
        self._model: LazyModel = shared_model(("reader", str(self.path), str(self._cache_dir), self.bfloat16),
                                              self._build)

    def scores(self, question: str, evidences: Sequence[str]) -> np.ndarray:
        """The 0-1 score that each of `evidences` (texts from `evidence_text` or `hit_evidence`)
        answers `question`."""
        if not evidences:
            return np.zeros(0, dtype=np.float32)
        import torch

        tokenizer, model, head, max_length = self._model.get()
        batch = pair_batch(tokenizer, [question] * len(evidences), evidences, max_length)
        use_cores(self.threads)
        with torch.inference_mode():
            logits = head(pooled(model, batch)).squeeze(-1)
        return torch.sigmoid(logits).numpy().astype(np.float32)

    def _build(self):
        offline()
        try:
            return self._load()
        except (ValueError, OSError) as exc:
            raise EmbeddingError(f"cannot load the evidence reader {self.path}: {exc}") from None

    def _load(self):
        import torch

        from cs_rag.models.e5_convert import E5_MODEL_NAME, e5_model_dir

        tensors, meta = read_weights(self.path)
        if meta.get("base_model", E5_MODEL_NAME) != E5_MODEL_NAME:
            raise ValueError(f"trained on {meta['base_model']}, not {E5_MODEL_NAME}")
        folder = e5_model_dir(self._cache_dir)
        tokenizer, model = load_base(folder, int(meta["layers"]))
        head = build_head(model.config.hidden_size)
        apply_weights(model, head, tensors, self.path)
        if self.bfloat16:
            model.to(torch.bfloat16)   # the head stays float32: `pooled` hands it float32
        log.info("evidence reader %s in %s", self.path.name, "bfloat16" if self.bfloat16 else "float32")
        model.eval()
        head.eval()
        return tokenizer, model, head, int(meta["max_length"])


def load_base(folder: Path, layers: int):
    """The e5 tokenizer and transformer from `folder`, cut to its first `layers` layers."""
    from transformers import AutoTokenizer, XLMRobertaModel

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = XLMRobertaModel.from_pretrained(str(folder), add_pooling_layer=False)
    if not 0 < layers <= len(model.encoder.layer):
        raise ValueError(f"the reader needs {layers} layers, the model has {len(model.encoder.layer)}")
    model.encoder.layer = model.encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    return tokenizer, model


def pair_batch(tokenizer, questions: Sequence[str], evidences: Sequence[str], max_length: int):
    """Questions and evidence texts tokenized as padded pairs, the way the reader reads them:
    a pair longer than `max_length` loses tokens from its longer side."""
    return tokenizer([question_text(q) for q in questions], list(evidences), truncation="longest_first",
                     max_length=max_length, padding=True, return_tensors="pt")


def build_head(hidden: int):
    """The one-logit head over the mean-pooled pair."""
    import torch

    return torch.nn.Linear(hidden, 1)


def pooled(model, batch):
    """The pair as one float32 vector: `pool` over the transformer's last hidden states."""
    return pool(model(**batch).last_hidden_state.float(), batch["attention_mask"])


def fast_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX). The reader then runs
    in bfloat16: about 1.6 times faster on this project's machine, scores within .07 of float32's
    on eval/ questions (docs/retrieval-and-confidence.md, "The evidence reader")."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def pool(states, attention_mask):
    """Mean of the hidden states over the real tokens, L2-normalised (e5's own pooling)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return torch.nn.functional.normalize(mean, dim=-1)


def apply_weights(model, head, tensors: dict[str, np.ndarray], source: Path) -> None:
    """Copies trained tensors into the cut transformer and the head."""
    import torch

    state = model.state_dict()
    head_state = head.state_dict()
    if not any(name.startswith(HEAD) for name in tensors):
        raise ValueError(f"{source}: no head tensors")
    with torch.no_grad():
        for name, value in tensors.items():
            target = head_state.get(name[len(HEAD):]) if name.startswith(HEAD) else state.get(name)
            if target is None or tuple(target.shape) != value.shape:
                raise ValueError(f"{source}: tensor {name} does not fit the reader's model")
            target.copy_(torch.from_numpy(value.astype(np.float32)))


def read_weights(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The trained tensors and the metadata of a reader file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (OSError, ValueError, SafetensorError) as exc:
        raise ValueError(f"{path}: not a reader file: {exc}") from None
    missing = {"layers", "max_length"} - set(meta)
    if missing:
        raise ValueError(f"{path}: reader metadata lacks {sorted(missing)}")
    return tensors, meta


def write_weights(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, object]) -> None:
    """Stores trained tensors (float16) with their metadata; no pickle."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v, dtype=np.float16) for k, v in tensors.items()}, str(path),
              metadata={k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
