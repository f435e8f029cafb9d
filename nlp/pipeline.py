"""The NLP stage: small components composed into one pipeline, like a spaCy `Language`.

normalise -> segment -> keywords -> lexicon risk -> places and jurisdiction -> sentiment ->
near-duplicate fingerprint, then (when a trained `RiskScorer` is given) one model call for the
whole batch, combined with the lexicon per `resources/combination.yaml`. A trained
`SentimentModel` (`nlp.model.sentiment.SentimentScorer`, from `<data_dir>/models/sentiment`) is
called once per batch the same way and replaces the lexicon sentiment; without one the lexicon
scores sentiment. Every component loads its dictionary or model on first use and keeps it, so
building a pipeline is cheap and a process loads each file once.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from nlp.keywords import KeywordExtractor
from nlp.lexicon import LexiconResult, LexiconScorer
from nlp.normalize import DEFAULT_VARIANTS_FILE, NormalizedText, Normalizer
from nlp.places import PlaceTagger
from nlp.scorers import DEFAULT_COMBINATION_FILE, CombinationFile, RiskScorer, clean_model_scores
from nlp.segment import RjiebaSegmenter, Segmenter, Token
from nlp.sentiment import DEFAULT_SENTIMENT_FILE, LexiconSentiment, Sentiment
from nlp.simhash import simhash_many
from patrol.config import Settings
from patrol.datafiles import load_yaml_model
from patrol.schema import LIFE_SAFETY_CATEGORIES, RISK_CATEGORIES, Analysis, Evidence, Post

log = logging.getLogger("nlp.pipeline")

_HAS_WORD_CHAR = re.compile(r"\w")


@runtime_checkable
class SentimentModel(Protocol):
    """A trained sentiment scorer: one score in -1..1 per text, and the label a score gets."""

    name: str
    version: str

    def score(self, texts: Sequence[str]) -> list[float]: ...

    def label(self, score: float) -> str: ...


@dataclass(frozen=True, slots=True)
class _Read:
    """What the per-post components found, before the batch-wide model call."""

    normalized: NormalizedText
    tokens: list[Token]
    words: list[str]
    lexicon: LexiconResult


def index_words(tokens: Sequence[Token]) -> list[str]:
    """Tokens worth indexing and counting: no whitespace, punctuation or emoji."""
    return [word for word, _, _ in tokens if word.isalnum() or _HAS_WORD_CHAR.search(word)]


class NlpPipeline:
    def __init__(
        self,
        *,
        normalizer: Normalizer,
        segmenter: Segmenter,
        keywords: KeywordExtractor,
        lexicon: LexiconScorer,
        places: PlaceTagger,
        sentiment: LexiconSentiment,
        combination_file: Path = DEFAULT_COMBINATION_FILE,
        risk_scorer: RiskScorer | None = None,
        sentiment_scorer: SentimentModel | None = None,
    ) -> None:
        self.normalizer = normalizer
        self.segmenter = segmenter
        self.keywords = keywords
        self.lexicon = lexicon
        self.places = places
        self.sentiment = sentiment
        self.combination_file = combination_file
        self.risk_scorer = risk_scorer
        self.sentiment_scorer = sentiment_scorer
        self._combination: CombinationFile | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        risk_scorer: RiskScorer | None = None,
        sentiment_scorer: SentimentModel | None = None,
    ) -> NlpPipeline:
        """The pipeline over the settings' data files; pass the trained models to use, if any
        (`nlp.model.scorer.load_default_risk_scorer`, `nlp.model.sentiment.load_default_sentiment_scorer`)."""
        normalizer = Normalizer(DEFAULT_VARIANTS_FILE)
        places = PlaceTagger(settings.gazetteer_file, normalizer)
        return cls(
            normalizer=normalizer,
            # Gazetteer names join the user words, so a place added to the gazetteer is cut whole
            # even before someone adds it to the user dictionary.
            segmenter=RjiebaSegmenter(settings.user_dict_file, extra_words=places.surface_forms),
            keywords=KeywordExtractor(),
            lexicon=LexiconScorer(settings.lexicon_file),
            places=places,
            sentiment=LexiconSentiment(DEFAULT_SENTIMENT_FILE),
            risk_scorer=risk_scorer,
            sentiment_scorer=sentiment_scorer,
        )

    @property
    def combination(self) -> CombinationFile:
        if self._combination is None:
            self._combination = load_yaml_model(self.combination_file, CombinationFile)
        return self._combination

    @property
    def sentiment_name(self) -> str:
        """Which sentiment scorer and version label the posts."""
        if self.sentiment_scorer is None:
            return "lexicon_sentiment"
        return f"{self.sentiment_scorer.name}:{self.sentiment_scorer.version}"

    @property
    def scorer_name(self) -> str:
        """Which scorer and version produce `risk_scores` (stored with every analysis)."""
        if self.risk_scorer is None:
            return self.lexicon.name
        return f"model:{self.risk_scorer.version}+{self.lexicon.name}"

    def warm_up(self) -> None:
        """Load every dictionary now (a long-running process does this before its first batch)."""
        self.analyse_text("预热")
        _ = self.combination

    def tokenize_query(self, text: str) -> list[str]:
        """Search text as index words, exactly as posts are indexed (normalise + segment)."""
        return index_words(self.segmenter.search_tokenize(self.normalizer(text).text))

    def analyse_text(self, text: str, post_id: str = "", jurisdiction_hint: str | None = None) -> Analysis:
        """Analyse one bare text (for tools and tests; the stage calls `analyse`)."""
        return self._analyse_batch([(post_id, text, jurisdiction_hint)])[0]

    def analyse(self, posts: Sequence[Post]) -> list[Analysis]:
        """One `Analysis` per post, in order; the model (if any) is called once for the batch."""
        return self._analyse_batch([(p.id, p.text, p.jurisdiction_hint) for p in posts])

    def _read(self, text: str) -> _Read:
        normalized = self.normalizer(text)
        tokens = self.segmenter.tokenize(normalized.text)
        return _Read(normalized, tokens, index_words(tokens), self.lexicon.score(normalized, tokens))

    def _analyse_batch(self, items: Sequence[tuple[str, str, str | None]]) -> list[Analysis]:
        started = time.perf_counter()
        reads = [self._read(text) for _, text, _ in items]
        # The model gets the original text: it applies its own training-time normalisation
        # (nlp.model.text.model_text) and must see exactly what it saw in training.
        model_scores = self._model_scores([text for _, text, _ in items])
        model_sentiments = self._model_sentiments([text for _, text, _ in items])
        fingerprints = simhash_many([r.normalized.text for r in reads])
        analyses: list[Analysis] = []
        for index, ((post_id, text, hint), read) in enumerate(zip(items, reads, strict=True)):
            risk_scores, evidence = self._risk(read.lexicon, model_scores[index] if model_scores else None, text)
            places = self.places.tag(read.normalized, read.tokens, hint)
            sentiment = model_sentiments[index] if model_sentiments else self.sentiment.score(read.words)
            analyses.append(
                Analysis(
                    post_id=post_id,
                    normalized_text=read.normalized.text,
                    # Indexed at search granularity, so both stores find a word inside a compound.
                    tokens=index_words(self.segmenter.search_tokenize(read.normalized.text)),
                    keywords=self.keywords.extract(read.words),
                    risk_scores=risk_scores,
                    evidence=evidence,
                    contexts=read.lexicon.context_ids,
                    places=places,
                    jurisdiction=self.places.jurisdiction(places, hint),
                    sentiment=sentiment.score,
                    sentiment_label=sentiment.label,
                    simhash=fingerprints[index],
                    scorer=self.scorer_name,
                )
            )
        log.debug(
            "analysed batch",
            extra={
                "posts": len(items),
                "seconds": round(time.perf_counter() - started, 3),
                "scorer": self.scorer_name,
                "sentiment": self.sentiment_name,
            },
        )
        return analyses

    def _model_scores(self, texts: list[str]) -> list[dict[str, float]] | None:
        if self.risk_scorer is None or not texts:
            return None
        raw = self.risk_scorer.score(texts)
        if len(raw) != len(texts):
            raise ValueError(
                f"risk scorer {self.risk_scorer.name!r} returned {len(raw)} results for {len(texts)} texts; "
                "it must return one dict of category scores per text, in order"
            )
        return [clean_model_scores(scores, self.risk_scorer.name) for scores in raw]

    def _model_sentiments(self, texts: list[str]) -> list[Sentiment] | None:
        if self.sentiment_scorer is None or not texts:
            return None
        model = self.sentiment_scorer
        raw = model.score(texts)
        if len(raw) != len(texts):
            raise ValueError(
                f"sentiment scorer {model.name!r} returned {len(raw)} scores for {len(texts)} texts; "
                "it must return one score in -1..1 per text, in order"
            )
        results = []
        for value in raw:
            if not -1.0 <= value <= 1.0:
                raise ValueError(f"sentiment scorer {model.name!r} returned {value}; scores must be in -1..1")
            results.append(Sentiment(round(float(value), 4), model.label(value)))
        return results

    def _risk(
        self, lexicon: LexiconResult, model: dict[str, float] | None, original_text: str
    ) -> tuple[dict[str, float], list[Evidence]]:
        if model is None or self.risk_scorer is None:
            return dict(lexicon.scores), list(lexicon.evidence)
        combination = self.combination
        scores: dict[str, float] = {}
        evidence = list(lexicon.evidence)
        for category in RISK_CATEGORIES:
            model_score = model[category]
            if combination.damp_model_with_contexts:
                # The model cannot say whether its signal is a first-person one, so for
                # life-safety categories only strong contexts damp it (as for a lexicon signal).
                model_score *= lexicon.damp_factor(category, category in LIFE_SAFETY_CATEGORIES)
            scores[category] = combination.combine(category, model_score, lexicon.scores[category])
            if model_score >= combination.evidence_threshold:
                evidence.append(
                    Evidence(
                        category=category,
                        signal="model",
                        rule=self.risk_scorer.name,
                        term="",
                        start=0,
                        end=len(original_text),
                        weight=round(model_score, 4),
                    )
                )
        return scores, evidence
