"""`patrol model`: train the risk and sentiment models, evaluate them on a labelled CSV, and run the
quality comparison against the n-gram baseline (the figures in docs/QUALITY.md)."""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from patrol.config import load_settings

app = typer.Typer(help="Train, evaluate and compare the risk and sentiment models.", no_args_is_help=True)
console = Console()
progress_console = Console(stderr=True)  # progress and notes, so --json output on stdout stays parseable
log = logging.getLogger(__name__)

DEFAULT_SHARED_DATA = Path("../shared/data")


class Task(StrEnum):
    risk = "risk"
    sentiment = "sentiment"


class SentimentBackend(StrEnum):
    ngram = "ngram"
    transformers = "transformers"


TaskOption = Annotated[Task, typer.Option("--task", help="which model: risk or sentiment")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of tables")]


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _default_model_dir(task: Task, data_dir: Path | None = None) -> Path:
    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    if task is Task.risk:
        return Path(settings.risk_model_dir)
    return Path(settings.data_dir) / "models" / "sentiment"


def _require_shared_data(data_dir: Path) -> Path:
    if not (data_dir / "text").is_dir():
        console.print(
            f"[red]{escape(str(data_dir))} has no text/ folder.[/red] Point --data-dir at the shared data "
            "(../shared/data from the project root)."
        )
        raise typer.Exit(2)
    return data_dir


@app.command()
def train(
    task: TaskOption = Task.risk,
    init: Annotated[
        Path | None,
        typer.Option("--init", help="transformers checkpoint folder to fine-tune (default: from scratch)"),
    ] = None,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="the shared labelled data")] = DEFAULT_SHARED_DATA,
    out: Annotated[
        Path | None, typer.Option("--out", help="where to save (default <data_dir setting>/models/<task>)")
    ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="stop after this many steps")] = None,
    epochs: Annotated[float, typer.Option(help="passes over the training data when --max-steps is unset")] = 3.0,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    seed: Annotated[int, typer.Option()] = 13,
    max_length: Annotated[int, typer.Option("--max-length", help="tokens per text, longer ones are cut")] = 128,
    threads: Annotated[int | None, typer.Option(help="torch CPU threads (default: torch's own choice)")] = None,
    time_budget: Annotated[
        float | None, typer.Option("--time-budget", help="stop training after this many seconds")
    ] = None,
    labelled_only: Annotated[
        bool, typer.Option("--labelled-only", help="risk: train on the in-repo labelled posts only")
    ] = False,
    no_ensemble: Annotated[bool, typer.Option("--no-ensemble", help="risk: never add the n-gram model")] = False,
    backend: Annotated[
        SentimentBackend, typer.Option(help="sentiment: n-gram or small-BERT model")
    ] = SentimentBackend.ngram,
    hidden_size: Annotated[int, typer.Option("--hidden-size", help="from scratch: width of the small BERT")] = 128,
    layers: Annotated[int, typer.Option("--layers", help="from scratch: transformer layers")] = 2,
    learning_rate: Annotated[
        float | None, typer.Option("--learning-rate", help="default 1e-3 scratch, 5e-5 --init")
    ] = None,
) -> None:
    """Train a model and save it (model, tokenizer, patrol_model.json) to --out."""
    from nlp.model.architecture import SmallBert

    _quiet_transformers()
    out_dir = out or _default_model_dir(task)
    architecture = SmallBert(hidden_size=hidden_size, num_layers=layers, intermediate_size=4 * hidden_size)

    def progress(message: str) -> None:
        console.print(escape(message))

    if task is Task.risk:
        from nlp.model.train import train_risk_model

        shared = None if labelled_only else _require_shared_data(data_dir)
        risk = train_risk_model(
            shared,
            out_dir,
            init,
            max_steps=max_steps,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            max_length=max_length,
            threads=threads,
            ensemble=not no_ensemble,
            time_budget_s=time_budget,
            progress=progress,
            architecture=architecture,
            learning_rate=learning_rate,
        )
        console.print(
            f"saved risk model [bold]{escape(risk.version)}[/bold] to {escape(str(risk.out_dir))}: "
            f"{risk.steps} steps, {risk.seconds}s, {risk.train_examples} training examples, "
            f"n-gram weight {risk.ngram_weight}"
        )
        return
    from nlp.model.sentiment import train_sentiment_model

    result = train_sentiment_model(
        _require_shared_data(data_dir),
        out_dir,
        backend=backend.value,
        init=init,
        max_steps=max_steps,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        max_length=max_length,
        threads=threads,
        time_budget_s=time_budget,
        progress=progress,
        architecture=architecture,
        learning_rate=learning_rate,
    )
    console.print(
        f"saved sentiment model [bold]{escape(result.version)}[/bold] ({result.backend}) to "
        f"{escape(str(result.out_dir))}: tune accuracy {result.tune_accuracy}, {result.seconds}s"
    )


