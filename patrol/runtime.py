"""The long-lived parts one process needs (store, ledger, workflow database, NLP pipeline).

Built once from the settings and passed to the stage functions; each part is created on first
use, so a command that only searches never loads the NLP models.
"""

from __future__ import annotations

from functools import cached_property

from nlp.pipeline import NlpPipeline
from patrol.config import Settings
from patrol.ledger import Ledger
from patrol.store.base import PostStore
from patrol.store.factory import open_post_store
from patrol.thresholds import Thresholds, load_thresholds
from patrol.workflow.db import WorkflowDb


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.ensure_dirs()

    @cached_property
    def thresholds(self) -> Thresholds:
        return load_thresholds(self.settings.thresholds_file)

    @cached_property
    def nlp(self) -> NlpPipeline:
        from nlp.model.scorer import load_default_risk_scorer
        from nlp.model.sentiment import load_default_sentiment_scorer

        return NlpPipeline.from_settings(
            self.settings,
            risk_scorer=load_default_risk_scorer(self.settings),
            sentiment_scorer=load_default_sentiment_scorer(self.settings),
        )

    @cached_property
    def store(self) -> PostStore:
        return open_post_store(self.settings, self.query_tokens, self.thresholds)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.settings.sqlite_path)

    @cached_property
    def workflow(self) -> WorkflowDb:
        return WorkflowDb(self.settings.workflow_url)

    def query_tokens(self, text: str) -> list[str]:
        """User search text tokenised exactly as posts were indexed."""
        return self.nlp.tokenize_query(text)

    def close(self) -> None:
        for name in ("store", "ledger"):
            part = self.__dict__.pop(name, None)
            if part is not None:
                part.close()
        workflow = self.__dict__.pop("workflow", None)
        if workflow is not None:
            workflow.dispose()
