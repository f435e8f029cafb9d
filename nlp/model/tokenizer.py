"""Character tokenizers for Chinese text.

Chinese BERT checkpoints tokenise one Han character at a time; a model trained from scratch here
does the same with a vocabulary built from its training text. Runs of Latin letters and digits
(URLs, contact handles, prices) fall apart into single characters through WordPiece ``##``
continuations, so they are never unknown as a whole.
"""

from __future__ import annotations

import inspect
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from transformers import AutoTokenizer, BertTokenizerFast, PreTrainedTokenizerBase  # type: ignore[attr-defined]

from nlp.model.text import model_text

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _is_han(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


def build_char_vocab(texts: Iterable[str], *, min_count: int = 2, max_size: int = 8000) -> list[str]:
    """Special tokens, then every character seen ``min_count`` times (most frequent first).

    Non-Han characters also get a ``##`` continuation entry, because the BERT pre-tokeniser keeps
    a run of them together as one word that WordPiece then has to split.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(ch for ch in model_text(text).lower() if not ch.isspace())
    vocab: list[str] = list(SPECIAL_TOKENS)
    seen = set(vocab)
    for char, count in counts.most_common():
        if count < min_count or len(vocab) >= max_size:
            break
        entries = [char] if _is_han(char) else [char, f"##{char}"]
        for entry in entries:
            if entry not in seen and len(vocab) < max_size:
                vocab.append(entry)
                seen.add(entry)
    return vocab


def tokenizer_from_vocab(vocab: list[str]) -> PreTrainedTokenizerBase:
    """A ``BertTokenizerFast`` over ``vocab`` (works with transformers 4.x and 5.x constructors)."""
    params = inspect.signature(BertTokenizerFast.__init__).parameters
    if "vocab" in params:
        return BertTokenizerFast(vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_file = Path(tmp) / "vocab.txt"
        vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
        return BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True)


def build_char_tokenizer(texts: Iterable[str], *, min_count: int = 2, max_size: int = 8000) -> PreTrainedTokenizerBase:
    return tokenizer_from_vocab(build_char_vocab(texts, min_count=min_count, max_size=max_size))


def load_tokenizer(model_dir: Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved beside a model (``save_pretrained``), or a checkpoint's own tokenizer."""
    tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(model_dir))
    return tokenizer
