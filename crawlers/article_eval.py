"""Score the article extractor against a labelled set (GeneralNewsExtractor's `truth.json` shape).

`truth.json` maps a page path (relative to its folder) to `{title, author, publish_time, content}`;
`publish_time` is Beijing wall-clock time `YYYY-MM-DD HH:MM:SS`. Scores:

- title: exact match (whitespace-insensitive);
- publish time: exact to the second, compared in Asia/Shanghai;
- author: exact match (reported, but the labels are weak: some are page furniture);
- body: similarity of the extracted text to the labelled text, whitespace removed
  (`difflib.SequenceMatcher.ratio`, 1.0 = identical).

Run: `python -m crawlers.article_eval [PAGES_DIR]` (default `../shared/data/pages/news`).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from pathlib import Path

from crawlers.encoding import decode_page
from crawlers.parsers.article import Article, extract_article
from crawlers.timeparse import SITE_TZ

DEFAULT_PAGES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pages" / "news"
#: The moment relative times on the labelled pages are read against (they carry absolute times).
EVAL_NOW = datetime(2019, 9, 10, 12, 0, tzinfo=SITE_TZ)


@dataclass(frozen=True)
class PageScore:
    path: str
    title_ok: bool
    time_ok: bool
    author_ok: bool
    body_similarity: float
    extracted: Article


@dataclass(frozen=True)
class EvalSummary:
    pages: list[PageScore]

    @property
    def title_accuracy(self) -> float:
        return sum(p.title_ok for p in self.pages) / len(self.pages)

    @property
    def time_accuracy(self) -> float:
        return sum(p.time_ok for p in self.pages) / len(self.pages)

    @property
    def author_accuracy(self) -> float:
        return sum(p.author_ok for p in self.pages) / len(self.pages)

    @property
    def mean_body_similarity(self) -> float:
        return sum(p.body_similarity for p in self.pages) / len(self.pages)


def _squash(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def body_similarity(extracted: str, expected: str) -> float:
    a, b = _squash(extracted), _squash(expected)
    if not a and not b:
        return 1.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def score_page(pages_dir: Path, relative: str, truth: dict[str, str]) -> PageScore:
    page = decode_page((pages_dir / relative).read_bytes())
    article = extract_article(page.text, now=EVAL_NOW)
    shown_time = article.published_at.astimezone(SITE_TZ).strftime("%Y-%m-%d %H:%M:%S") if article.published_at else ""
    return PageScore(
        path=relative,
        title_ok=_squash(article.title) == _squash(truth.get("title")),
        time_ok=shown_time == truth.get("publish_time", "").strip(),
        author_ok=_squash(article.author) == _squash(truth.get("author")),
        body_similarity=body_similarity(article.text, truth.get("content", "")),
        extracted=article,
    )


def evaluate(pages_dir: Path) -> EvalSummary:
    truth = json.loads((pages_dir / "truth.json").read_text(encoding="utf-8"))
    return EvalSummary([score_page(pages_dir, relative, labels) for relative, labels in sorted(truth.items())])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pages_dir = Path(args[0]) if args else DEFAULT_PAGES.resolve()
    if not (pages_dir / "truth.json").exists():
        print(f"no truth.json in {pages_dir}: pass the folder holding it", file=sys.stderr)
        return 2
    summary = evaluate(pages_dir)
    for page in summary.pages:
        print(
            f"{page.path:32} title={'ok' if page.title_ok else 'NO':2} time={'ok' if page.time_ok else 'NO':2} "
            f"author={'ok' if page.author_ok else 'NO':2} body={page.body_similarity:.3f}"
        )
    print(
        f"pages={len(summary.pages)} title_exact={summary.title_accuracy:.3f} time_exact={summary.time_accuracy:.3f} "
        f"author_exact={summary.author_accuracy:.3f} body_similarity_mean={summary.mean_body_similarity:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
