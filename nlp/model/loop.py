"""The PyTorch parts shared by every transformers model here: batching, training and batched inference."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

log = logging.getLogger(__name__)


def set_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads (the machine is shared; tests use one)."""
    if threads is not None and threads > 0:
        torch.set_num_threads(threads)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids per text, truncated to ``max_length`` (special tokens included), unpadded."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return [list(ids) for ids in encoded["input_ids"]]


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding: to the longest sequence of this batch only."""
    width = max(len(seq) for seq in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches in order of length, so padding is minimal; for inference."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def bucketed_training_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length: sort within random pools of 50 batches, then shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def predict_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 128,
) -> np.ndarray:
    """Logits of shape (texts, labels), in the order of ``texts``."""
    num_labels = len(model.config.id2label or {}) or int(model.config.num_labels or 1)
    out = np.zeros((len(texts), num_labels), dtype=np.float32)
    if not texts:
        return out
    sequences = encode(tokenizer, texts, max_length)
    pad_id = int(tokenizer.pad_token_id or 0)
    model.eval()
    with torch.inference_mode():
        for batch in length_sorted_batches([len(s) for s in sequences], batch_size):
            ids, mask = pad_batch([sequences[i] for i in batch], pad_id)
            logits = model(input_ids=ids, attention_mask=mask).logits
            out[batch] = logits.float().numpy()
    return out


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float32)


@dataclass(frozen=True)
class FitConfig:
    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 32
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128
    seed: int = 13
    time_budget_s: float | None = None
    log_every: int = 200


@dataclass(frozen=True)
class FitStats:
    steps: int
    seconds: float
    final_loss: float
    stopped_by_time: bool


def positive_weights(targets: np.ndarray, cap: float = 10.0) -> torch.Tensor:
    """Per-label weights of positive examples: sqrt(negatives / positives), at most ``cap``.

    Without them the rare categories (a few hundred rows among tens of thousands) are learned as
    "always no" first and their probabilities stay squashed near zero.
    """
    positives = targets.sum(axis=0)
    negatives = targets.shape[0] - positives
    ratio = np.sqrt(negatives / np.maximum(positives, 1.0))
    return torch.tensor(np.clip(ratio, 1.0, cap), dtype=torch.float32)


def lr_factor(done: float, warmup_ratio: float) -> float:
    """Linear warm-up then linear decay to zero, over the fraction of training ``done`` (0..1)."""
    if done < warmup_ratio:
        return max(done / warmup_ratio, 0.01)
    return max(0.0, (1.0 - done) / (1.0 - warmup_ratio))


def _batches_forever(lengths: Sequence[int], batch_size: int, rng: random.Random) -> Iterator[list[int]]:
    while True:
        yield from bucketed_training_batches(lengths, batch_size, rng)


def fit(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    targets: np.ndarray,
    config: FitConfig,
    *,
    multi_label: bool,
    progress: Callable[[str], None] | None = None,
) -> FitStats:
    """Train in place. ``targets``: 0/1 float matrix (multi-label) or class ids (single-label)."""
    if not texts:
        raise ValueError("no training texts: check the data folder and the labelled CSVs")
    rng = random.Random(config.seed)
    sequences = encode(tokenizer, texts, config.max_length)
    lengths = [len(s) for s in sequences]
    steps_per_epoch = math.ceil(len(sequences) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(config.epochs * steps_per_epoch))
    pad_id = int(tokenizer.pad_token_id or 0)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    target_tensor = torch.tensor(targets, dtype=torch.float32 if multi_label else torch.long)
    loss_fn: torch.nn.Module
    if multi_label:
        loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=positive_weights(targets))
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    started = time.monotonic()
    running, step, stopped_by_time = 0.0, 0, False
    done = 0.0
    for step, batch in enumerate(_batches_forever(lengths, config.batch_size, rng), start=1):
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * lr_factor(done, config.warmup_ratio)
        ids, mask = pad_batch([sequences[i] for i in batch], pad_id)
        logits = model(input_ids=ids, attention_mask=mask).logits
        loss = loss_fn(logits, target_tensor[batch])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        running = 0.98 * running + 0.02 * value if step > 1 else value
        elapsed = time.monotonic() - started
        # With a time budget the schedule follows whichever runs out first, steps or seconds, so a
        # run cut short by a busy machine still ends with a fully decayed learning rate.
        done = step / total
        if config.time_budget_s is not None:
            done = max(done, elapsed / config.time_budget_s)
        if progress and (step % config.log_every == 0 or done >= 1.0):
            progress(f"step {step}/{total} loss {running:.4f} elapsed {elapsed:.0f}s")
        if done >= 1.0:
            stopped_by_time = step < total
            if stopped_by_time and progress:
                progress(f"time budget {config.time_budget_s}s reached at step {step}/{total}")
            break
    model.eval()
    return FitStats(step, round(time.monotonic() - started, 1), round(running, 4), stopped_by_time)
