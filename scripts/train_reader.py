"""Train the evidence reader cs_rag ships (src/cs_rag/data/reader.safetensors).

    python scripts/train_reader.py [--folds N] [--layers 12 --train-layers 4 --epochs 6]

The data is the project's own writing (training/reader/writer_*/): each writer invented two
companies, their FAQ entries and policy paragraphs (`entries.jsonl`), and for every entry
customer questions it answers and near misses it does not (`questions.jsonl`, `label`
answers / not_answered). Pairs: every question with its own entry (its label), and every
question with the nearest other entry of its company by the base e5 model plus one drawn at
random (both "does not answer": the writers checked each near miss against every entry, and
an answered question against another entry is what retrieval's wrong first hits look like).

The model is e5-small cut to `--layers` layers, of which the top `--train-layers` and a
one-logit head over the mean-pooled, normalised pair are trained (binary cross-entropy, classes
balanced). `--folds N` splits the writers into N groups, trains on all but one and reports, on
the writers left out, the AUC of answered against near-miss questions on their own entry and
over all pairs; it writes nothing. Without it the model is trained on every writer and written.
The recipe (12 layers, the top 4 trained, learning rates, 6 epochs) followed the training loss,
which still fell after 3 epochs, not an evaluation figure; the one fold run (2 folds, 3 epochs,
writers A, C, E left out) gave AUC .752 and .834. No evaluation set and no
customer question of the sample shop is read. On 2 cores the frozen layers read 5,400 pairs in
about 3 minutes and each epoch takes about 6 (the shipped reader: about 38 minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import transformers

from cs_rag.models.e5_convert import E5_MODEL_NAME, e5_model_dir
from cs_rag.models.reader import (SHIPPED, build_head, evidence_text, load_base, pair_batch, pool,
                                  pooled, question_text, write_weights)

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "training" / "reader"
SEED = 0
BATCH = 16
MAX_LENGTH = 192
LAYER_RATE, HEAD_RATE = 1e-4, 1e-3


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            sys.exit(f"{path}:{number}: not JSON: {exc}")
    return rows


def load_writers(folder: Path) -> dict[str, tuple[dict[str, dict], list[dict]]]:
    """writer letter -> (entry id -> entry, questions); a bad line exits naming file and line."""
    writers = {}
    for sub in sorted(folder.glob("writer_*")):
        entries = {}
        for number, entry in enumerate(read_jsonl(sub / "entries.jsonl"), 1):
            if not all(isinstance(entry.get(key), str) for key in ("id", "company", "title", "text")):
                sys.exit(f"{sub / 'entries.jsonl'}:{number}: needs id, company, title and text")
            entries[entry["id"]] = entry
        questions = read_jsonl(sub / "questions.jsonl")
        for number, q in enumerate(questions, 1):
            if (q.get("entry") not in entries or q.get("label") not in ("answers", "not_answered")
                    or not isinstance(q.get("question"), str)):
                sys.exit(f"{sub / 'questions.jsonl'}:{number}: needs a question, a known entry and a label")
        per_company = {}
        for entry in entries.values():
            per_company[entry["company"]] = per_company.get(entry["company"], 0) + 1
        if min(per_company.values(), default=0) < 3:
            sys.exit(f"{sub / 'entries.jsonl'}: every company needs at least 3 entries")
        writers[sub.name.removeprefix("writer_")] = (entries, questions)
    if not writers:
        sys.exit(f"no training/reader/writer_* folders under {folder}")
    return writers


def entry_text(entry: dict) -> str:
    return evidence_text(entry["title"], entry["text"])


def make_pairs(writers, names, encoder, rng: random.Random) -> list[tuple[str, str, float]]:
    """(question, evidence, label) for the writers in `names` (see the module docstring)."""
    pairs = []
    for name in names:
        entries, questions = writers[name]
        ids = list(entries)
        company = {i: entries[i]["company"] for i in ids}
        vectors = encoder([entry_text(entries[i]) for i in ids], "passage")
        qvecs = encoder([q["question"] for q in questions], "query")
        for q, qv in zip(questions, qvecs):
            own = q["entry"]
            pairs.append((q["question"], entry_text(entries[own]), float(q["label"] == "answers")))
            others = [j for j, i in enumerate(ids) if company[i] == company[own] and i != own]
            nearest = max(others, key=lambda j: float(vectors[j] @ qv))
            drawn = rng.choice([j for j in others if j != nearest])
            for j in (nearest, drawn):
                pairs.append((q["question"], entry_text(entries[ids[j]]), 0.0))
    return pairs


def base_encoder():
    """Base e5 vectors (for choosing hard negatives only)."""
    from cs_rag.models.embedding import Embedder

    embedder = Embedder()
    return lambda texts, role: embedder.encode(texts, role)


def train(pairs, layers: int, train_layers: int, epochs: int, seed: int = SEED):
    """The cut model with its top `train_layers` layers and the head trained on `pairs`.

    The frozen layers below read each pair once: their output is kept (batches of similar
    length, so little padding) and every epoch trains only the top layers on it."""
    torch.manual_seed(seed)
    tokenizer, model = load_base(e5_model_dir(), layers)
    head = build_head(model.config.hidden_size)
    for p in model.parameters():
        p.requires_grad = False
    bottom, top = model.encoder.layer[:layers - train_layers], model.encoder.layer[layers - train_layers:]
    for p in top.parameters():
        p.requires_grad = True
    optimiser = torch.optim.AdamW([{"params": top.parameters(), "lr": LAYER_RATE},
                                   {"params": head.parameters(), "lr": HEAD_RATE}], weight_decay=0.01)
    labels = np.array([p[2] for p in pairs])
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((labels == 0).sum() / max((labels == 1).sum(), 1)))
    started = time.perf_counter()
    model.encoder.layer = bottom
    batches = list(_frozen_batches(tokenizer, model, pairs))
    model.encoder.layer = bottom + top
    print(f"  frozen layers read {len(pairs)} pairs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rng = random.Random(seed)
    top.train()
    for epoch in range(epochs):
        rng.shuffle(batches)
        started, total = time.perf_counter(), 0.0
        for frozen, mask, target in batches:
            states = frozen.float()
            extended = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in top:
                states = layer(states, attention_mask=extended)
                states = states[0] if isinstance(states, tuple) else states
            logits = head(pool(states, mask)).squeeze(-1)
            loss = loss_fn(logits, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(target)
        print(f"  epoch {epoch + 1}: loss {total / len(pairs):.4f}, {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    model.eval()
    head.eval()
    return tokenizer, model, head, [f"encoder.layer.{layers - train_layers + i}." for i in range(train_layers)]


def _frozen_batches(tokenizer, model, pairs):
    """(output of the frozen layers as float16, attention mask, labels) per batch of pairs of
    similar length."""
    lengths = [len(tokenizer(question_text(q), e, truncation="longest_first", max_length=MAX_LENGTH)["input_ids"])
               for q, e, _ in pairs]
    order = sorted(range(len(pairs)), key=lambda i: lengths[i])
    with torch.no_grad():   # not inference_mode: its tensors cannot feed a backward pass
        for start in range(0, len(order), BATCH):
            chunk = [pairs[i] for i in order[start:start + BATCH]]
            batch = pair_batch(tokenizer, [q for q, _, _ in chunk], [e for _, e, _ in chunk], MAX_LENGTH)
            states = model(**batch).last_hidden_state
            yield (states.half().clone(), batch["attention_mask"].clone(),
                   torch.tensor([y for _, _, y in chunk], dtype=torch.float32))


def score(tokenizer, model, head, pairs) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for start in range(0, len(pairs), 64):
            chunk = pairs[start:start + 64]
            batch = pair_batch(tokenizer, [q for q, _, _ in chunk], [e for _, e, _ in chunk], MAX_LENGTH)
            out.append(torch.sigmoid(head(pooled(model, batch)).squeeze(-1)).numpy())
    return np.concatenate(out)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def folds(writers, args) -> None:
    encoder = base_encoder()
    rows = []
    names = list(writers)
    for fold in range(args.folds):
        left = names[fold::args.folds]
        rng = random.Random(SEED)
        train_pairs = make_pairs(writers, [w for w in writers if w not in left], encoder, rng)
        test_pairs = make_pairs(writers, left, encoder, rng)
        left = "".join(left)
        print(f"writer {left} left out: {len(train_pairs)} training pairs", file=sys.stderr)
        tok, model, head, _ = train(train_pairs, args.layers, args.train_layers, args.epochs)
        scores = score(tok, model, head, test_pairs)
        labels = np.array([y for _, _, y in test_pairs])
        own = np.array([i % 3 == 0 for i in range(len(test_pairs))])   # each question's own-entry pair
        rows.append((left, auc(labels[own], scores[own]), auc(labels, scores)))
        print(f"  {left}: near-miss AUC {rows[-1][1]:.3f}, all pairs AUC {rows[-1][2]:.3f}", file=sys.stderr)
    print("| writer left out | answered vs near miss, own entry (AUC) | all pairs (AUC) |")
    print("|---|---|---|")
    for left, near, every in rows:
        print(f"| {left} | {near:.3f} | {every:.3f} |")
    print(f"| mean | {np.mean([r[1] for r in rows]):.3f} | {np.mean([r[2] for r in rows]):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--train-layers", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--folds", type=int, default=0,
                        help="figures on writers left out, in this many folds; writes nothing")
    args = parser.parse_args()
    torch.set_num_threads(2)
    transformers.logging.set_verbosity_error()
    writers = load_writers(args.data)
    if args.folds:
        folds(writers, args)
        return
    pairs = make_pairs(writers, list(writers), base_encoder(), random.Random(SEED))
    tok, model, head, prefixes = train(pairs, args.layers, args.train_layers, args.epochs)
    tensors = {k: v.numpy() for k, v in model.state_dict().items() if k.startswith(tuple(prefixes))}
    tensors.update({f"head.{k}": v.numpy() for k, v in head.state_dict().items()})
    digest = hashlib.sha256()
    for sub in sorted(args.data.glob("writer_*")):
        for name in ("entries.jsonl", "questions.jsonl"):
            digest.update((sub / name).read_bytes())
    write_weights(args.out, tensors, {"base_model": E5_MODEL_NAME, "layers": args.layers,
                                      "train_layers": args.train_layers, "epochs": args.epochs,
                                      "max_length": MAX_LENGTH, "pairs": len(pairs),
                                      "data_sha256": digest.hexdigest()[:16]})
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) from {len(pairs)} pairs")


if __name__ == "__main__":
    main()
