"""Building a transformers classifier: a small BERT from scratch, or a checkpoint given with ``--init``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from nlp.model.tokenizer import build_char_tokenizer, load_tokenizer


@dataclass(frozen=True)
class SmallBert:
    """Sized to train in minutes and score hundreds of posts a second on two CPU cores."""

    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 512
    dropout: float = 0.1
    vocab_min_count: int = 2
    vocab_max_size: int = 8000


def build_classifier(
    labels: list[str],
    train_texts: list[str],
    *,
    init: Path | None,
    multi_label: bool,
    max_length: int,
    architecture: SmallBert = SmallBert(),
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A classifier with one output per label and its tokenizer."""
    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    problem_type: Literal["multi_label_classification", "single_label_classification"] = (
        "multi_label_classification" if multi_label else "single_label_classification"
    )
    if init is not None:
        if not (init / "config.json").is_file():
            raise FileNotFoundError(f"--init {init}: no config.json there; point it at a saved checkpoint folder")
        tokenizer = load_tokenizer(init)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(init),
            problem_type=problem_type,
            num_labels=len(labels),
            id2label=id2label,
            label2id=label2id,
            ignore_mismatched_sizes=True,  # the checkpoint's own head (if any) has other labels
        )
        return model, tokenizer
    tokenizer = build_char_tokenizer(
        train_texts, min_count=architecture.vocab_min_count, max_size=architecture.vocab_max_size
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=architecture.hidden_size,
        num_hidden_layers=architecture.num_layers,
        num_attention_heads=architecture.num_heads,
        intermediate_size=architecture.intermediate_size,
        hidden_dropout_prob=architecture.dropout,
        attention_probs_dropout_prob=architecture.dropout,
        max_position_embeddings=max_length,
        pad_token_id=tokenizer.pad_token_id,
        problem_type=problem_type,
        id2label=id2label,  # sets num_labels too
        label2id=label2id,
    )
    return BertForSequenceClassification(config), tokenizer
