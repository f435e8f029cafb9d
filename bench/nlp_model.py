"""Throughput of the default risk model (and sentiment model) on CPU: posts per second.

Run on demand, not in the test suite:

    .venv/bin/python -m bench.nlp_model [--threads 2] [--posts 3000] [--model data/models/risk]

Texts come from the COLD dev split and held-out reviews when ../shared/data is present (real post
lengths), else from the in-repo labelled posts. Target: >= 200 posts/s for risk on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nlp.model.datasets import load_cold, load_labelled, load_reviews
from nlp.model.scorer import TransformersRiskScorer
from nlp.model.sentiment import SentimentScorer

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared" / "data").resolve()


def sample_texts(posts: int) -> tuple[list[str], str]:
    if (SHARED / "text").is_dir():
        texts = [e.text for e in load_cold(SHARED, "dev")] + [e.text for e in load_reviews(SHARED, "dev", 3000)]
        source = "COLD dev + held-out reviews"
    else:
        texts = [e.text for split in ("train", "tune", "dev") for e in load_labelled(split)]
        source = "in-repo labelled posts"
    repeated = (texts * (posts // len(texts) + 1))[:posts]
    return repeated, source


def throughput(score: object, texts: list[str], batch: int) -> float:
    assert callable(score)
    score(texts[:batch])  # warm-up: lazy load, first-call allocations
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        score(texts[start : start + batch])
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256, help="posts per score() call, as the pipeline batches")
    parser.add_argument("--model", type=Path, default=ROOT / "data" / "models" / "risk")
    parser.add_argument("--sentiment-model", type=Path, default=ROOT / "data" / "models" / "sentiment")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    texts, source = sample_texts(args.posts)
    result: dict[str, object] = {
        "threads": args.threads,
        "posts": len(texts),
        "texts": source,
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
    }
    risk = TransformersRiskScorer.from_pretrained(args.model)
    result["risk_version"] = risk.version
    result["risk_posts_per_s"] = round(throughput(risk.score, texts, args.batch), 1)
    if risk.ngram_weight > 0:
        alone = TransformersRiskScorer.from_pretrained(args.model, variant="transformers")
        result["risk_transformers_only_posts_per_s"] = round(throughput(alone.score, texts, args.batch), 1)
    if (args.sentiment_model / "patrol_model.json").is_file():
        sentiment = SentimentScorer.from_pretrained(args.sentiment_model)
        result["sentiment_version"] = sentiment.version
        result["sentiment_posts_per_s"] = round(throughput(sentiment.score, texts, args.batch), 1)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