def _print_report(title: str, report: dict[str, Any]) -> None:
    fpr = report["false_positive_rate"]
    console.print(
        f"[bold]{escape(title)}[/bold]: rows {report['n']}, accuracy {report['accuracy']:.4f}, "
        f"macro-F1 {report['macro_f1']:.4f}, false_positive_rate {'-' if fpr is None else f'{fpr:.4f}'}"
    )
    table = Table()
    for column in ("label", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for label, scores in report["per_label"].items():
        table.add_row(
            escape(label),
            f"{scores['precision']:.4f}",
            f"{scores['recall']:.4f}",
            f"{scores['f1']:.4f}",
            str(scores["support"]),
        )
    console.print(table)


@app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="CSV with columns text,label")],
    task: TaskOption = Task.risk,
    model: Annotated[Path | None, typer.Option("--model", help="model folder (default: the trained default)")] = None,
    as_json: JsonOption = False,
) -> None:
    """Score a labelled CSV: accuracy, macro-F1, per-label P/R/F1 and the false-positive rate on `none` rows.

    Risk labels: the eight category names or `none`; a row's prediction is the most probable category
    over its threshold, else `none`. Sentiment labels: `positive` or `negative` (decided by the sign).
    """
    from nlp.model.card import has_card
    from nlp.model.datasets import NONE_LABEL, RISK_LABELS, read_labelled_csv
    from nlp.model.evaluate import classification_report

    _quiet_transformers()
    model_dir = model or _default_model_dir(task)
    if not has_card(model_dir):
        console.print(
            f"[red]no trained {task.value} model in {escape(str(model_dir))}[/red]: run "
            f"`patrol model train --task {task.value}` or pass --model"
        )
        raise typer.Exit(2)
    allowed = (*RISK_LABELS, NONE_LABEL) if task is Task.risk else ("positive", "negative")
    try:
        rows = read_labelled_csv(data, allowed)
    except (ValueError, FileNotFoundError) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from error
    texts, gold = [text for text, _ in rows], [label for _, label in rows]
    if task is Task.risk:
        from nlp.model.quality import predict_risk_labels
        from nlp.model.scorer import TransformersRiskScorer

        risk_scorer = TransformersRiskScorer.from_pretrained(model_dir)
        report = classification_report(gold, predict_risk_labels(risk_scorer, texts))
        version = risk_scorer.version
    else:
        from nlp.model.quality import evaluate_sentiment_scores
        from nlp.model.sentiment import SentimentScorer

        sentiment_scorer = SentimentScorer.from_pretrained(model_dir)
        scores = sentiment_scorer.score(texts)
        report = evaluate_sentiment_scores(scores, [_sentiment_example(t, g) for t, g in rows])
        version = sentiment_scorer.version
    payload = report.to_dict() | {"model_version": version, "data": str(data)}
    if as_json:
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    _print_report(f"{task.value} model {version} on {data}", payload)


def _sentiment_example(text: str, label: str) -> Any:
    from nlp.model.datasets import SentimentExample

    return SentimentExample(text, label == "positive", "csv")


@app.command()
def quality(
    data_dir: Annotated[Path, typer.Option("--data-dir", help="the shared labelled data")] = DEFAULT_SHARED_DATA,
    risk_model: Annotated[Path | None, typer.Option("--risk-model", help="default: the trained default")] = None,
    sentiment_model: Annotated[
        Path | None, typer.Option("--sentiment-model", help="default: the trained default")
    ] = None,
    export_dev: Annotated[
        Path | None, typer.Option("--export-dev", help="also write the dev splits as text,label CSVs here")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Measure the trained models beside a char 1-3-gram TF-IDF + logistic regression baseline
    trained in this run on the same training split, on every dev split."""
    from nlp.model.quality import export_dev_csvs, run_quality

    _quiet_transformers()
    shared = _require_shared_data(data_dir)
    if export_dev is not None:
        for path in export_dev_csvs(shared, export_dev):
            progress_console.print(f"wrote {escape(str(path))}")
    result = run_quality(
        shared,
        risk_model or _default_model_dir(Task.risk),
        sentiment_model or _default_model_dir(Task.sentiment),
        progress=lambda message: progress_console.print(f"[dim]{escape(message)}[/dim]"),
    )
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for section in ("risk", "sentiment"):
        table = Table(title=f"{section}: accuracy / macro-F1 / false-positive rate")
        table.add_column("dev split")
        names = sorted({name for per_set in result[section].values() for name in per_set})
        for name in names:
            table.add_column(name, justify="right")
        for set_name, per_set in result[section].items():
            cells = []
            for name in names:
                report = per_set.get(name)
                if report is None:
                    cells.append("-")
                    continue
                fpr = report["false_positive_rate"]
                fpr_text = "-" if fpr is None else f"{fpr:.4f}"
                cells.append(f"{report['accuracy']:.4f} / {report['macro_f1']:.4f} / {fpr_text}")
            table.add_row(escape(set_name), *cells)
        console.print(table)
    for key in ("risk_model", "sentiment_model"):
        if key in result:
            console.print(f"{key}: {escape(json.dumps(result[key], ensure_ascii=False))}")
