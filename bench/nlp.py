"""NLP stage throughput on real post text: posts per second on 2 cores.

    python -m bench.nlp [--posts 5000] [--workers 2] [--model DIR] [--flag-rates] [--topics] [--demo]

Measured in one run:
(a) normalise + segment + lexicon + places, the per-post core of the stage (target >= 5,000
    posts/s on 2 cores), in one process and in `--workers` processes, with a per-step breakdown;
    then the whole `NlpPipeline.analyse` (keywords, sentiment, fingerprint, search tokens too);
(b) `analyse` with the default transformers risk model (`data/models/risk`, or `--model`) when one
    is installed (target >= 200 posts/s on 2 cores); without one it says so and measures nothing;
(c) segmentation alone: pure-Python jieba against rjieba (jieba-rs) on the same normalised texts.

Texts are real posts from ../shared/data (fraud SMS, COLD comments, waimai reviews, TNEWS
headlines, equal parts, shuffled) when present, else the demo forum's floors. The machine may be
shared: figures are also given per CPU-second (of the process, or summed over the workers), which
other processes on the machine do not disturb. `--flag-rates` adds the share of each real data set
the pipeline flags (the reviews and headlines contain no risk), `--topics` topic assignment on
TNEWS headlines (speed, purity by similarity threshold), `--demo` precision and recall per category
against the demo site's ground truth. Prints one line per figure and writes them as JSON to
bench/results/nlp.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import platform
import random
import resource
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared" / "data").resolve()
RESULTS = Path(__file__).resolve().parent / "results" / "nlp.json"
DEFAULT_MODEL = ROOT / "data" / "models" / "risk"
BATCH = 256


# -- texts ----------------------------------------------------------------------------------------


def _column(path: Path, name: str, encoding: str = "utf-8") -> list[str]:
    with path.open(encoding=encoding, newline="") as handle:
        return [row[name] for row in csv.DictReader(handle) if row.get(name)]


def real_sets(data: Path) -> dict[str, list[str]]:
    text = data / "text"
    return {
        "fraud_sms": _column(text / "fraud" / "fraud_train.csv", "content"),
        "cold_comments": _column(text / "cold" / "train.csv", "TEXT", "utf-8-sig"),
        "waimai_reviews": _column(text / "sentiment" / "waimai_10k.csv", "review"),
        "tnews_headlines": [
            json.loads(line)["sentence"]
            for line in (text / "tnews" / "dev.json").read_text(encoding="utf-8").splitlines()
            if line.strip()
        ],
    }


def sample_texts(count: int, data: Path) -> tuple[list[str], str]:
    rng = random.Random(11)
    if (data / "text").is_dir():
        sets = real_sets(data)
        each = count // len(sets)
        texts = [t for pool in sets.values() for t in rng.sample(pool, min(each, len(pool)))]
        rng.shuffle(texts)
        return texts, f"real posts from {data}: " + ", ".join(f"{each} {name}" for name in sets)
    from demo.content import DemoContent

    content = DemoContent(threads=max(60, count // 4))
    texts = []
    for tid in range(1, content.threads + 1):
        texts += [floor.text for floor in content.thread(tid).floors]
    return texts[:count], "demo forum floors (../shared/data absent)"


# -- timing ---------------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process (all its threads: torch's too)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def timed(count: int, work: Callable[[], object]) -> tuple[float, float]:
    """(items per wall second, items per CPU second) of `work` over `count` items."""
    wall, cpu = time.perf_counter(), _cpu()
    work()
    return count / (time.perf_counter() - wall), count / max(1e-9, _cpu() - cpu)


# -- (a) the core, in worker processes -------------------------------------------------------------

_WORKER: Any = None


def _init_worker() -> None:
    global _WORKER
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    _WORKER = NlpPipeline.from_settings(load_settings())
    _WORKER.warm_up()


def _core(texts: Sequence[str]) -> int:
    pipeline = _WORKER
    for text in texts:
        normalized = pipeline.normalizer(text)
        tokens = pipeline.segmenter.tokenize(normalized.text)
        pipeline.lexicon.score(normalized, tokens)
        pipeline.places.tag(normalized, tokens)
    return len(texts)


def _analyse(texts: Sequence[str]) -> int:
    for start in range(0, len(texts), BATCH):
        _WORKER._analyse_batch([("", text, None) for text in texts[start : start + BATCH]])
    return len(texts)


_WORK: dict[str, Callable[[Sequence[str]], int]] = {"core": _core, "analyse": _analyse}


def _run_chunk(job: tuple[str, Sequence[str]]) -> tuple[int, float]:
    """(posts done, CPU seconds the worker spent on them)."""
    name, texts = job
    cpu = time.process_time()
    done = _WORK[name](texts)
    return done, time.process_time() - cpu


def in_workers(name: str, texts: list[str], workers: int) -> tuple[float, float]:
    """(posts per wall second, posts per CPU second) of `_WORK[name]` in `workers` processes."""
    chunks = [texts[i :: workers * 4] for i in range(workers * 4)]
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        pool.map(_run_chunk, [(name, texts[:64])] * workers)  # every worker loads its dictionaries first
        wall = time.perf_counter()
        results = pool.map(_run_chunk, [(name, chunk) for chunk in chunks])
        seconds = time.perf_counter() - wall
    done = sum(n for n, _ in results)
    return done / seconds, done / max(1e-9, sum(c for _, c in results))


def bench_core(texts: list[str], workers: int, figures: dict[str, Any]) -> None:
    _init_worker()
    pipeline = _WORKER
    steps: dict[str, float] = {"normalise": 0.0, "segment": 0.0, "lexicon": 0.0, "places": 0.0}
    clock = time.process_time
    for text in texts:
        a = clock()
        normalized = pipeline.normalizer(text)
        b = clock()
        tokens = pipeline.segmenter.tokenize(normalized.text)
        c = clock()
        pipeline.lexicon.score(normalized, tokens)
        d = clock()
        pipeline.places.tag(normalized, tokens)
        e = clock()
        steps["normalise"] += b - a
        steps["segment"] += c - b
        steps["lexicon"] += d - c
        steps["places"] += e - d
    figures["core_us_per_post"] = {k: round(v / len(texts) * 1e6, 1) for k, v in steps.items()}
    wall, cpu = timed(len(texts), lambda: _core(texts))
    figures["core_1_process_posts_per_s"] = round(wall)
    figures["core_posts_per_cpu_s"] = round(cpu)
    wall, cpu = in_workers("core", texts, workers)
    figures[f"core_{workers}_processes_posts_per_s"] = round(wall)
    figures[f"core_{workers}_processes_posts_per_cpu_s"] = round(cpu)
    wall, cpu = timed(len(texts), lambda: _analyse(texts))
    figures["analyse_1_process_posts_per_s"] = round(wall)
    figures["analyse_posts_per_cpu_s"] = round(cpu)
    wall, cpu = in_workers("analyse", texts, workers)
    figures[f"analyse_{workers}_processes_posts_per_s"] = round(wall)


# -- (b) with the transformers model ---------------------------------------------------------------


def bench_model(texts: list[str], model_dir: Path, threads: int, figures: dict[str, Any]) -> None:
    from nlp.model.card import has_card

    if not has_card(model_dir):
        figures["model"] = None
        figures["model_note"] = (
            f"no risk model in {model_dir}: (b) not measured; train one with "
            "`patrol model train --task risk` (or pass --model DIR)"
        )
        return
    import torch

    from nlp.model.scorer import TransformersRiskScorer
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    torch.set_num_threads(threads)
    scorer = TransformersRiskScorer.from_pretrained(model_dir)
    pipeline = NlpPipeline.from_settings(load_settings(), risk_scorer=scorer)
    pipeline.warm_up()
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    scorer.score(batches[0][:8])  # loads the weights
    figures["model"] = f"{scorer.name}:{scorer.version}"
    figures["model_torch_threads"] = threads
    wall, cpu = timed(len(texts), lambda: [scorer.score(b) for b in batches])
    figures["model_alone_posts_per_s"] = round(wall, 1)
    wall, cpu = timed(
        len(texts), lambda: [pipeline._analyse_batch([("", t, None) for t in batch]) for batch in batches]
    )
    figures["analyse_with_model_posts_per_s"] = round(wall, 1)
    figures["analyse_with_model_posts_per_cpu_s"] = round(cpu, 1)


# -- (c) segmenters --------------------------------------------------------------------------------


def bench_segmenters(texts: list[str], figures: dict[str, Any]) -> None:
    from nlp.normalize import Normalizer
    from nlp.segment import JiebaSegmenter, RjiebaSegmenter

    normalizer = Normalizer()
    normalized = [normalizer(t).text for t in texts]
    chars = sum(map(len, normalized))
    for segmenter in (JiebaSegmenter(), RjiebaSegmenter()):
        segmenter.tokenize("预热")
        for mode, cut in (("default", segmenter.tokenize), ("search", segmenter.search_tokenize)):
            wall, cpu = timed(len(normalized), lambda cut=cut: [cut(t) for t in normalized])  # type: ignore[misc]
            figures[f"segment_{segmenter.name}_{mode}_posts_per_s"] = round(wall)
            figures[f"segment_{segmenter.name}_{mode}_chars_per_cpu_s"] = round(cpu * chars / len(normalized))
    figures["segment_rjieba_speedup"] = round(
        figures["segment_rjieba_default_posts_per_s"] / figures["segment_jieba_default_posts_per_s"], 1
    )


# -- flag rates -------------------------------------------------------------------------------------


def flag_rates(data: Path, per_set: int, figures: dict[str, Any]) -> None:
    """Share of each real set the pipeline (lexicon) flags at 0.5: false alarms for the benign sets."""
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    pipeline = NlpPipeline.from_settings(load_settings())
    rng = random.Random(5)
    sets = real_sets(data)
    shopping = _column(data / "text" / "sentiment" / "online_shopping_10_cats.csv", "review")
    sets["shopping_reviews"] = shopping
    rates: dict[str, float] = {}
    for name, pool in sets.items():
        texts = rng.sample(pool, min(per_set, len(pool)))
        flagged = 0
        for start in range(0, len(texts), BATCH):
            for analysis in pipeline._analyse_batch([("", t, None) for t in texts[start : start + BATCH]]):
                flagged += any(score >= 0.5 for score in analysis.risk_scores.values())
        rates[name] = round(flagged / len(texts), 4)
    figures["flag_rates"] = rates
    figures["flag_rates_scorer"] = pipeline.scorer_name


# -- topics -----------------------------------------------------------------------------------------


def topic_figures(data: Path, figures: dict[str, Any]) -> None:
    """Topic assignment on TNEWS headlines: speed, and purity against the news category by threshold."""
    from collections import Counter, defaultdict

    from nlp.pipeline import NlpPipeline
    from nlp.topics import TopicModel, TopicParams
    from patrol.config import load_settings

    rows = [
        json.loads(line)
        for line in (data / "text" / "tnews" / "dev.json").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    pipeline = NlpPipeline.from_settings(load_settings())
    analyses = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        analyses += pipeline._analyse_batch([(f"t{start + i}", r["sentence"], None) for i, r in enumerate(chunk)])
    labels = [row["label_desc"] for row in rows]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sweep: dict[str, dict[str, float]] = {}
    for similarity in (0.15, 0.2, 0.25, 0.3, 0.4):
        model = TopicModel(TopicParams(similarity=similarity), clock=lambda: now)
        cpu = time.process_time()
        ids = model.assign(analyses, times=[now] * len(analyses))
        seconds = time.process_time() - cpu
        members: dict[str, list[str]] = defaultdict(list)
        for label, topic_id in zip(labels, ids, strict=True):
            if topic_id is not None:
                members[topic_id].append(label)
        big = [m for m in members.values() if len(m) >= 3]
        covered = sum(map(len, big))
        sweep[str(similarity)] = {
            "topics": len(model),
            "share_in_topics_of_3_plus": round(covered / len(rows), 3),
            "purity_of_topics_of_3_plus": round(sum(Counter(m).most_common(1)[0][1] for m in big) / covered, 3),
            "assign_posts_per_cpu_s": round(len(rows) / seconds),
        }
    figures["topics_tnews_headlines"] = len(rows)
    figures["topics_by_similarity"] = sweep


# -- demo truth -------------------------------------------------------------------------------------


def demo_figures(figures: dict[str, Any], seed: int = 7) -> None:
    """Precision and recall per category against the demo's truth: the lexicon alone, and with the
    installed risk model when there is one (what `patrol demo` uses).

    The texts are the demo site's posts as generated (`DemoContent.truth()`), analysed in-process;
    the crawl-and-flag pass over the running site is `tests/integration/test_pipeline_demo.py`.
    """
    from demo.content import DemoContent
    from nlp.model.scorer import load_default_risk_scorer
    from nlp.pipeline import NlpPipeline
    from patrol.config import load_settings

    content = DemoContent(seed=seed, threads=60)
    items: list[tuple[str, str, str]] = []
    for tid in range(1, content.threads + 1):
        items += [(str(f.pid), f.text, f.truth.label) for f in content.thread(tid).floors]
    for account in content.weibo_accounts:
        for weibo in content.timeline(account.uid):
            items.append((str(weibo.mid), weibo.text, weibo.truth.label))
            items += [(str(c.cid), c.text, c.truth.label) for c in content.comments(weibo.mid)]
    figures["demo_seed"] = seed
    figures["demo_posts"] = len(items)
    figures["demo_risky_posts"] = sum(label != "none" for _, _, label in items)
    settings = load_settings()
    model = load_default_risk_scorer(settings)
    for name, scorer in [("lexicon", None), *([("default", model)] if model is not None else [])]:
        pipeline = NlpPipeline.from_settings(settings, risk_scorer=scorer)
        analyses = []
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            analyses += pipeline._analyse_batch([(pid, text, None) for pid, text, _ in chunk])
        figures[f"demo_{name}"] = _precision_recall([label for _, _, label in items], analyses, pipeline.scorer_name)


def _precision_recall(labels: list[str], analyses: Sequence[Any], scorer: str) -> dict[str, Any]:
    from patrol.schema import RISK_CATEGORIES

    counts = {c: [0, 0, 0] for c in RISK_CATEGORIES}  # true positives, false positives, misses
    for label, analysis in zip(labels, analyses, strict=True):
        flagged = {c for c, score in analysis.risk_scores.items() if score >= 0.5}
        for category in RISK_CATEGORIES:
            if category in flagged:
                counts[category][0 if category == label else 1] += 1
            elif category == label:
                counts[category][2] += 1
    tp, fp, fn = (sum(v[i] for v in counts.values()) for i in range(3))
    return {
        "scorer": scorer,
        "micro_precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "micro_recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "per_category": {
            c: f"P {tp_ / (tp_ + fp_) if tp_ + fp_ else float('nan'):.2f} "
            f"R {tp_ / (tp_ + fn_) if tp_ + fn_ else float('nan'):.2f} (n={tp_ + fn_}, fp={fp_})"
            for c, (tp_, fp_, fn_) in counts.items()
        },
    }


# -- main -------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="processes for (a) and torch threads for (b)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="risk model folder for (b)")
    parser.add_argument("--model-posts", type=int, default=1000, help="posts for (b), which is slower")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--flag-rates", action="store_true", help="also the share of each real set flagged")
    parser.add_argument("--topics", action="store_true", help="also topic assignment on TNEWS headlines")
    parser.add_argument("--demo", action="store_true", help="also precision/recall against the demo's truth")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    args = parser.parse_args(argv)

    texts, source = sample_texts(args.posts, args.data)
    figures: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} CPython {platform.python_version()}, {os.cpu_count()} CPUs",
        "load_average_1m": round(os.getloadavg()[0], 2),
        "texts": source,
        "posts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "workers": args.workers,
    }
    bench_core(texts, args.workers, figures)
    bench_model(texts[: args.model_posts], args.model, args.workers, figures)
    bench_segmenters(texts, figures)
    if args.flag_rates and (args.data / "text").is_dir():
        flag_rates(args.data, 3000, figures)
    if args.topics and (args.data / "text").is_dir():
        topic_figures(args.data, figures)
    if args.demo:
        demo_figures(figures)
    figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)

    for key, value in figures.items():
        print(f"{key:44} {value}")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
