"""From ads to token ids: the input text, head+tail truncation and dynamic padding.

Training and scoring share these functions so that a model sees exactly the same input
at both times. Long ads keep their head (title, the pitch) and their tail (contacts,
conditions) rather than being cut at an arbitrary point: the middle is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Sequence

#: e5 was trained with "query: " for classification-style inputs and "passage: " for documents;
#: the ad is the thing being classified, so it is read as a query (as the e5 paper recommends).
PREFIX = "query: "


def ad_input_text(text: str, title: str | None = None) -> str:
    """The text the model reads: prefix, title (if not already the first line), body."""
    text = (text or "").strip()
    title = (title or "").strip()
    if title and not text.startswith(title):
        text = f"{title}\n{text}"
    return PREFIX + text


def head_tail(ids: Sequence[int], budget: int, head: int) -> list[int]:
    """Keep `head` leading and `budget - head` trailing ids when `ids` exceed `budget`."""
    if len(ids) <= budget:
        return list(ids)
    head = max(0, min(head, budget))
    tail = budget - head
    return list(ids[:head]) + (list(ids[-tail:]) if tail else [])


def encode_texts(tokenizer: Any, texts: Sequence[str], max_len: int, head: int | None = None) -> list[list[int]]:
    """Token ids with <s> … </s>, at most `max_len` long, truncated head+tail.

    `head` defaults to a quarter of the content budget: the start of an ad is its title and
    hook, the rest of the budget goes to the end, where contacts and conditions are.
    """
    budget = max_len - 2
    head = budget // 4 if head is None else head
    content = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return [[bos, *head_tail(ids, budget, head), eos] for ids in content]


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int, width: int | None = None):
    """Dynamic padding: (input_ids, attention_mask) tensors as long as the longest row (or `width`)."""
    import torch

    width = max(max(len(r) for r in batch), width or 0)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def fixed_shape_batches(
    ids: Sequence[Sequence[int]], rows: int, bucket: int
) -> Iterator[tuple[list[int], list[list[int]], int]]:
    """(input positions, rows of ids, width) per batch of exactly `rows` rows, padded to a
    multiple of `bucket` tokens; a short last batch is filled with copies of its first row.

    Every ad is computed in a batch of the same shape whatever else is scored with it, so
    its result never depends on its batch-mates (kernels round differently per shape)."""
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(ids):
        groups.setdefault(-(-len(row) // bucket) * bucket, []).append(i)
    for width, members in sorted(groups.items()):
        for s in range(0, len(members), rows):
            idx = members[s : s + rows]
            yield idx, [list(ids[i]) for i in idx] + [list(ids[idx[0]])] * (rows - len(idx)), width


def fixed_shape_feeds(
    ids: Sequence[Sequence[int]], rows: int, bucket: int, pad_id: int
) -> Iterator[tuple[list[int], dict]]:
    """`fixed_shape_batches` as numpy inputs for an exported graph: (input positions,
    {"input_ids", "attention_mask"}) per batch."""
    import numpy as np

    for idx, batch, width in fixed_shape_batches(ids, rows, bucket):
        input_ids = np.full((rows, width), pad_id, dtype=np.int64)
        mask = np.zeros((rows, width), dtype=np.int64)
        for k, row in enumerate(batch):
            input_ids[k, : len(row)] = row
            mask[k, : len(row)] = 1
        yield idx, {"input_ids": input_ids, "attention_mask": mask}
