"""One question, two vectors, one pass: the base embedding model's and a knowledge base's fine-tuned
model's.

A fine-tune changes only the model's top layers (models.tuning). The layers below them are the
base model's, so a question runs through them once and their output goes on through the base
model's top layers and through the tuned ones. On the answer path of a fine-tuned knowledge
base the guard's message model reads the base vector and retrieval the tuned one: about 1.3
passes instead of two (benchmarks/README.md, "One embedding pass for the guard and retrieval").

Only sentence-transformers models made of a transformer, mean pooling over every token and
normalisation (e5's shape) are split; for any other `split_point` says no and the caller embeds twice.
"""

from __future__ import annotations

import re

import numpy as np

_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.")


def split_point(tensors: dict[str, np.ndarray], model) -> int | None:
    """The first transformer layer the tuned `tensors` change, when the layers below it are the
    base `model`'s own and the model pools the way `vectors_after_split` does; else None."""
    layers = [_LAYER.match(name) for name in tensors]
    if not tensors or not all(layers):
        return None
    modules = [type(module).__name__ for module in model]
    if modules != ["Transformer", "Pooling", "Normalize"] or getattr(model[1], "pooling_mode", None) != "mean" \
            or not getattr(model[1], "include_prompt", False):   # the mean must cover the prompt's tokens
        return None
    return min(int(found.group(1)) for found in layers)


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

    return torch.nn.functional.normalize(hidden.mean(dim=1), dim=-1)[0].float().numpy()
