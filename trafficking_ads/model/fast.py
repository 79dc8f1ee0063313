"""Fast CPU inference for the transformer scorer: threads, reduced precision, a pruned vocabulary.

The scorer already batches (length-sorted, dynamically padded, `torch.inference_mode`).
What is left for CPU speed and memory is here, applied to a loaded classifier by
`optimize`, which `TransformerScorer.load` calls:

* threads: one intra-op thread per *physical* core (hyper-threads only contend for the
  same vector units), and one inter-op thread (the network is a single chain of ops);
* precision: "fp32" (as trained), "int8" (dynamic quantization of the encoder's linear
  layers: int8 weights per output channel, activations quantized per batch, over the full
  8-bit range on CPUs with VNNI; the head stays fp32), "int8-mixed" (the same, but the
  feed-forward output layers stay fp32: slower, closer to fp32) or "bf16" (encoder weights and
  activations in bfloat16, pooling and head in fp32: fast on CPUs with AMX / AVX512-BF16,
  slow elsewhere), or "auto" (bf16 where the CPU has it natively, else fp32);
* vocabulary: XLM-R's 250,037-row embedding matrix is most of the model (384 MB in fp32),
  but Russian, Kazakh and English text uses a small part of it. `VocabMap` keeps the rows a
  corpus uses plus every single-character piece (so any text in those scripts still
  segments into known rows), and remaps token ids right after tokenization. The tokenizer
  itself is untouched (pruning its vocabulary would change how words are segmented), so a
  covered text gets exactly the same ids, renumbered; a piece outside the kept set becomes
  <unk>. Pruning is opt-in (`vocab="pruned"`, with the kept list stored in the model dir).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

PRECISIONS = ("fp32", "int8", "int8-mixed", "bf16", "auto")
VOCABS = ("full", "pruned")
THREADS_ENV = "TRAFFICKING_ADS_THREADS"
#: File in a model directory holding the kept token ids (safetensors, int64 "keep").
VOCAB_FILE = "vocab_keep.safetensors"


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-thread siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        sib = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")
        try:
            cores.add(sib.read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def thread_count(n: int | None = None) -> int:
    """Threads to compute with: `n`, else $TRAFFICKING_ADS_THREADS, else the physical cores."""
    env = os.environ.get(THREADS_ENV)
    return max(1, n or (int(env) if env else physical_cores()))


def configure_threads(n: int | None = None) -> int:
    """Set torch's threads to `thread_count(n)` and its inter-op threads to one."""
    import torch

    n = thread_count(n)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel op; later calls are harmless to skip
        pass
    return n


# --- precision -------------------------------------------------------------------------------

def has_vnni() -> bool:
    """True on x86 CPUs with VNNI (AVX512-VNNI or AVX-VNNI): int8 dot products without
    16-bit intermediate sums, so activations can use the full 8-bit range safely."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def has_native_bf16() -> bool:
    """True on x86 CPUs with bfloat16 matrix instructions (AMX-BF16 or AVX512-BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _full_range_linear():
    import torch
    import torch.ao.nn.quantized.dynamic as nnqd

    class FullRangeDynamicLinear(nnqd.Linear):
        """Dynamic int8 linear with 8-bit activations. torch's module always asks for 7-bit
        ones (`reduce_range=True`) to avoid int16 saturation on pre-VNNI CPUs; with VNNI that
        bit is free accuracy (it halves the quantization error of this model's outputs)."""

        def forward(self, x):
            return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)

    return FullRangeDynamicLinear


def quantize_int8(model, *, full_range: bool | None = None, keep_ffn_output: bool = False):
    """The classifier with its encoder's linear layers in int8 (dynamic quantization), in place.

    Weights are quantized once per output channel; activations per batch at run time, over
    the full 8-bit range where the CPU has VNNI (`full_range=None` detects it). The
    embeddings, layer norms and the head stay fp32; so do the feed-forward output layers
    with `keep_ffn_output` (their inputs, GELU outputs, have the widest range).
    """
    import torch
    from torch import nn
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    full_range = has_vnni() if full_range is None else full_range
    names = [n for n, m in model.encoder.named_modules() if isinstance(m, nn.Linear)]
    if keep_ffn_output:
        names = [n for n in names if not (n.endswith("output.dense") and "attention" not in n)]
    spec = {n: per_channel_dynamic_qconfig for n in names}
    mapping = {nn.Linear: _full_range_linear()} if full_range else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice (pinned torch keeps it)
        model.encoder = quantize_dynamic(model.encoder, spec, dtype=torch.qint8, mapping=mapping, inplace=True)
    return model.eval()


