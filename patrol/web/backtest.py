"""Backtests for the admin page: what a changed threshold or lexicon rule would have flagged in the
last days' stored posts, with examples, before anything is saved.

Thresholds are replayed over the scores stored with each post. A rule change re-reads each post's
text with the lexicon as changed and as it is now (normalise, segment, score), so the preview
shows exactly the lexicon's part of the score; the model's part, where one runs, is not replayed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml

from nlp.lexicon import LexiconFile, LexiconScorer
from nlp.normalize import NormalizedText
from nlp.segment import Token
from patrol.datafiles import load_yaml_model
from patrol.schema import RISK_CATEGORIES
from patrol.thresholds import Thresholds
from patrol.web.posts import PostReader, ScoredPost
from patrol.workflow.errors import InvalidInput

DEFAULT_DAYS = 7
MAX_THRESHOLD_POSTS = 200_000
MAX_RULE_POSTS = 5_000
EXAMPLES = 5


@dataclass(frozen=True)
class Example:
    post_id: str
    source_id: str
    url: str
    published_at: datetime
    text: str
    score_before: float
    score_after: float


@dataclass
class CategoryShift:
    category: str
    before_value: float
    after_value: float
    flagged_before: int = 0
    flagged_after: int = 0
    newly_flagged: list[Example] = field(default_factory=list)
    no_longer_flagged: list[Example] = field(default_factory=list)
    newly_count: int = 0
    dropped_count: int = 0

    @property
    def changed(self) -> bool:
        return self.newly_count > 0 or self.dropped_count > 0 or self.before_value != self.after_value


@dataclass
class BacktestResult:
    days: int
    since: datetime
    until: datetime
    scanned: int
    capped: bool
    shifts: list[CategoryShift]

    @property
    def changed(self) -> list[CategoryShift]:
        return [s for s in self.shifts if s.changed]


def _example(post: ScoredPost, before: float, after: float) -> Example:
    return Example(
        post_id=post.id,
        source_id=post.source_id,
        url=post.url,
        published_at=post.published_at,
        text=" ".join(post.text.split())[:200],
        score_before=before,
        score_after=after,
    )


def _flags(threshold: float, score: float) -> bool:
    return score > 0 and score >= threshold


def _replay(
    posts: Iterable[ScoredPost],
    categories: Iterable[str],
    before_of: Callable[[str], float],
    after_of: Callable[[str], float],
    scores: Callable[[ScoredPost], tuple[dict[str, float], dict[str, float]]],
    *,
    days: int,
    since: datetime,
    until: datetime,
    cap: int,
) -> BacktestResult:
    shifts = {c: CategoryShift(c, before_of(c), after_of(c)) for c in categories}
    scanned = 0
    for post in posts:
        scanned += 1
        old, new = scores(post)
        for category, shift in shifts.items():
            a, b = old.get(category, 0.0), new.get(category, 0.0)
            was, now = _flags(shift.before_value, a), _flags(shift.after_value, b)
            shift.flagged_before += was
            shift.flagged_after += now
            if now and not was:
                shift.newly_count += 1
                if len(shift.newly_flagged) < EXAMPLES:
                    shift.newly_flagged.append(_example(post, a, b))
            elif was and not now:
                shift.dropped_count += 1
                if len(shift.no_longer_flagged) < EXAMPLES:
                    shift.no_longer_flagged.append(_example(post, a, b))
    return BacktestResult(
        days=days,
        since=since,
        until=until,
        scanned=scanned,
        capped=scanned >= cap,
        shifts=list(shifts.values()),
    )


def backtest_thresholds(
    reader: PostReader, current: Thresholds, proposed: Thresholds, *, now: datetime, days: int = DEFAULT_DAYS
) -> BacktestResult:
    since = now - timedelta(days=days)
    posts = reader.scored_since(since, now, limit=MAX_THRESHOLD_POSTS)
    return _replay(
        posts,
        RISK_CATEGORIES,
        current.for_category,
        proposed.for_category,
        lambda p: (p.risk_scores, p.risk_scores),
        days=days,
        since=since,
        until=now,
        cap=MAX_THRESHOLD_POSTS,
    )


def parse_thresholds(current: Thresholds, form: dict[str, str]) -> Thresholds:
    """A proposed `Thresholds` from form fields `t_<category>` (empty keeps the current value)."""
    values: dict[str, float] = {}
    for category in RISK_CATEGORIES:
        raw = form.get(f"t_{category}", "").strip()
        try:
            values[category] = float(raw) if raw else current.for_category(category)
        except ValueError:
            raise InvalidInput(f"threshold for {category}: {raw!r} is not a number between 0 and 1") from None
    try:
        return Thresholds(version=current.version, default=current.default, categories=values)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc


# -- lexicon rules --------------------------------------------------------------------------------


class TextReader(Protocol):
    """Normalises and segments text the way the NLP stage does."""

    def read(self, text: str) -> tuple[NormalizedText, list[Token]]: ...


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    weight: float | None = None
    group: str | None = None
    add_terms: tuple[str, ...] = ()
    remove_terms: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.weight is None and not self.add_terms and not self.remove_terms


def _terms(raw: str) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            t.strip().lower() for t in raw.replace("，", ",").replace("\n", ",").split(",") if t.strip()
        )
    )


def parse_rule_change(form: dict[str, str]) -> RuleChange:
    weight_text = form.get("weight", "").strip()
    try:
        weight = float(weight_text) if weight_text else None
    except ValueError:
        raise InvalidInput(f"weight {weight_text!r} is not a number in (0, 1]") from None
    return RuleChange(
        rule_id=form.get("rule_id", "").strip(),
        weight=weight,
        group=form.get("group", "").strip() or None,
        add_terms=_terms(form.get("add_terms", "")),
        remove_terms=_terms(form.get("remove_terms", "")),
    )


def changed_lexicon(lexicon: LexiconFile, change: RuleChange) -> LexiconFile:
    """A copy of the lexicon with the change applied; `InvalidInput` says what is wrong with it."""
    data: dict[str, Any] = lexicon.model_dump()
    rule = next((r for r in data["rules"] if r["id"] == change.rule_id), None)
    if rule is None:
        raise InvalidInput(f"no rule {change.rule_id!r} in the lexicon; choose one from the list")
    if change.weight is not None:
        rule["weight"] = change.weight
    if change.add_terms or change.remove_terms:
        if change.group not in rule["groups"]:
            raise InvalidInput(
                f"rule {change.rule_id} uses groups {rule['groups']}; choose one of them for the terms"
            )
        terms = [t for t in data["groups"][change.group]["terms"] if t not in change.remove_terms]
        missing = sorted(set(change.remove_terms) - set(data["groups"][change.group]["terms"]))
        if missing:
            raise InvalidInput(f"group {change.group} has no terms {missing} to remove")
        terms += [t for t in change.add_terms if t not in terms]
        data["groups"][change.group]["terms"] = terms
    try:
        return LexiconFile.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(f"the changed rule is not valid: {exc}") from exc


def lexicon_yaml(lexicon: LexiconFile) -> str:
    return yaml.safe_dump(
        lexicon.model_dump(exclude_defaults=True), allow_unicode=True, sort_keys=False, width=110
    )


def scorer_for(lexicon: LexiconFile, workdir: Path) -> LexiconScorer:
    path = workdir / "lexicon.yaml"
    path.write_text(lexicon_yaml(lexicon), encoding="utf-8")
    scorer = LexiconScorer(path)
    _ = scorer.version  # load now, while the file exists
    return scorer


def backtest_rule(
    reader: PostReader,
    text_reader: TextReader,
    lexicon_file: Path,
    change: RuleChange,
    thresholds: Thresholds,
    *,
    now: datetime,
    days: int = DEFAULT_DAYS,
) -> tuple[BacktestResult, LexiconFile]:
    current = load_yaml_model(lexicon_file, LexiconFile)
    proposed = changed_lexicon(current, change)
    since = now - timedelta(days=days)
    with tempfile.TemporaryDirectory(prefix="patrol-backtest-") as tmp:
        workdir = Path(tmp)
        (workdir / "current").mkdir()
        (workdir / "proposed").mkdir()
        before = scorer_for(current, workdir / "current")
        after = scorer_for(proposed, workdir / "proposed")

        def scores(post: ScoredPost) -> tuple[dict[str, float], dict[str, float]]:
            normalized, tokens = text_reader.read(post.text)
            return before.score(normalized, tokens).scores, after.score(normalized, tokens).scores

        posts = reader.scored_since(since, now, limit=MAX_RULE_POSTS)
        result = _replay(
            posts,
            RISK_CATEGORIES,
            thresholds.for_category,
            thresholds.for_category,
            scores,
            days=days,
            since=since,
            until=now,
            cap=MAX_RULE_POSTS,
        )
    return result, proposed
