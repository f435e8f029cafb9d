"""Hot topics: posts clustered incrementally into topics labelled by their top keywords, and which
of those topics are rising now.

What the stage, the console and the weekly report call::

    assign_topics(settings: Settings, analysed: Sequence[AnalysedPost], *, clock: Clock = utcnow)
        -> list[str | None]
        # load <data_dir>/state/topics.json under a file lock, assign, save: one call per batch
    load_topic_model(settings: Settings, *, clock: Clock = utcnow) -> TopicModel   # read-only use

    TopicModel(params: TopicParams = TopicParams(), *, clock: Clock = utcnow)
    TopicModel.load(path: Path, *, clock: Clock = utcnow) -> TopicModel     # fresh model if no file
    TopicModel.save(path: Path) -> None                                     # atomic replace
    TopicModel.assign(items: Sequence[AnalysedPost | Analysis],
                      times: Sequence[datetime] | None = None) -> list[str | None]
    TopicModel.topic(topic_id: str) -> TopicInfo
    TopicModel.topics(min_size: int = 1, limit: int | None = None) -> list[TopicInfo]  # biggest first
    TopicModel.topic_of(post_id: str) -> str | None

    rising_topics(model: TopicModel, *, now: datetime | None = None,
                  windows: Sequence[BurstWindow] = DEFAULT_WINDOWS,
                  thresholds: BurstThresholds = BurstThresholds(), limit: int = 20) -> list[RisingTopic]
    hot_topics(model: TopicModel, *, now: datetime | None = None,
               window: timedelta = timedelta(days=1), limit: int = 10) -> list[TopicVolume]

`now` defaults to the model's clock; pass a fixed one (or build the model with `clock=`) to get
figures that a re-run reproduces. `nlp.burst` says what "rising" means: the last hour against the
12 hours before it, the last day against the 14 days before it.

How posts become topics (single-pass clustering, as in topic detection and tracking): a post is a
vector of its content words (the pipeline's index words minus stop words, single characters and
the topic stop list), each weighted by (1 + log tf) x IDF from jieba's table and the vector scaled
to length 1. It joins the topic whose centroid is most similar (cosine) when that similarity is at
least `TopicParams.similarity`, otherwise it starts a topic. A centroid is the sum of its posts'
vectors, cut to its `centroid_terms` heaviest words, so a topic's vocabulary stays its core. A
topic's label is its heaviest words. Only topics sharing a word with the post are compared
(an inverted index), so a batch costs about the same with 100 or 50,000 topics.

State (centroids, sizes, five-minute post counts of the last 15 days, and which post went where)
is a JSON file; a new pass loads it and continues the same topics. Re-assigning a post that was
already assigned returns its topic and counts nothing, so re-running a batch changes nothing.
Topics not seen for `topic_ttl` are dropped.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from nlp.burst import (
    DEFAULT_WINDOWS,
    HISTORY,
    BurstThresholds,
    BurstWindow,
    bucket_of,
    detect,
    prune,
)
from nlp.keywords import DEFAULT_STOP_WORDS_FILE, KeywordExtractor, jieba_idf_file, read_word_list
from patrol.config import Settings
from patrol.schema import AnalysedPost, Analysis, utcnow

RESOURCES_DIR = Path(__file__).resolve().parent / "resources"
DEFAULT_TOPIC_STOP_WORDS_FILE = RESOURCES_DIR / "topic_stopwords.txt"
STATE_FILE_NAME = "topics.json"
_FORMAT = 1

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class TopicParams:
    #: Cosine similarity a post needs to join a topic. 0.25 measured best on TNEWS headlines
    #: (purity against the news category vs. share of posts in topics of 3+; docs/QUALITY.md).
    similarity: float = 0.25
    centroid_terms: int = 40
    post_terms: int = 20
    label_terms: int = 3
    keywords: int = 8
    topic_ttl_days: float = 30.0
    max_topics: int = 50_000

    def __post_init__(self) -> None:
        if not 0.0 < self.similarity <= 1.0:
            raise ValueError(f"similarity={self.similarity}: use a cosine in (0, 1], e.g. 0.25")
        if min(self.centroid_terms, self.post_terms, self.label_terms, self.keywords, self.max_topics) < 1:
            raise ValueError("centroid_terms, post_terms, label_terms, keywords and max_topics must be at least 1")


@dataclass(frozen=True, slots=True)
class TopicInfo:
    id: str
    label: str
    keywords: tuple[str, ...]
    size: int
    first_seen: datetime
    last_seen: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "keywords": list(self.keywords),
            "size": self.size,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class RisingTopic:
    topic: TopicInfo
    window: str
    recent: int
    baseline: int
    expected: float
    ratio: float
    p_value: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic.as_dict(),
            "window": self.window,
            "recent": self.recent,
            "baseline": self.baseline,
            "expected": self.expected,
            "ratio": self.ratio,
            "p_value": self.p_value,
        }


@dataclass(frozen=True, slots=True)
class TopicVolume:
    topic: TopicInfo
    posts: int


@dataclass(slots=True)
class _Topic:
    id: str
    terms: dict[str, float]
    size: int
    first_seen: datetime
    last_seen: datetime
    counts: dict[int, int] = field(default_factory=dict)
    norm: float = 0.0

    def renorm(self) -> None:
        self.norm = math.sqrt(sum(w * w for w in self.terms.values()))


@dataclass(frozen=True, slots=True)
class _Vocabulary:
    idf: dict[str, float]
    median_idf: float
    stop_words: frozenset[str]


@cache
def _vocabulary(idf_file: Path, stop_files: tuple[Path, ...]) -> _Vocabulary:
    # Cached per process: the table is 270k words and never changes while the process runs.
    idf: dict[str, float] = {}
    for line in idf_file.read_text(encoding="utf-8").splitlines():
        word, _, value = line.rpartition(" ")
        if word:
            idf[word] = float(value)
    median = sorted(idf.values())[len(idf) // 2] if idf else 1.0
    stop_words: frozenset[str] = frozenset()
    for path in stop_files:
        stop_words |= read_word_list(path)
    return _Vocabulary(idf, median, stop_words)


class TopicModel:
    """Topics and their recent volume; `assign` adds posts, `save`/`load` persist the state."""

    def __init__(
        self,
        params: TopicParams | None = None,
        *,
        clock: Clock = utcnow,
        idf_file: Path | None = None,
        stop_word_files: Sequence[Path] = (DEFAULT_STOP_WORDS_FILE, DEFAULT_TOPIC_STOP_WORDS_FILE),
    ) -> None:
        self.params = params or TopicParams()
        self.clock = clock
        self._idf_file = idf_file
        self._stop_word_files = tuple(stop_word_files)
        self._vocabulary: _Vocabulary | None = None
        self._lock = threading.Lock()
        self._candidate = KeywordExtractor().is_candidate
        self._topics: dict[str, _Topic] = {}
        self._index: dict[str, set[str]] = defaultdict(set)
        self._posts: dict[str, tuple[str, int]] = {}  # post id -> (topic id, bucket)
        self._next_id = 1

    # -- vectors ----------------------------------------------------------------------------------

    @property
    def vocabulary(self) -> _Vocabulary:
        if self._vocabulary is None:
            with self._lock:
                if self._vocabulary is None:
                    self._vocabulary = _vocabulary(self._idf_file or jieba_idf_file(), self._stop_word_files)
        return self._vocabulary

    def vector(self, words: Sequence[str]) -> dict[str, float]:
        """The post's content words, (1 + log tf) x IDF, scaled to length 1 (empty: no content)."""
        vocabulary = self.vocabulary
        counts = Counter(w for w in words if self._candidate(w, vocabulary.stop_words))
        weights = {
            word: (1.0 + math.log(count)) * vocabulary.idf.get(word, vocabulary.median_idf)
            for word, count in counts.items()
        }
        if len(weights) > self.params.post_terms:
            weights = dict(sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[: self.params.post_terms])
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {word: w / norm for word, w in weights.items()} if norm else {}

    # -- assignment -------------------------------------------------------------------------------

    def assign(
        self, items: Sequence[AnalysedPost | Analysis], times: Sequence[datetime] | None = None
    ) -> list[str | None]:
        """The topic id of each post, in order (None: no content words, e.g. "顶" or an emoji).

        A post's time is its `published_at`; for a bare `Analysis` it is `times[i]`, or the clock.
        """
        if times is not None and len(times) != len(items):
            raise ValueError(f"got {len(times)} times for {len(items)} posts; give one time per post or none")
        result: list[str | None] = []
        for index, item in enumerate(items):
            analysis = item.analysis if isinstance(item, AnalysedPost) else item
            if times is not None:
                when = times[index]
            elif isinstance(item, AnalysedPost):
                when = item.post.published_at
            else:
                when = self.clock()
            result.append(self._assign_one(analysis.post_id, analysis.tokens, when))
        self._expire(self.clock())
        return result

    def _assign_one(self, post_id: str, words: Sequence[str], when: datetime) -> str | None:
        known = self._posts.get(post_id) if post_id else None
        if known is not None and known[0] in self._topics:
            return known[0]
        vector = self.vector(words)
        if not vector:
            return None
        best_id, best_similarity = None, 0.0
        candidates = sorted({topic_id for word in vector for topic_id in self._index.get(word, ())})
        for topic_id in candidates:
            topic = self._topics[topic_id]
            similarity = sum(weight * topic.terms.get(word, 0.0) for word, weight in vector.items()) / topic.norm
            if similarity > best_similarity:
                best_id, best_similarity = topic_id, similarity
        if best_id is not None and best_similarity >= self.params.similarity:
            topic = self._topics[best_id]
            self._add_to_centroid(topic, vector)
            topic.size += 1
            topic.first_seen = min(topic.first_seen, when)
            topic.last_seen = max(topic.last_seen, when)
        else:
            topic = _Topic(f"t{self._next_id:06d}", dict(vector), 1, when, when)
            self._next_id += 1
            topic.renorm()
            self._topics[topic.id] = topic
            for word in topic.terms:
                self._index[word].add(topic.id)
        bucket = bucket_of(when)
        topic.counts[bucket] = topic.counts.get(bucket, 0) + 1
        if post_id:
            self._posts[post_id] = (topic.id, bucket)
        return topic.id

    def _add_to_centroid(self, topic: _Topic, vector: Mapping[str, float]) -> None:
        for word, weight in vector.items():
            if word not in topic.terms:
                self._index[word].add(topic.id)
            topic.terms[word] = topic.terms.get(word, 0.0) + weight
        if len(topic.terms) > self.params.centroid_terms:
            ranked = sorted(topic.terms.items(), key=lambda kv: (-kv[1], kv[0]))
            for word, _ in ranked[self.params.centroid_terms :]:
                del topic.terms[word]
                self._drop_from_index(word, topic.id)
        topic.renorm()

    def _drop_from_index(self, word: str, topic_id: str) -> None:
        holders = self._index.get(word)
        if holders is not None:
            holders.discard(topic_id)
            if not holders:
                del self._index[word]

    def _expire(self, now: datetime) -> None:
        """Forget counts older than the burst history, idle topics, and the oldest past `max_topics`."""
        cutoff = now - timedelta(days=self.params.topic_ttl_days)
        stale = [t.id for t in self._topics.values() if t.last_seen < cutoff]
        excess = len(self._topics) - len(stale) - self.params.max_topics
        if excess > 0:
            alive = sorted(
                (t for t in self._topics.values() if t.last_seen >= cutoff),
                key=lambda t: (t.size > 1, t.last_seen, t.id),
            )
            stale += [t.id for t in alive[:excess]]
        for topic_id in stale:
            topic = self._topics.pop(topic_id)
            for word in topic.terms:
                self._drop_from_index(word, topic_id)
        for topic in self._topics.values():
            prune(topic.counts, now, HISTORY)
        oldest = bucket_of(now - HISTORY)
        gone = set(stale)
        self._posts = {
            post: (topic_id, bucket)
            for post, (topic_id, bucket) in self._posts.items()
            if bucket >= oldest and topic_id not in gone
        }

    # -- reading ----------------------------------------------------------------------------------

    def _info(self, topic: _Topic) -> TopicInfo:
        # Search-granular tokens carry a compound and its parts (俄罗斯, 罗斯): a part whose
        # compound is about as heavy says nothing more, so the label shows the compound only.
        ranked: list[str] = []
        for word, weight in sorted(topic.terms.items(), key=lambda kv: (-kv[1], kv[0])):
            if not any(w >= 0.5 * weight and word != other and word in other for other, w in topic.terms.items()):
                ranked.append(word)
                if len(ranked) == self.params.keywords:
                    break
        return TopicInfo(
            id=topic.id,
            label="·".join(ranked[: self.params.label_terms]),
            keywords=tuple(ranked),
            size=topic.size,
            first_seen=topic.first_seen,
            last_seen=topic.last_seen,
        )

    def topic(self, topic_id: str) -> TopicInfo:
        try:
            return self._info(self._topics[topic_id])
        except KeyError:
            raise KeyError(f"no topic {topic_id!r}: it was never created or expired after its ttl") from None

    def topics(self, min_size: int = 1, limit: int | None = None) -> list[TopicInfo]:
        """Live topics with at least `min_size` posts, biggest first (the first `limit` of them)."""
        found = sorted((t for t in self._topics.values() if t.size >= min_size), key=lambda t: (-t.size, t.id))
        return [self._info(t) for t in found[:limit]]

    def topic_of(self, post_id: str) -> str | None:
        known = self._posts.get(post_id)
        return known[0] if known is not None and known[0] in self._topics else None

    def counts(self, topic_id: str) -> dict[int, int]:
        """The topic's post counts per five-minute bucket (`nlp.burst.BUCKET`), last 15 days."""
        return dict(self._topics[topic_id].counts)

    def __len__(self) -> int:
        return len(self._topics)

    def _recent_topics(self, since: datetime) -> Iterator[_Topic]:
        return (t for t in self._topics.values() if t.last_seen >= since)

    # -- persistence ------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "params": asdict(self.params),
            "next_id": self._next_id,
            "topics": [
                {
                    "id": t.id,
                    "terms": t.terms,
                    "size": t.size,
                    "first_seen": t.first_seen.isoformat(),
                    "last_seen": t.last_seen.isoformat(),
                    "counts": {str(b): c for b, c in sorted(t.counts.items())},
                }
                for t in self._topics.values()
            ],
            "posts": {post: [topic_id, bucket] for post, (topic_id, bucket) in self._posts.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, clock: Clock = utcnow, where: str = "topic state") -> TopicModel:
        if data.get("format") != _FORMAT:
            raise ValueError(
                f"{where}: format {data.get('format')!r} is not {_FORMAT}; delete the file to start topics afresh"
            )
        try:
            model = cls(TopicParams(**data["params"]), clock=clock)
            model._next_id = int(data["next_id"])
            for raw in data["topics"]:
                topic = _Topic(
                    id=raw["id"],
                    terms={str(w): float(v) for w, v in raw["terms"].items()},
                    size=int(raw["size"]),
                    first_seen=datetime.fromisoformat(raw["first_seen"]),
                    last_seen=datetime.fromisoformat(raw["last_seen"]),
                    counts={int(b): int(c) for b, c in raw["counts"].items()},
                )
                topic.renorm()
                model._topics[topic.id] = topic
                for word in topic.terms:
                    model._index[word].add(topic.id)
            model._posts = {post: (str(v[0]), int(v[1])) for post, v in data["posts"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: damaged ({exc!r}); delete the file to start topics afresh") from exc
        return model

    @classmethod
    def load(cls, path: Path, *, clock: Clock = utcnow) -> TopicModel:
        """The model saved at `path`, or a fresh one when there is no file yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(clock=clock)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc}); delete it to start topics afresh") from exc
        return cls.from_json(data, clock=clock, where=str(path))

    def save(self, path: Path) -> None:
        """Write the state next to `path` and rename it into place, so a crash never leaves half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(self.to_json(), out, ensure_ascii=False, separators=(",", ":"))
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# -- what the console and the report call ---------------------------------------------------------


def rising_topics(
    model: TopicModel,
    *,
    now: datetime | None = None,
    windows: Sequence[BurstWindow] = DEFAULT_WINDOWS,
    thresholds: BurstThresholds | None = None,
    limit: int = 20,
) -> list[RisingTopic]:
    """Topics whose volume is bursting in any of `windows`, most significant first (p-value, then ratio)."""
    now = now or model.clock()
    thresholds = thresholds or BurstThresholds()
    found: list[RisingTopic] = []
    for window in windows:
        for topic in model._recent_topics(now - window.recent):
            burst = detect(topic.counts, now, window)
            if burst.is_rising(thresholds):
                found.append(
                    RisingTopic(
                        model._info(topic),
                        window.name,
                        burst.recent,
                        burst.baseline,
                        burst.expected,
                        burst.ratio,
                        burst.p_value,
                    )
                )
    found.sort(key=lambda r: (r.p_value, -r.ratio, -r.recent, r.topic.id, r.window))
    return found[:limit]


def hot_topics(
    model: TopicModel, *, now: datetime | None = None, window: timedelta = timedelta(days=1), limit: int = 10
) -> list[TopicVolume]:
    """The topics with the most posts in the `window` before `now` (at most 15 days back)."""
    if window > HISTORY:
        raise ValueError(f"window {window} is longer than the {HISTORY} of counts a topic keeps")
    now = now or model.clock()
    last, first = bucket_of(now), bucket_of(now - window)
    volumes = []
    for topic in model._recent_topics(now - window):
        posts = sum(c for b, c in topic.counts.items() if first < b <= last)
        if posts:
            volumes.append(TopicVolume(model._info(topic), posts))
    volumes.sort(key=lambda v: (-v.posts, v.topic.id))
    return volumes[:limit]


def topic_state_file(settings: Settings) -> Path:
    return settings.state_dir / STATE_FILE_NAME


def load_topic_model(settings: Settings, *, clock: Clock = utcnow) -> TopicModel:
    """The saved topics, for reading (the console, the report); a fresh model before the first pass."""
    return TopicModel.load(topic_state_file(settings), clock=clock)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two passes at once would each save and lose the other's posts
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def assign_topics(settings: Settings, analysed: Sequence[AnalysedPost], *, clock: Clock = utcnow) -> list[str | None]:
    """Assign a batch to the persisted topics and save them, under a lock held across processes."""
    path = topic_state_file(settings)
    with _locked(path):
        model = TopicModel.load(path, clock=clock)
        ids = model.assign(analysed)
        model.save(path)
    return ids