class BF16Classifier:
    """Runs a classifier's encoder in bfloat16; pooling and head in fp32 (same outputs as `E5Classifier`)."""

    def __init__(self, model) -> None:
        import torch

        self.model = model
        self.model.encoder.to(torch.bfloat16)
        self.training = False

    def eval(self) -> BF16Classifier:
        self.model.eval()
        return self

    def train(self, mode: bool = True) -> BF16Classifier:
        if mode:
            raise ValueError("a bf16 inference classifier cannot be trained")
        return self

    def __call__(self, input_ids, attention_mask, **_: Any) -> dict:
        hidden = self.model.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state.float()
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        return {"logits": self.model.head(pooled).squeeze(-1)}


# --- tokenizer ---------------------------------------------------------------------------------

class LightTokenizer:
    """The base model's tokenizer.json run through `tokenizers` directly.

    Gives the same ids as `AutoTokenizer` (the same Rust tokenizer does the work) for what
    scoring needs (`encode_texts`: a list of texts, no special tokens; the special ids), at
    a fraction of the cost: measured here, `AutoTokenizer` takes 3.8 s and 467 MB for this
    250k-piece vocabulary, the bare tokenizer 0.9 s and 281 MB.
    """

    SPECIALS: ClassVar[dict[str, str]] = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "unk": "<unk>", "cls": "<s>",
                                          "sep": "</s>", "mask": "<mask>"}

    def __init__(self, path: str | os.PathLike) -> None:
        from tokenizers import Tokenizer

        self.tk = Tokenizer.from_file(str(path))
        self.tk.no_truncation()
        self.tk.no_padding()
        for name, piece in self.SPECIALS.items():
            tid = self.tk.token_to_id(piece)
            if tid is None:
                raise ValueError(f"{path}: no {piece} token")
            setattr(self, f"{name}_token_id", tid)
        self.all_special_ids = sorted({getattr(self, f"{n}_token_id") for n in self.SPECIALS})

    def __len__(self) -> int:
        return self.tk.get_vocab_size(with_added_tokens=True)

    def get_vocab(self) -> dict[str, int]:
        return self.tk.get_vocab(with_added_tokens=True)

    def __call__(self, texts, add_special_tokens: bool = True, **_: Any) -> dict:
        single = isinstance(texts, str)
        enc = self.tk.encode_batch([texts] if single else list(texts), add_special_tokens=add_special_tokens)
        ids = [e.ids for e in enc]
        return {"input_ids": ids[0] if single else ids}


def load_tokenizer(base_dir: str | os.PathLike) -> LightTokenizer:
    """The scoring tokenizer of a converted base directory (see `LightTokenizer`)."""
    return LightTokenizer(Path(base_dir) / "tokenizer.json")


# --- vocabulary pruning ----------------------------------------------------------------------

class VocabMap:
    """Kept token ids (sorted) and the old-id -> new-id table (dropped ids -> new <unk>)."""

    def __init__(self, keep: Sequence[int], vocab_size: int, unk_id: int) -> None:
        keep = np.unique(np.asarray(list(keep) + [unk_id], dtype=np.int64))
        if keep[0] < 0 or keep[-1] >= vocab_size:
            raise ValueError(f"kept ids must lie in [0, {vocab_size}); got {keep[0]}..{keep[-1]}")
        self.keep = keep
        self.vocab_size = int(vocab_size)
        self.unk_id = int(unk_id)
        self.remap = np.full(vocab_size, int(np.searchsorted(keep, unk_id)), dtype=np.int64)
        self.remap[keep] = np.arange(len(keep), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.keep)

    def ids(self, old: Sequence[int]) -> list[int]:
        """Old ids -> new ids."""
        return self.remap[np.asarray(old, dtype=np.int64)].tolist() if len(old) else []

    def covers(self, old: Sequence[int]) -> bool:
        """True when every id is kept (the text needs no <unk> it did not have)."""
        pos = np.searchsorted(self.keep, np.asarray(old, dtype=np.int64))
        return bool(np.all((pos < len(self.keep)) & (self.keep[np.minimum(pos, len(self.keep) - 1)] == np.asarray(old))))

    def save(self, path: str | os.PathLike) -> None:
        """Write the kept ids as safetensors (atomically: temp file, then rename)."""
        import torch
        from safetensors.torch import save_file

        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        save_file({"keep": torch.from_numpy(self.keep.copy())}, str(tmp),
                  metadata={"vocab_size": str(self.vocab_size), "unk_id": str(self.unk_id)})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> VocabMap:
        from safetensors import safe_open

        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            keep = f.get_tensor("keep")
        if "vocab_size" not in meta or "unk_id" not in meta:
            raise ValueError(f"{path}: missing vocab_size/unk_id metadata")
        return cls(keep.tolist(), int(meta["vocab_size"]), int(meta["unk_id"]))


