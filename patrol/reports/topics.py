"""Topics of a week from the keywords the NLP stage stored, and which of them are rising.

No topic model is trained for a report: a topic is a group of keywords that occur in the same
posts. Keywords with enough posts this week are taken by frequency; each joins the topic whose
seed keyword shares the most posts with it (Jaccard of their post sets at least `join_jaccard`),
or seeds a new topic. A topic's posts are those carrying any of its keywords, in this week and,
with the same keywords, in each of the previous weeks; so a topic's history is measured the same
way as its present. Rising: new (no posts in the previous weeks) or at least `rise_ratio` times its
weekly mean over them. Every step is deterministic, so the same data gives the same topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

TopicStatus = Literal["new", "rising", "steady", "falling", "no_history"]


@dataclass(frozen=True)
class TopicSettings:
    min_posts: int = 3
    max_terms: int = 300
    join_jaccard: float = 0.3
    rise_ratio: float = 2.0
    max_keywords: int = 8
    representatives: int = 3
    near_duplicate_bits: int = 3


@dataclass
class Topic:
    label: str
    terms: tuple[str, ...]
    volume: int
    history: tuple[int, ...]
    status: TopicStatus
    mean_sentiment: float
    negative_share: float
    post_ids: list[str] = field(repr=False)
    keywords: tuple[str, ...] = ()
    representatives: list[str] = field(default_factory=list)

    @property
    def baseline(self) -> float:
        return float(np.mean(self.history)) if self.history else 0.0

    @property
    def growth(self) -> float | None:
        return round(self.volume / self.baseline, 2) if self.baseline > 0 else None

    @property
    def rise_score(self) -> float:
        # +1 on both sides ranks a new topic of 10 posts above one that grew from 4 to 20.
        return (self.volume + 1) / (self.baseline + 1)


@dataclass
class WeekTopics:
    topics: list[Topic]
    history_posts: int

    def top(self, limit: int = 10) -> list[Topic]:
        return sorted(self.topics, key=lambda t: (-t.volume, t.label))[:limit]

    def rising(self, limit: int = 10) -> list[Topic]:
        candidates = [t for t in self.topics if t.status in ("new", "rising")]
        return sorted(candidates, key=lambda t: (-t.rise_score, -t.volume, t.label))[:limit]


def _explode(posts: pd.DataFrame, exclude: frozenset[str]) -> pd.DataFrame:
    """(position of the post in `posts`, term), each term once per post."""
    terms = posts["keywords"].reset_index(drop=True).explode()
    pairs = pd.DataFrame({"post": terms.index.to_numpy(), "term": terms.to_numpy()})
    pairs = pairs[pairs["term"].notna()]
    pairs = pairs[~pairs["term"].isin(exclude)]
    return pairs.drop_duplicates()


def _incidence(pairs: pd.DataFrame, terms: list[str], n_posts: int) -> sparse.csr_matrix:
    index = {term: i for i, term in enumerate(terms)}
    known = pairs[pairs["term"].isin(index)]
    rows = known["term"].map(index).to_numpy(dtype=np.int64)
    cols = known["post"].to_numpy(dtype=np.int64)
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(terms), n_posts))


def _group_terms(incidence: sparse.csr_matrix, join_jaccard: float) -> list[list[int]]:
    co = (incidence @ incidence.T).toarray()
    df = np.diag(co)
    union = df[:, None] + df[None, :] - co
    with np.errstate(divide="ignore", invalid="ignore"):
        jaccard = np.where(union > 0, co / union, 0.0)
    groups: list[list[int]] = []
    for term in range(incidence.shape[0]):  # terms come most frequent first
        seeds = [group[0] for group in groups]
        if seeds:
            overlap = jaccard[term, seeds]
            best = int(np.argmax(overlap))
            if overlap[best] >= join_jaccard:
                groups[best].append(term)
                continue
        groups.append([term])
    return groups


def _status(volume: int, history: tuple[int, ...], history_posts: int, settings: TopicSettings) -> TopicStatus:
    if history_posts == 0:
        return "no_history"
    baseline = float(np.mean(history))
    if baseline == 0:
        return "new" if volume >= settings.min_posts else "steady"
    if volume >= settings.rise_ratio * baseline and volume - baseline >= settings.min_posts:
        return "rising"
    if volume * settings.rise_ratio <= baseline:
        return "falling"
    return "steady"


def _hamming(a: int, b: int) -> int:
    return ((a ^ b) & 0xFFFFFFFFFFFFFFFF).bit_count()


def detect_topics(
    posts: pd.DataFrame,
    *,
    history_weeks: int = 4,
    exclude: frozenset[str] = frozenset(),
    settings: TopicSettings | None = None,
) -> WeekTopics:
    """Topics of the posts with `week_offset == 0`, measured against offsets -1 .. -history_weeks."""
    settings = settings or TopicSettings()
    this = posts[posts["week_offset"] == 0].reset_index(drop=True)
    pairs = _explode(this, exclude)
    df = pairs.groupby("term").size()
    df = df[df >= settings.min_posts]
    ranked = sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[: settings.max_terms]
    terms = [term for term, _ in ranked]
    history_frames = [posts[posts["week_offset"] == -w].reset_index(drop=True) for w in range(1, history_weeks + 1)]
    history_posts = sum(len(f) for f in history_frames)
    if not terms:
        return WeekTopics([], history_posts)

    incidence = _incidence(pairs, terms, len(this))
    groups = _group_terms(incidence, settings.join_jaccard)
    membership = sparse.csr_matrix(
        (
            np.ones(sum(len(g) for g in groups), dtype=np.float32),
            (np.repeat(np.arange(len(groups)), [len(g) for g in groups]), np.concatenate(groups)),
        ),
        shape=(len(groups), len(terms)),
    )
    in_topic = (membership @ incidence).toarray() > 0  # topics x posts of this week
    history_counts = []
    for frame in history_frames:
        past = _incidence(_explode(frame, exclude), terms, len(frame))
        history_counts.append(((membership @ past).toarray() > 0).sum(axis=1))

    sentiment = this["sentiment"].to_numpy(dtype=float)
    negative = (this["sentiment_label"] == "negative").to_numpy()
    ids = this["id"].to_numpy()
    topics: list[Topic] = []
    for g, group in enumerate(groups):
        mask = in_topic[g]
        volume = int(mask.sum())
        history = tuple(int(counts[g]) for counts in history_counts)
        topics.append(
            Topic(
                label="/".join(terms[t] for t in group[:3]),
                terms=tuple(terms[t] for t in group),
                volume=volume,
                history=history,
                status=_status(volume, history, history_posts, settings),
                mean_sentiment=round(float(sentiment[mask].mean()), 3) if volume else 0.0,
                negative_share=round(float(negative[mask].mean()), 3) if volume else 0.0,
                post_ids=list(ids[mask]),
            )
        )
    return WeekTopics(topics, history_posts)


def describe_topic(
    topic: Topic,
    posts: pd.DataFrame,
    *,
    exclude: frozenset[str] = frozenset(),
    settings: TopicSettings | None = None,
) -> Topic:
    """Fill in a topic's keywords (its terms, then the words its posts share most) and its
    representative posts: those carrying most of its terms, closest to its mean sentiment, earliest,
    leaving out near-copies of a post already chosen."""
    settings = settings or TopicSettings()
    mine = posts[posts["id"].isin(set(topic.post_ids))]
    members = set(topic.terms)
    words = mine["keywords"].explode()
    words = words[words.notna() & ~words.isin(members) & ~words.isin(exclude)]
    co_words = sorted(words.value_counts().items(), key=lambda kv: (-kv[1], kv[0]))
    extra = [w for w, n in co_words if n >= 2][: max(0, settings.max_keywords - len(topic.terms))]
    topic.keywords = (*topic.terms[: settings.max_keywords], *extra)

    ranked = mine.assign(
        hits=mine["keywords"].map(lambda kws: len(members.intersection(kws))),
        distance=(mine["sentiment"] - topic.mean_sentiment).abs(),
    ).sort_values(["hits", "distance", "published_at", "id"], ascending=[False, True, True, True])
    chosen: list[str] = []
    hashes: list[int] = []
    for row in ranked.itertuples():
        simhash = int(row.simhash or 0)
        if simhash and any(_hamming(simhash, h) <= settings.near_duplicate_bits for h in hashes):
            continue
        chosen.append(str(row.id))
        hashes.append(simhash)
        if len(chosen) == settings.representatives:
            break
    topic.representatives = chosen
    return topic
