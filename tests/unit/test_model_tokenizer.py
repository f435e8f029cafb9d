from pathlib import Path

from nlp.model.tokenizer import SPECIAL_TOKENS, build_char_tokenizer, build_char_vocab, load_tokenizer

TEXTS = ["南岗区学府路着火了 call 119", "道里中央大街 www.example.com", "学府路 119 着火"] * 2


def test_vocab_starts_with_special_tokens_and_continues_non_han_chars() -> None:
    vocab = build_char_vocab(TEXTS, min_count=2)
    assert tuple(vocab[: len(SPECIAL_TOKENS)]) == SPECIAL_TOKENS
    assert "南" in vocab and "##南" not in vocab  # Han characters are always split one by one
    assert "c" in vocab and "##c" in vocab and "##1" in vocab
    assert len(vocab) == len(set(vocab))


def test_min_count_and_max_size_limit_the_vocabulary() -> None:
    assert "x" not in build_char_vocab(["x", "yy"], min_count=2)
    assert len(build_char_vocab(TEXTS, min_count=1, max_size=8)) == 8


def test_round_trip_through_save_pretrained(tmp_path: Path) -> None:
    tokenizer = build_char_tokenizer(TEXTS, min_count=1)
    text = "学府路着火了 CALL 119"
    tokens = tokenizer.tokenize(text)
    assert "".join(t.removeprefix("##") for t in tokens) == "学府路着火了call119"
    assert "[UNK]" not in tokens
    tokenizer.save_pretrained(str(tmp_path))
    reloaded = load_tokenizer(tmp_path)
    assert reloaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert reloaded.convert_ids_to_tokens(reloaded(text)["input_ids"])[0] == "[CLS]"


def test_unseen_characters_become_unknown() -> None:
    tokenizer = build_char_tokenizer(TEXTS, min_count=1)
    assert tokenizer.tokenize("龘") == ["[UNK]"]