def single_char_pieces(tokenizer) -> list[int]:
    """Ids of pieces that are one character (with or without the word-start mark "▁"):
    the fallback segmentation of any word, whatever its script."""
    vocab = tokenizer.get_vocab()
    return [i for piece, i in vocab.items() if len(piece.lstrip("\u2581")) <= 1]


def build_vocab_map(tokenizer, texts: Iterable[str], batch: int = 512) -> VocabMap:
    """The ids `texts` use, plus special tokens and every single-character piece."""
    used: set[int] = set(tokenizer.all_special_ids)
    used.update(single_char_pieces(tokenizer))
    buf: list[str] = []

    def flush() -> None:
        for ids in tokenizer(buf, add_special_tokens=False, verbose=False)["input_ids"]:
            used.update(ids)
        buf.clear()

    for t in texts:
        buf.append(t)
        if len(buf) >= batch:
            flush()
    if buf:
        flush()
    return VocabMap(sorted(used), len(tokenizer), tokenizer.unk_token_id)


def prune_embeddings(model, vmap: VocabMap) -> None:
    """Replace the encoder's word embeddings by the kept rows (in place)."""
    import torch
    from torch import nn

    encoder = model.encoder
    emb = encoder.embeddings.word_embeddings
    if emb.num_embeddings < vmap.vocab_size:  # the matrix may have spare rows past the tokenizer's ids
        raise ValueError(f"embedding has {emb.num_embeddings} rows, the vocabulary map expects {vmap.vocab_size}")
    rows = emb.weight.detach()[torch.from_numpy(vmap.keep)].clone()
    pad = encoder.config.pad_token_id
    new = nn.Embedding.from_pretrained(rows, freeze=True, padding_idx=None if pad is None else int(vmap.remap[pad]))
    encoder.embeddings.word_embeddings = new
    encoder.config.vocab_size = len(vmap)


class RemappedTokenizer:
    """The original tokenizer, with ids renumbered for a pruned embedding.

    Provides what `encode_texts` and `batched_logits` use: calling it (input_ids only) and
    the bos/eos/pad/unk token ids; everything else is the wrapped tokenizer's.
    """

    def __init__(self, tokenizer, vmap: VocabMap) -> None:
        self.tokenizer = tokenizer
        self.vmap = vmap
        for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "cls_token_id", "sep_token_id"):
            old = getattr(tokenizer, name, None)
            setattr(self, name, None if old is None else int(vmap.remap[old]))

    def __call__(self, texts, **kwargs) -> dict:
        single = isinstance(texts, str)
        out = self.tokenizer([texts] if single else list(texts), **kwargs)
        ids = [self.vmap.ids(row) for row in out["input_ids"]]
        return {"input_ids": ids[0] if single else ids}

    def __getattr__(self, name: str):
        return getattr(self.tokenizer, name)


# --- entry point used by TransformerScorer.load ----------------------------------------------

def optimize(classifier, tokenizer, model_dir: Path, card: dict, *, precision: str | None = None,
             vocab: str | None = None, threads: int | None = None):
    """Apply thread settings, vocabulary pruning and precision to a loaded classifier.

    `precision` defaults to model.json's "precision" (else fp32), `vocab` to its "vocab"
    (else full). Returns (classifier, tokenizer) to score with.
    """
    precision = precision or card.get("precision") or "fp32"
    if precision == "auto":  # bf16 only where the CPU computes it natively; emulated it is slower than fp32
        precision = "bf16" if has_native_bf16() else "fp32"
    vocab = vocab or card.get("vocab") or "full"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (one of: {', '.join(PRECISIONS)})")
    if vocab not in VOCABS:
        raise ValueError(f"unknown vocabulary {vocab!r} (one of: {', '.join(VOCABS)})")
    configure_threads(threads)
    if vocab == "pruned":
        path = Path(model_dir) / card.get("files", {}).get("vocab_keep", VOCAB_FILE)
        if not path.is_file():
            raise ValueError(f"{path}: missing; a pruned vocabulary needs the kept-token list (see benchmarks/vocab_prune.py)")
        vmap = VocabMap.load(path)
        prune_embeddings(classifier, vmap)
        tokenizer = RemappedTokenizer(tokenizer, vmap)
    if precision in ("int8", "int8-mixed"):
        classifier = quantize_int8(classifier, keep_ffn_output=precision == "int8-mixed")
    elif precision == "bf16":
        classifier = BF16Classifier(classifier)
    classifier.precision = precision
    return classifier, tokenizer
