"""How well near-duplicate grouping finds edited copies of real posts, and how rarely it joins
unrelated ones.

Run from the repository root (reads ../shared/data, never copies it):

    .venv/bin/python -m nlp.neardup_eval [--data ../shared/data] [--originals 1000] [--seed 7] [--json]

Originals are real texts of at least 20 characters from COLD (forum comments), the fraud set (SMS)
and TNEWS (headlines). Each gets one copy per kind of edit that reposts and copy-paste spam make:
insertions, deletions, punctuation changes, a "转：" prefix, emoji, traditional characters, one word
replaced, and a repost with prefix, punctuation and emoji together. Negatives are random pairs of
different originals. Every text goes through the pipeline's `Normalizer` first, as in the stage.

Methods compared, each with its decision rule (a duplicate when ...):
- `simhash<=d`: Charikar's 64-bit SimHash over the text's character 3-grams, the fingerprint the
  pipeline stored before (`nlp.simhash.charikar_simhash_many`): at most d bits differ;
- `minhash1bit64<=d`: the fingerprint the pipeline stores now (`nlp.simhash.simhash_many`), 1-bit
  MinHash over 64 hash functions of the same 3-grams, packed into the same signed 64-bit column:
  at most d bits differ (`NEAR_DUPLICATE_MAX_DISTANCE` is the d in use);
- `minhash128>=0.5`: datasketch MinHash with 128 permutations over the same 3-grams: estimated
  Jaccard similarity at least 0.5 (what a `MinHashLSH` index at threshold 0.5 looks for). It needs
  128 values per post and an LSH index instead of one integer, so it is the reference, not a
  drop-in.

Figures: recall per edit kind, the false-positive rate over unrelated pairs, precision and F1 at
the set's mix of copies and unrelated pairs, and a grouping run (a stream of originals and their
copies grouped greedily, each post joining the group of the first earlier post it duplicates, as
the flag stage does) scored by pairwise precision and recall.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import zhconv

from nlp.normalize import Normalizer
from nlp.segment import RjiebaSegmenter
from nlp.simhash import NEAR_DUPLICATE_MAX_DISTANCE, charikar_simhash_many, content_of, simhash_many

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data"
MIN_CHARS = 20

EDIT_KINDS: tuple[str, ...] = (
    "insertion",
    "deletion",
    "punctuation",
    "repost_prefix",
    "emoji",
    "traditional",
    "changed_word",
    "repost_combo",
)

_FILLERS = ("真的", "大家", "注意", "哈哈", "我觉得", "刚刚", "据说", "！！", "转发一下", "速看")
_EMOJI = ("😂", "🔥", "👍", "[赞]", "[心]", "🙏", "😭", "[doge]", "❤️", "⚠️")
_PREFIXES = ("转：", "转发：", "转发 @香坊热心群众：", "【转】", "rt @bc_news: ", "转自朋友圈：")
_PUNCTUATION = "，。！？、,.!?；;：:"
_REPLACEMENTS = ("今天", "真的", "非常", "那个", "我们", "朋友", "东西", "时候", "马上", "已经")


@dataclass(frozen=True, slots=True)
class Original:
    source: str
    text: str


def load_originals(data_dir: Path, per_source: int, rng: random.Random) -> list[Original]:
    """`per_source` distinct texts of at least `MIN_CHARS` characters from COLD, fraud and TNEWS."""
    text_dir = data_dir.resolve() / "text"
    if not text_dir.is_dir():
        raise FileNotFoundError(f"{text_dir} not found: pass --data pointing at the shared data folder")

    def column(path: Path, name: str, encoding: str = "utf-8") -> list[str]:
        with path.open(encoding=encoding, newline="") as handle:
            return [row[name] for row in csv.DictReader(handle)]

    pools = {
        "cold": column(text_dir / "cold" / "train.csv", "TEXT", "utf-8-sig"),
        "fraud": column(text_dir / "fraud" / "fraud_train.csv", "content"),
        "tnews": [
            json.loads(line)["sentence"]
            for line in (text_dir / "tnews" / "dev.json").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ],
    }
    originals: list[Original] = []
    for source, texts in pools.items():
        unique = sorted({t.strip() for t in texts if len(t.strip()) >= MIN_CHARS})
        originals += [Original(source, t) for t in rng.sample(unique, min(per_source, len(unique)))]
    return originals


# -- edits -----------------------------------------------------------------------------------------


class Editor:
    """The edits reposts and copy-paste spam make, each a function of (text, rng)."""

    def __init__(self, segmenter: RjiebaSegmenter | None = None) -> None:
        self.segmenter = segmenter or RjiebaSegmenter()
        self.edits: dict[str, Callable[[str, random.Random], str]] = {
            "insertion": self.insertion,
            "deletion": self.deletion,
            "punctuation": self.punctuation,
            "repost_prefix": self.repost_prefix,
            "emoji": self.emoji,
            "traditional": self.traditional,
            "changed_word": self.changed_word,
            "repost_combo": self.repost_combo,
        }

    def __call__(self, kind: str, text: str, rng: random.Random) -> str:
        return self.edits[kind](text, rng)

    @staticmethod
    def insertion(text: str, rng: random.Random) -> str:
        for _ in range(rng.randint(1, 2)):
            at = rng.randint(0, len(text))
            text = text[:at] + rng.choice(_FILLERS) + text[at:]
        return text

    @staticmethod
    def deletion(text: str, rng: random.Random) -> str:
        for _ in range(rng.randint(1, 2)):
            width = rng.randint(1, 3)
            at = rng.randint(0, max(0, len(text) - width))
            text = text[:at] + text[at + width :]
        return text

    @staticmethod
    def punctuation(text: str, rng: random.Random) -> str:
        chars = [rng.choice(("，", ",", "。", " ", "！", "")) if c in _PUNCTUATION else c for c in text]
        return "".join(chars) + rng.choice(("！！", "。", "~", "", "？？"))

    @staticmethod
    def repost_prefix(text: str, rng: random.Random) -> str:
        return rng.choice(_PREFIXES) + text

    @staticmethod
    def emoji(text: str, rng: random.Random) -> str:
        for _ in range(rng.randint(1, 3)):
            at = rng.choice((0, len(text), rng.randint(0, len(text))))
            text = text[:at] + rng.choice(_EMOJI) + text[at:]
        return text

    @staticmethod
    def traditional(text: str, rng: random.Random) -> str:
        return str(zhconv.convert(text, rng.choice(("zh-hant", "zh-tw", "zh-hk"))))

    def changed_word(self, text: str, rng: random.Random) -> str:
        words = self.segmenter.cut(text)
        choices = [i for i, w in enumerate(words) if len(w) >= 2 and w.isalnum()]
        if not choices:
            return text + rng.choice(_REPLACEMENTS)
        index = rng.choice(choices)
        words[index] = rng.choice([w for w in _REPLACEMENTS if w != words[index]])
        return "".join(words)

    def repost_combo(self, text: str, rng: random.Random) -> str:
        return self.repost_prefix(self.emoji(self.punctuation(text, rng), rng), rng)


# -- methods ---------------------------------------------------------------------------------------


class Method(Protocol):
    name: str

    def signatures(self, texts: Sequence[str]) -> np.ndarray: ...

    def similar(self, one: np.ndarray, many: np.ndarray) -> np.ndarray:
        """Whether `one` signature duplicates each row of `many` (a boolean vector)."""
        ...


def _popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values.view(np.uint64)).astype(np.int64)


@dataclass
class HammingMethod:
    """64-bit fingerprints compared by Hamming distance, as the store and the flag stage do."""

    name: str
    fingerprints: Callable[[Sequence[str]], list[int]]
    max_distance: int

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        return np.array(self.fingerprints(texts), dtype=np.int64)

    def similar(self, one: np.ndarray, many: np.ndarray) -> np.ndarray:
        usable = (many != 0) & (one != 0)
        return usable & (_popcount(np.bitwise_xor(many, one)) <= self.max_distance)


def stored_fingerprint(max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE) -> HammingMethod:
    """The fingerprint the pipeline stores (1-bit MinHash, `nlp.simhash.simhash_many`)."""
    return HammingMethod(f"minhash1bit64<={max_distance}", simhash_many, max_distance)


def charikar_simhash(max_distance: int) -> HammingMethod:
    return HammingMethod(f"simhash<={max_distance}", charikar_simhash_many, max_distance)


def _shingles(text: str) -> list[bytes]:
    content = content_of(text)
    if len(content) < 3:
        return [content.encode("utf-8")] if content else []
    return [content[i : i + 3].encode("utf-8") for i in range(len(content) - 2)]


@dataclass
class MinHashMethod:
    """datasketch MinHash with `num_perm` values; a duplicate when the estimated Jaccard >= `threshold`
    (what a `MinHashLSH` index at that threshold returns, minus its banding misses)."""

    num_perm: int = 128
    threshold: float = 0.5
    seed: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"minhash{self.num_perm}>={self.threshold}"

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        from datasketch import MinHash

        rows = np.zeros((len(texts), self.num_perm), dtype=np.uint64)
        for index, text in enumerate(texts):
            shingles = _shingles(text)
            if shingles:
                sketch = MinHash(num_perm=self.num_perm, seed=self.seed)
                sketch.update_batch(shingles)
                rows[index] = sketch.hashvalues
        return rows

    def similar(self, one: np.ndarray, many: np.ndarray) -> np.ndarray:
        if not one.any():
            return np.zeros(len(many), dtype=bool)
        return ((many == one).mean(axis=1) >= self.threshold) & many.any(axis=1)


# -- measurement -----------------------------------------------------------------------------------


@dataclass
class PairSet:
    originals: list[str]
    copies: dict[str, list[str]]  # kind -> copy of each original, aligned
    unrelated: list[tuple[int, int]]  # indices of different originals


def build_pairs(
    originals: Sequence[Original], rng: random.Random, editor: Editor, normalizer: Normalizer, unrelated: int
) -> PairSet:
    texts = [o.text for o in originals]
    copies = {kind: [editor(kind, t, rng) for t in texts] for kind in EDIT_KINDS}
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < unrelated:
        a, b = rng.sample(range(len(texts)), 2)
        pairs.add((min(a, b), max(a, b)))
    normal = [normalizer(t).text for t in texts]
    return PairSet(
        normal,
        {kind: [normalizer(t).text for t in edited] for kind, edited in copies.items()},
        sorted(pairs),
    )


def _pairwise(method: Method, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.array([bool(method.similar(left[i], right[i : i + 1])[0]) for i in range(len(left))])


def measure_pairs(method: Method, pairs: PairSet) -> dict[str, Any]:
    started = time.perf_counter()
    originals = method.signatures(pairs.originals)
    copies = {kind: method.signatures(texts) for kind, texts in pairs.copies.items()}
    texts_done = len(pairs.originals) * (1 + len(copies))
    seconds = time.perf_counter() - started
    recall = {kind: float(_pairwise(method, originals, sig).mean()) for kind, sig in copies.items()}
    left = np.array([a for a, _ in pairs.unrelated])
    right = np.array([b for _, b in pairs.unrelated])
    false_positives = int(_pairwise(method, originals[left], originals[right]).sum())
    positives = len(pairs.originals) * len(copies)
    true_positives = sum(round(r * len(pairs.originals)) for r in recall.values())
    precision = true_positives / max(1, true_positives + false_positives)
    overall = true_positives / positives
    return {
        "method": method.name,
        "recall": round(overall, 4),
        "recall_by_edit": {k: round(v, 4) for k, v in recall.items()},
        "false_positive_rate": round(false_positives / len(pairs.unrelated), 5),
        "precision": round(precision, 4),
        "f1": round(2 * precision * overall / max(1e-9, precision + overall), 4),
        "signatures_per_s": round(texts_done / seconds),
    }


def measure_grouping(method: Method, pairs: PairSet, rng: random.Random, max_copies: int = 3) -> dict[str, float]:
    """Greedy grouping of a shuffled stream of originals and 0..`max_copies` edited copies each."""
    stream: list[tuple[int, str]] = []
    for index, text in enumerate(pairs.originals):
        stream.append((index, text))
        for kind in rng.sample(EDIT_KINDS, rng.randint(0, max_copies)):
            stream.append((index, pairs.copies[kind][index]))
    rng.shuffle(stream)
    signatures = method.signatures([text for _, text in stream])
    groups: list[int] = []
    groups.append(0)
    for position in range(1, len(stream)):
        earlier = np.flatnonzero(method.similar(signatures[position], signatures[:position]))
        groups.append(groups[int(earlier[0])] if len(earlier) else position)
    truth = [origin for origin, _ in stream]
    same_group = both = 0
    by_group: dict[int, list[int]] = {}
    for position, group in enumerate(groups):
        by_group.setdefault(group, []).append(position)
    for members in by_group.values():
        for a, b in itertools.combinations(members, 2):
            same_group += 1
            both += truth[a] == truth[b]
    by_truth: dict[int, int] = {}
    for origin in truth:
        by_truth[origin] = by_truth.get(origin, 0) + 1
    same_truth = sum(n * (n - 1) // 2 for n in by_truth.values())
    precision = both / same_group if same_group else 1.0
    recall = both / same_truth if same_truth else 1.0
    return {
        "posts": len(stream),
        "pair_precision": round(precision, 4),
        "pair_recall": round(recall, 4),
        "pair_f1": round(2 * precision * recall / max(1e-9, precision + recall), 4),
    }


def default_methods(datasketch: bool = True) -> list[Method]:
    methods: list[Method] = [charikar_simhash(d) for d in (3, 6, 8, 12)]
    methods += [stored_fingerprint(d) for d in sorted({6, NEAR_DUPLICATE_MAX_DISTANCE, 10, 12})]
    if datasketch:
        methods.append(MinHashMethod(num_perm=128, threshold=0.5))
    return methods


def run(data_dir: Path, per_source: int, seed: int, unrelated: int, datasketch: bool = True) -> dict[str, Any]:
    rng = random.Random(seed)
    originals = load_originals(data_dir, per_source, rng)
    pairs = build_pairs(originals, rng, Editor(), Normalizer(), unrelated)
    results = []
    for method in default_methods(datasketch):
        result = measure_pairs(method, pairs)
        result["grouping"] = measure_grouping(method, pairs, random.Random(seed + 1))
        results.append(result)
    by_source: dict[str, int] = {}
    for original in originals:
        by_source[original.source] = by_source.get(original.source, 0) + 1
    return {
        "originals": by_source,
        "mean_chars": round(sum(len(o.text) for o in originals) / len(originals), 1),
        "copies_per_original": len(EDIT_KINDS),
        "unrelated_pairs": len(pairs.unrelated),
        "current_max_distance": NEAR_DUPLICATE_MAX_DISTANCE,
        "methods": results,
    }


def _table(report: dict[str, Any]) -> str:
    methods = report["methods"]
    assert isinstance(methods, list)
    head = f"{'method':22} {'recall':>7} {'FPR':>8} {'prec':>7} {'F1':>7} {'grp P':>7} {'grp R':>7} {'sig/s':>8}"
    lines = [head]
    for m in methods:
        group = m["grouping"]
        lines.append(
            f"{m['method']:22} {m['recall']:7.4f} {m['false_positive_rate']:8.5f} {m['precision']:7.4f} "
            f"{m['f1']:7.4f} {group['pair_precision']:7.4f} {group['pair_recall']:7.4f} "
            f"{m['signatures_per_s']:8}"
        )
    lines.append("")
    lines.append("recall by edit: " + " ".join(f"{k:>13}" for k in EDIT_KINDS))
    for m in methods:
        lines.append(f"{m['method']:15} " + " ".join(f"{m['recall_by_edit'][k]:13.3f}" for k in EDIT_KINDS))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default ../shared/data)"
    )
    parser.add_argument("--originals", type=int, default=1000, help="originals per source (COLD, fraud, TNEWS)")
    parser.add_argument("--unrelated", type=int, default=30_000, help="random pairs of different originals")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-datasketch", action="store_true", help="skip datasketch MinHash (slow: ~500 texts/s)")
    args = parser.parse_args(argv)
    try:
        report = run(args.data, args.originals, args.seed, args.unrelated, not args.no_datasketch)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(
            f"originals {report['originals']} (mean {report['mean_chars']} chars), "
            f"{report['copies_per_original']} edited copies each, {report['unrelated_pairs']} unrelated pairs"
        )
        print(_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
