"""One question, two vectors, one pass: the base embedding model's and a knowledge base's fine-tuned
model's.

A fine-tune changes only the model's top layers (models.tuning; `TunedLayers.apply_to` copies the
model and replaces those layers' weights, so the ones below are the base model's). A question
runs through the lower layers once and their output goes on through the base model's top layers
and through the tuned ones. On the answer path of a fine-tuned knowledge base the guard's
message model reads the base vector and retrieval the tuned one: for e5-small (four of twelve
layers tuned) about 1.3 passes instead of two (benchmarks/README.md, "One embedding pass for the
guard and retrieval").

The split calls the transformer's layers one by one, which only some architectures allow, so
`split_point` proves it on a probe text before any question relies on it: both vectors must
equal what sentence-transformers' own `encode` gives. Otherwise it says no and the caller
embeds twice.
"""

from __future__ import annotations

import logging
import re

import numpy as np

log = logging.getLogger(__name__)

_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.")
PROBE = "退货的运费谁出 how long does a refund take"
TOLERANCE = 1e-4   # largest difference in any component from encode's vector


def split_point(tensors: dict[str, np.ndarray], base_model, tuned_model, prompt_name: str | None) -> int | None:
    """The first layer the tuned `tensors` change, when splitting there gives `encode`'s vectors
    of PROBE for both sentence-transformers models (in the query role `prompt_name`); else None.
    Costs one probe pass of each model: call it once per pair."""
    first = structural_split_point(tensors, base_model)
    if first is None:
        return None
    try:
        split = vectors_after_split(base_model, tuned_model, first, PROBE, prompt_text(base_model, prompt_name))
        own = [model.encode([PROBE], prompt_name=prompt_name, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)[0]
               for model in (base_model, tuned_model)]
    except Exception as exc:   # an architecture whose layers need more than the hidden states
        log.warning("embedding each question twice: the model's layers cannot be run one by one (%s)", exc)
        return None
    if all(np.abs(a - b).max() <= TOLERANCE for a, b in zip(split, own)):
        return first
    log.warning("embedding each question twice: the split pass does not reproduce the model's vectors")
    return None


def structural_split_point(tensors: dict[str, np.ndarray], model) -> int | None:
    """The first transformer layer the tuned `tensors` change, when they change nothing but
    encoder layers and `model` is a transformer, mean pooling over every token (the prompt's
    too) and optionally normalisation; else None."""
    layers = [_LAYER.match(name) for name in tensors]
    if not tensors or not all(layers):
        return None
    modules = [type(module).__name__ for module in model]
    if modules not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    pooling = model[1]
    mean = getattr(pooling, "pooling_mode", None) == "mean" or getattr(pooling, "pooling_mode_mean_tokens", False)
    if not mean or not getattr(pooling, "include_prompt", False):
        return None
    return min(int(found.group(1)) for found in layers)


def prompt_text(model, prompt_name: str | None) -> str:
    """The text sentence-transformers puts before a text encoded with `prompt_name` (None: the
    model's default prompt, if any)."""
    prompts = getattr(model, "prompts", None) or {}
    name = prompt_name if prompt_name is not None else getattr(model, "default_prompt_name", None)
    return prompts.get(name, "") if name else ""


def vectors_after_split(base_model, tuned_model, first_tuned: int, text: str, prompt: str) -> tuple[np.ndarray, np.ndarray]:
    """The normalised vectors of `prompt + text` by `base_model` and by `tuned_model`
    (sentence-transformers models that differ only from layer `first_tuned` up), computed with
    the layers below it run once. The caller sets the thread count."""
    import torch

    base, tuned = base_model[0].auto_model, tuned_model[0].auto_model
    ids = base_model.tokenizer([prompt + text], return_tensors="pt", truncation=True,
                               max_length=base_model.max_seq_length)["input_ids"]
    with torch.inference_mode():   # one text: no padding, so no attention mask
        shared = _through(base.encoder.layer[:first_tuned], base.embeddings(input_ids=ids))
        return (_mean_normalised(_through(base.encoder.layer[first_tuned:], shared)),
                _mean_normalised(_through(tuned.encoder.layer[first_tuned:], shared)))


def _through(layers, hidden):
    for layer in layers:
        out = layer(hidden)
        hidden = out[0] if isinstance(out, tuple) else out   # older transformers return tuples
    return hidden


def _mean_normalised(hidden) -> np.ndarray:
    import torch

    return torch.nn.functional.normalize(hidden.float().mean(dim=1), dim=-1)[0].numpy()
