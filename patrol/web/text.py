"""Reading text as the NLP stage does: search words for the store, and (normalised text, tokens)
for rule backtests. Only the normaliser and segmenter are used; no risk model is ever loaded."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from nlp.normalize import NormalizedText
from nlp.pipeline import NlpPipeline
from nlp.segment import Token
from patrol.config import Settings, load_settings

_LOCK = threading.Lock()


@cache
def _pipeline(lexicon: Path, gazetteer: Path, user_dict: Path) -> NlpPipeline:
    settings = load_settings(lexicon_file=lexicon, gazetteer_file=gazetteer, user_dict_file=user_dict)
    return NlpPipeline.from_settings(settings)


def shared_pipeline(settings: Settings) -> NlpPipeline:
    """One pipeline per process and set of resource files (loading the dictionaries takes seconds)."""
    with _LOCK:
        return _pipeline(settings.lexicon_file, settings.gazetteer_file, settings.user_dict_file)


class PipelineTextReader:
    """The NLP stage's normaliser and segmenter, loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def read(self, text: str) -> tuple[NormalizedText, list[Token]]:
        pipeline = shared_pipeline(self.settings)
        normalized = pipeline.normalizer(text)
        return normalized, pipeline.segmenter.tokenize(normalized.text)

    def tokenize_query(self, text: str) -> list[str]:
        return shared_pipeline(self.settings).tokenize_query(text)
