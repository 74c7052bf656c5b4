"""The ``wordvec`` command: a thin face over the Python API.

Every error a user can cause ends in one line on stderr and a non-zero exit
code, never a traceback.  Query commands do not import numba.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import WordvecError

STATE_ENV = "WORDVEC_HOME"
MODEL_ENV = "WORDVEC_MODEL"


def state_folder() -> Path:
    """Where wordvec remembers the last model it trained."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "wordvec"


def remember_model(path: Path) -> None:
    folder = state_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "last-model").write_text(str(path.resolve()) + "\n", encoding="utf-8")
    except OSError:
        pass  # remembering is a convenience; the model itself is saved


def default_model() -> Path:
    """``WORDVEC_MODEL``, else the model the last ``wordvec train`` wrote."""
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    try:
        return Path((state_folder() / "last-model").read_text(encoding="utf-8").strip())
    except OSError:
        raise WordvecError("no model given and none trained yet: run 'wordvec train CORPUS' or pass -m MODEL") from None


def default_output(corpus: str) -> Path:
    stem = "stdin" if corpus == "-" else Path(corpus.rstrip("/")).name.split(".")[0] or "model"
    return Path(f"{stem}.wordvec")


def _resolve_model(model: str | None):
    from .model import load

    path = Path(model) if model else default_model()
    loaded = load(path)
    if not model:
        click.echo(f"model: {path}", err=True)
    return loaded


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except WordvecError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=_Group)
@click.version_option(package_name="wordvec")
def main():
    """Train word vectors on raw text and ask them questions."""


@main.command()
@click.argument("corpus")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Model file to write [default: CORPUS-NAME.wordvec here].")
@click.option("--dim", "--size", default=100, show_default=True, type=click.IntRange(min=1), help="Dimension of the word vectors.")
@click.option("--window", default=5, show_default=True, type=click.IntRange(min=1), help="Largest distance from the centre word.")
@click.option("--negative", default=5, show_default=True, type=click.IntRange(min=1), help="Noise words per example (--loss ns).")
@click.option("--loss", type=click.Choice(["ns", "hs", "softmax"]), default="ns", show_default=True,
              help="Output layer: negative sampling, hierarchical softmax or the full softmax.")
@click.option("--arch", type=click.Choice(["cbow", "skipgram"]), default="cbow", show_default=True)
@click.option("--sample", default=1e-3, show_default=True, type=click.FloatRange(min=0), help="Subsampling threshold (0: off).")
@click.option("--min-count", default=5, show_default=True, type=click.IntRange(min=1), help="Drop words seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(min=1), help="Keep only this many most frequent words.")
@click.option("--epochs", "--iter", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), help="Starting learning rate [default: 0.05 cbow, 0.025 skipgram].")
@click.option("--min-alpha", default=1e-4, show_default=True, type=click.FloatRange(min=0), help="Final learning rate.")
@click.option("--threads", type=click.IntRange(min=1), help="Worker threads [default: all cores].")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed (with --threads 1: reproducible).")
@click.option("--cbow-mean/--cbow-sum", default=True, show_default=True, help="Average or add the context vectors.")
@click.option("--keep-case", is_flag=True, help="Do not lower-case the text.")
@click.option("--whitespace", is_flag=True, help="The corpus is already tokenised: split on white space only.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train(corpus, output, quiet, keep_case, **settings):
    """Train word vectors on CORPUS (a text file, .gz/.bz2/.xz, a folder, or - for stdin)."""
    from .trainer import Trainer

    trainer = Trainer(lowercase=not keep_case, progress=not quiet, **settings)
    trainer.check_settings()
    output = Path(output) if output else default_output(corpus)
    if not output.parent.resolve().is_dir():
        raise WordvecError(f"folder {output.parent} does not exist")
    model = trainer.fit(corpus).model_
    record = trainer.record_
    model.save(output)
    remember_model(output)
    click.echo(
        f"{record.corpus_tokens:,} tokens, {record.vocab_size:,} words in the vocabulary; "
        f"{len(record.epochs)} epochs in {record.train_seconds:.1f} s ({record.words_per_second:,.0f} words/s)"
    )
    click.echo("loss per epoch: " + " ".join(f"{loss:.4f}" for loss in record.loss_history))
    click.echo(f"saved to {output}")


def _print_table(rows: list[tuple[str, float]]) -> None:
    width = max((len(word) for word, _ in rows), default=4)
    for word, score in rows:
        click.echo(f"{word:<{width}}  {score:.4f}")


@main.command()
@click.argument("words", nargs=-1, required=True)
@click.option("-m", "--model", help="Model file [default: the last one trained].")
@click.option("-n", "--topn", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--negative", "negative", multiple=True, help="A word to subtract (repeatable).")
def similar(words, model, topn, negative):
    """Words closest to the sum of WORDS (minus any --negative words)."""
    _print_table(_resolve_model(model).wv.most_similar(list(words), list(negative), topn=topn))


@main.command()
@click.argument("a")
@click.argument("b")
@click.argument("c")
@click.option("-m", "--model", help="Model file [default: the last one trained].")
@click.option("-n", "--topn", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--method", type=click.Choice(["3cosadd", "3cosmul"]), default="3cosadd", show_default=True)
def analogy(a, b, c, model, topn, method):
    """A is to B as C is to ?  (wordvec analogy man king woman)"""
    _print_table(_resolve_model(model).wv.analogy(a, b, c, topn=topn, method=method))


if __name__ == "__main__":
    main()
