"""The ``wordvec`` command: a thin face over the Python API.

Every error a user can cause ends in one line on stderr and a non-zero exit
code, never a traceback.  Query commands do not import numba.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import numpy as np

from .checks import ARCHS, LOSSES
from .io import FORMATS, WRITABLE
from .keyedvectors import ANALOGY_METHODS
from .errors import TrainingInterrupted, WordvecError

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
    """``NAME.wordvec`` from the corpus's name; ``stdin.wordvec`` for standard
    input and for pipes (``<(zcat corpus.gz)`` is named ``/dev/fd/63``)."""
    path = Path(corpus.rstrip("/"))
    stream = corpus == "-" or (path.exists() and not path.is_file() and not path.is_dir())
    stem = "stdin" if stream else path.name.split(".")[0] or "model"
    return Path(f"{stem}.wordvec")


def resolve_data(name_or_path: str, quiet: bool = False) -> str:
    """A corpus or test-set path, or the name of a known download (fetched if needed)."""
    from .download import resolve

    return resolve(name_or_path, progress=not quiet)


def _resolve_path(model: str | None) -> Path:
    path = Path(model) if model else default_model()
    if not model:
        click.echo(f"model: {path}", err=True)
    return path


def _load(model: str | None, format: str | None = None, limit: int | None = None,
          unicode_errors: str = "strict"):
    """The vectors of ``-m MODEL`` (any format), or of the default model."""
    from .keyedvectors import load_vectors

    return load_vectors(_resolve_path(model), format, limit, unicode_errors=unicode_errors)


def _say_folded(vectors) -> None:
    """Tell on stderr which query words were found only after folding them."""
    for asked, found in dict.fromkeys(vectors.folded):
        why = ("a phrase's words are joined by _" if len(asked.split()) > 1
               else "the model was trained lower-cased" if vectors.lowercase and asked.lower() != asked else "NFC form")
        click.echo(f"note: '{asked}' looked up as '{found}' ({why})", err=True)
    vectors.folded.clear()
    for word in dict.fromkeys(vectors.built):
        click.echo(f"note: '{word}' is not in the vocabulary: its vector is built from its character n-grams",
                   err=True)
    vectors.built.clear()


def _count(n: int, noun: str) -> str:
    """``1 epoch``, ``5 epochs``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line on stderr, like errors."""
    click.echo(f"warning: {message}", err=True)


class _Group(click.Group):
    def invoke(self, ctx):
        import warnings

        warnings.showwarning = _show_warning
        try:
            return super().invoke(ctx)
        except TrainingInterrupted as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(128 + error.signal_number)
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
@click.option("--loss", type=click.Choice(LOSSES), default="ns", show_default=True,
              help="Output layer: negative sampling, hierarchical softmax or the full softmax.")
@click.option("--arch", type=click.Choice(ARCHS), default="cbow", show_default=True)
@click.option("--sample", default=1e-3, show_default=True, type=click.FloatRange(min=0), help="Subsampling threshold (0: off).")
@click.option("--min-count", default=5, show_default=True, type=click.IntRange(min=1), help="Drop words seen fewer times.")
@click.option("--max-vocab", type=click.IntRange(min=1), help="Keep only this many most frequent words.")
@click.option("--epochs", "--iter", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--alpha", type=click.FloatRange(min=0, min_open=True), help="Starting learning rate [default: 0.05 cbow, 0.025 skipgram].")
@click.option("--min-alpha", default=1e-4, show_default=True, type=click.FloatRange(min=0), help="Final learning rate.")
@click.option("--threads", type=click.IntRange(min=1), help="Worker threads [default: all cores].")
@click.option("--seed", default=1, show_default=True, type=click.IntRange(min=0),
              help="Random seed, 0 or more (with --threads 1: reproducible).")
@click.option("--shuffle/--no-shuffle", default=True, show_default=True,
              help="Train each epoch's chunks of text in a fresh random order, or in the corpus's order "
              "(word2vec's, gensim's, fastText's).")
@click.option("--spread/--no-spread", default=None,
              help="Train the centres of each span of 16.8 M words in an order spread over the whole span, 8 at a "
              "time, instead of one after the other (about 2 analogy points more with negative sampling, at about "
              "0.85x the speed) [default: spread with --loss ns, except with --subwords or --cluster].")
@click.option("--add-output/--no-add-output", default=None,
              help="Make each word's vector its input row plus its output row (w + c), not the input row alone "
              "(about 3 analogy points more for CBOW) [default: with --arch cbow --loss ns, without --subwords].")
@click.option("--cbow-mean/--cbow-sum", default=True, show_default=True, help="Average or add the context vectors.")
@click.option("--keep-case", is_flag=True, help="Do not lower-case the text.")
@click.option("--whitespace", is_flag=True, help="The corpus is already tokenised: split on white space only.")
@click.option("--phrases", default=0, show_default=True, type=click.IntRange(min=0),
              help="Find and join phrases (new_york) in N passes before training (see wordvec phrases).")
@click.option("--phrase-scoring", type=click.Choice(("word2phrase", "npmi")), default="word2phrase", show_default=True)
@click.option("--phrase-threshold", type=float, help="[default: 100 word2phrase, 0.5 npmi]")
@click.option("--phrase-min-count", type=click.IntRange(min=1), help="[default: --min-count]")
@click.option("--phrase-table", type=click.Path(dir_okay=False),
              help="Join the phrases of this saved table (wordvec phrases --save-table) instead.")
@click.option("--dedup", is_flag=True, help="Drop sentences that repeat an earlier one exactly.")
@click.option("--position-weights", is_flag=True,
              help="CBOW: learn a weight vector for each context position (Mikolov et al. 2018).")
@click.option("--subwords", is_flag=True,
              help="fastText's model: words are also their character n-grams, so unseen words get vectors.")
@click.option("--minn", default=3, show_default=True, type=click.IntRange(min=1), help="Shortest n-gram (--subwords).")
@click.option("--maxn", default=6, show_default=True, type=click.IntRange(min=1), help="Longest n-gram (--subwords).")
@click.option("--bucket", default=2_000_000, show_default=True, type=click.IntRange(min=1, max=2**31 - 1),
              help="Hash buckets for the n-grams (--subwords); only those used are kept.")
@click.option("--ns-exponent", type=float,
              help="Noise words are drawn by count to this power [default: 0.75; 0.5 for skipgram --subwords].")
@click.option("--plot-loss", "loss_picture", type=click.Path(dir_okay=False), help="Also draw the loss curve to this PNG.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), help="Save the run to MODEL every N epochs.")
@click.option("--checkpoint-minutes", type=click.FloatRange(min=0, min_open=True),
              help="Save the run to MODEL every M minutes.")
@click.option("--resume", is_flag=True, help="Continue the run saved in MODEL (same corpus and settings); "
              "starts it if MODEL does not exist, does nothing if it is finished.")
@click.option("--cluster", help="Train on a Dask cluster: a scheduler address (tcp://host:8786) or local:N "
              "(N local worker processes). Needs wordvec[distributed].")
@click.option("--round-words", type=click.IntRange(min=1),
              help="With --cluster: words one round trains, all workers together [default: 8 M for 1-2 "
              "workers, 1 M for 4, 0.25 M for 8 or more; in a run of under 60 M words (corpus x epochs) "
              "0.5 M for 2 workers, 0.25 M for more; at most 1 M for skip-gram with --subwords]. Longer rounds "
              "send less, at some accuracy.")
@click.option("--device", default="cpu", show_default=True,
              help="cpu, or cuda / cuda:N to train on an NVIDIA GPU (needs wordvec[cuda]).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def train(corpus, output, quiet, keep_case, loss_picture, resume, cluster, round_words, **settings):
    """Train word vectors on CORPUS (a text file, .gz/.bz2/.xz, a folder, - for stdin,
    or a known download such as text8: see wordvec download --list).  With
    --cluster, CORPUS may also be a glob or a URL that every worker can read."""
    from .tokenize import MAX_WORD_CHARS
    from .trainer import Trainer

    output = Path(output) if output else default_output(corpus)
    trainer = Trainer(lowercase=not keep_case, progress=not quiet, checkpoint=output, **settings)
    trainer.check_settings()
    if cluster is None:
        if round_words is not None:
            raise WordvecError("--round-words applies to training on a cluster: give --cluster too")
        corpus = resolve_data(corpus, quiet)
    trainer.fit(corpus, resume=resume, cluster=cluster, round_words=round_words)
    record = trainer.record_
    remember_model(output)
    if trainer.resumed_ == "finished":
        click.echo(f"{output} holds a finished run ({_count(len(record.epochs), 'epoch')}): nothing left to do")
        return
    click.echo(
        f"{record.corpus_tokens:,} tokens, {record.vocab_size:,} words in the vocabulary; "
        f"{_count(len(record.epochs), 'epoch')} in {record.train_seconds:.1f} s "
        f"({record.words_per_second:,.0f} words/s)"
    )
    click.echo("loss per epoch: " + " ".join(f"{loss:.4f}" for loss in record.loss_history))
    if record.phrases:
        click.echo(f"phrases: {sum(record.phrases['phrases']):,} found, {sum(record.phrases['joins']):,} joined "
                   f"({', '.join(f'{n:,}' for n in record.phrases['pairs_counted'])} distinct pairs counted, "
                   f"{record.phrases['pairs_pruned'][-1]:,} rare ones dropped)")
    if record.duplicates:
        click.echo(f"de-duplication: {record.duplicates['sentences_dropped']:,} repeated sentences dropped "
                   f"({record.duplicates['tokens_dropped']:,} tokens); "
                   f"{record.duplicates['distinct_sentences']:,} distinct sentences remembered in "
                   f"{record.duplicates['memory_bytes'] / 2**20:,.1f} MB")
    subwords = trainer.model_.subwords
    if subwords is not None:
        click.echo(f"subwords: n-grams of {subwords.minn}..{subwords.maxn} characters in {len(subwords.buckets):,} "
                   f"of {subwords.bucket:,} buckets (only those some word uses are kept)")
    if record.bad_input["replaced"]:
        click.echo(f"{record.bad_input['replaced']:,} byte sequences that are not UTF-8 were read as U+FFFD")
    if record.bad_input["capped"]:
        click.echo(f"{record.bad_input['capped']:,} words longer than {MAX_WORD_CHARS:,} characters were cut short")
    click.echo(f"saved to {output}")
    if loss_picture:
        from .plot import plot_loss

        plot_loss(record.as_dict(), loss_picture)
        click.echo(f"loss curve drawn to {loss_picture}")


@main.command()
@click.argument("corpus")
@click.option("-o", "--output", required=True, help="Where to write the text with its phrases joined (- for stdout).")
@click.option("--passes", default=1, show_default=True, type=click.IntRange(min=1),
              help="Passes; each can add one more word to a phrase (2: phrases of up to 3 words).")
@click.option("--threshold", type=float, help="Join pairs scoring above this [default: 100 word2phrase, 0.5 npmi].")
@click.option("--min-count", default=5, show_default=True, type=click.IntRange(min=1),
              help="Words and pairs seen fewer times never join.")
@click.option("--scoring", type=click.Choice(("word2phrase", "npmi")), default="word2phrase", show_default=True)
@click.option("--delimiter", default="_", show_default=True, help="Joins the words of a phrase.")
@click.option("--max-pairs", default=20_000_000, show_default=True, type=click.IntRange(min=1000),
              help="Distinct pairs counted in memory (32 to 64 bytes each) before the rarest are dropped.")
@click.option("--save-table", type=click.Path(dir_okay=False), help="Also save the phrases found to this file.")
@click.option("--phrase-table", type=click.Path(dir_okay=False),
              help="Join the phrases of this saved table instead of finding new ones.")
@click.option("--keep-case", is_flag=True, help="Do not lower-case the text.")
@click.option("--whitespace", is_flag=True, help="The corpus is already tokenised: split on white space only.")
def phrases(corpus, output, passes, threshold, min_count, scoring, delimiter, max_pairs, save_table, phrase_table,
            keep_case, whitespace):
    """Join the phrases of CORPUS (new york -> new_york), as word2phrase does,
    and write the text, line for line, to OUTPUT."""
    import time

    from . import phrases as phrase_module
    from .checks import check_not_the_corpus
    from .tokenize import Tokenizer

    started = time.perf_counter()
    corpus = resolve_data(corpus, True)
    if save_table:
        check_not_the_corpus(save_table, corpus)
    table = phrase_module.PhraseTable.load(phrase_table) if phrase_table else None
    table, report = phrase_module.phrase_text(
        corpus, output, passes, scoring, threshold, min_count, delimiter, max_pairs, table,
        Tokenizer(lowercase=not keep_case, whitespace=whitespace))
    if save_table:
        table.save(save_table)
    if report is not None:
        for number, (phrases_found, joins, pairs, pruned) in enumerate(
                zip(report.phrases, report.joins, report.pairs_counted, report.pairs_pruned), 1):
            click.echo(f"pass {number}: {pairs:,} distinct pairs counted ({pruned:,} rare ones dropped to fit "
                       f"--max-pairs), {phrases_found:,} phrases, {joins:,} joined", err=True)
        click.echo(f"pair counts took at most {report.memory_bytes / 2**20:,.0f} MB", err=True)
    else:
        click.echo(f"joined the {len(table):,} phrases of {phrase_table}", err=True)
    click.echo(f"done in {time.perf_counter() - started:.1f} s" + (f"; wrote {output}" if output != "-" else ""),
               err=True)
    if save_table:
        click.echo(f"phrase table saved to {save_table}", err=True)


# -- asking the vectors ------------------------------------------------------------
def _read_options(command, format_flag: str = "--format"):
    """``--format`` (or ``format_flag``), ``--limit`` and ``--unicode-errors``: how to read a vector file."""
    options = [
        click.option(format_flag, "format", type=click.Choice(FORMATS), help="Read the file as this format [default: detect]."),
        click.option("--limit", type=click.IntRange(min=1), help="Read only the first N (most frequent) words."),
        click.option("--unicode-errors", type=click.Choice(["strict", "replace", "ignore"]), default="strict",
                     show_default=True, help="What to do with words that are not valid UTF-8."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _vector_options(command=None, format_flag: str = "--format"):
    """``-m MODEL`` and the read options."""
    if command is None:
        return lambda command: _vector_options(command, format_flag)
    command = _read_options(command, format_flag)
    return click.option("-m", "--model", help="Model or vector file, any format [default: the last one trained].")(command)


def _output_options(command):
    command = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(command)
    return click.option("-n", "--topn", default=10, show_default=True, type=click.IntRange(min=1),
                        help="How many words to show.")(command)


def _print_neighbours(rows: list[tuple[str, float]], as_json: bool, query: dict) -> None:
    if as_json:
        click.echo(json.dumps({**query, "results": [{"word": w, "cosine": round(s, 6)} for w, s in rows]},
                              ensure_ascii=False))
        return
    width = max([len(word) for word, _ in rows] + [4])
    click.echo(f"{'word':<{width}}  {'cosine':>7}")
    for word, score in rows:
        click.echo(f"{word:<{width}}  {score:>7.4f}")


def _answer_lines(prompt: str, answer) -> None:
    """The interactive loop of the C tool's ``distance``: one query a line until
    EOF; a bad query prints its error and the loop goes on."""
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            click.echo(prompt, nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split()
        if not words:
            continue
        try:
            answer(words)
        except WordvecError as error:
            click.echo(f"error: {error}", err=True)


class _WordsCommand(click.Command):
    """Reads ``-WORD`` (a word to subtract) as a word, not as a bundle of flags;
    after ``--`` every argument is a word already."""

    def parse_args(self, ctx, args):
        words = []
        for place, arg in enumerate(args):
            if arg == "--":
                words += args[place:]
                break
            if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and not (
                    arg[:2] == "-n" and arg[2:].isdigit()):
                words += ["--negative", arg[1:]]
            else:
                words.append(arg)
        return super().parse_args(ctx, words)


def _split_signed(words) -> tuple[list[str], list[str]]:
    positive = [w for w in words if not w.startswith("-") or len(w) == 1]
    negative = [w[1:] for w in words if w.startswith("-") and len(w) > 1]
    return positive, negative


@main.command(cls=_WordsCommand)
@click.argument("words", nargs=-1)
@click.option("--negative", "negative", multiple=True, help="A word to subtract (repeatable; or write -WORD).")
@click.option("--restrict", type=click.IntRange(min=1), help="Only the N most frequent words are candidates.")
@_output_options
@_vector_options
def similar(words, negative, restrict, topn, as_json, **source):
    """Words closest to the sum of WORDS, minus any -WORD.

    With no WORDS, reads one query a line from stdin until EOF, as word2vec's
    distance tool does.
    """
    vectors = _load(**source)

    def answer(query_words, extra_negative=()):
        positive, negative_words = _split_signed(query_words)
        negative_words += list(extra_negative)
        rows = vectors.most_similar(positive, negative_words, topn=topn, restrict_vocab=restrict)
        _say_folded(vectors)
        _print_neighbours(rows, as_json, {"positive": positive, "negative": negative_words})

    if words or negative:
        answer(list(words), negative)
    else:
        _answer_lines("words (-word to subtract; Ctrl-D to end)> ", answer)


@main.command()
@click.argument("words", nargs=-1)
@click.option("--method", type=click.Choice(ANALOGY_METHODS), default="3cosadd", show_default=True)
@click.option("--restrict", type=click.IntRange(min=1), help="Only the N most frequent words are candidates.")
@_output_options
@_vector_options
def analogy(words, method, restrict, topn, as_json, **source):
    """A is to B as C is to ?   (wordvec analogy man king woman)

    With no words, reads one "A B C" a line from stdin until EOF.
    """
    if words and len(words) != 3:
        raise click.UsageError(f"give three words, A B C (got {len(words)})")
    vectors = _load(**source)

    def answer(query_words):
        if len(query_words) != 3:
            raise WordvecError(f"give three words, A B C (got {len(query_words)})")
        a, b, c = query_words
        rows = vectors.analogy(a, b, c, topn=topn, method=method, restrict_vocab=restrict)
        _say_folded(vectors)
        _print_neighbours(rows, as_json, {"analogy": [a, b, c], "method": method})

    if words:
        answer(list(words))
    else:
        _answer_lines("A B C> ", answer)


def _model_first(model: str | None, arguments: tuple, needed: int, usage: str) -> tuple[str | None, list]:
    """``-m MODEL`` and the other arguments; the model may also come first among
    them (the older form, ``wordvec export MODEL OUT``)."""
    arguments = list(arguments)
    if len(arguments) == needed + 1 and model is None:
        return arguments[0], arguments[1:]
    if len(arguments) != needed:
        raise click.UsageError(f"usage: {usage}")
    return model, arguments


@main.command()
@click.argument("model_file", metavar="[MODEL]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_vector_options
def info(model_file, as_json, model, format, limit, unicode_errors):
    """What MODEL holds: words, dimension, training settings, loss per epoch."""
    from .io import native, sniff

    path = _resolve_path(model or model_file)
    format = format or sniff(path)
    facts = {"file": str(path), "format": format, "bytes": path.stat().st_size}
    if format == "native":
        words, _, arrays, header = native.load_native(path)
        facts.update(words=len(words), dim=int(arrays["vectors"].shape[1]) if "vectors" in arrays else None,
                     output_weights="output_weights" in arrays,
                     settings=header.get("settings", {}), record=header.get("record", {}))
        if "ngram_buckets" in arrays:
            facts["ngram_buckets_kept"] = len(arrays["ngram_buckets"])
    else:
        vectors = _load(str(path), format, limit, unicode_errors)
        facts.update(words=len(vectors), dim=vectors.dim)
        if vectors.subwords is not None:
            facts.update(settings=vectors.subwords.settings, ngram_buckets_kept=len(vectors.subwords.buckets))
    if as_json:
        click.echo(json.dumps(facts, indent=2, ensure_ascii=False))
        return
    for line in _describe(facts):
        click.echo(line)


def _describe(facts: dict) -> list[str]:
    lines = [f"file      {facts['file']} ({facts['bytes'] / 2**20:,.1f} MB, {facts['format']})",
             f"words     {facts['words']:,}", f"dim       {facts['dim']}"]
    settings, record = facts.get("settings"), facts.get("record")
    if settings:
        lines.append("settings  " + ", ".join(f"{k}={v}" for k, v in sorted(settings.items())))
    if facts.get("ngram_buckets_kept") is not None:
        lines.append(f"n-grams   {facts['ngram_buckets_kept']:,} buckets with vectors (unseen words get vectors)")
    if record and record.get("loss_history"):
        lines.append(f"corpus    {record.get('corpus_tokens', 0):,} tokens")
        lines.append("loss      " + " ".join(f"{loss:.4f}" for loss in record["loss_history"]) + "  (per epoch)")
        if record.get("train_seconds"):
            lines.append(f"trained   {record['train_seconds']:.1f} s, {record.get('words_per_second', 0):,.0f} words/s")
        cluster = record.get("cluster")
        if cluster:
            rounds = max(cluster["rounds"], 1)
            lines.append(f"cluster   {cluster['workers']} workers, {cluster['rounds']} rounds, "
                         f"{cluster['bytes_to_workers'] / rounds / 2**20:,.1f} MB out and "
                         f"{cluster['bytes_from_workers'] / rounds / 2**20:,.1f} MB back a round, "
                         f"{100 * cluster['kernel_seconds'] / max(cluster['round_seconds'], 1e-9):.0f} % of it "
                         f"in the kernels, changes combined by {cluster['combine']}"
                         + (f" with momentum {cluster['momentum']:g}" if cluster.get("momentum") else ""))
    return lines


@main.command()
@click.argument("arguments", metavar="OUT", nargs=-1)
@click.option("--format", "out_format", type=click.Choice(WRITABLE),
              help="Format to write [default: from OUT's suffix: .bin (fastText's for a subword model, "
                   "else word2vec's), .txt/.vec, else native].")
@_vector_options(format_flag="--from")
def export(arguments, out_format, model, **source):
    """Write the vectors of -m MODEL (any format; --from forces how it is read)
    to OUT in word2vec binary or text (or native) format.  `wordvec export
    MODEL OUT` works too."""
    model, (out,) = _model_first(model, arguments, 1, "wordvec export OUT [-m MODEL]")
    _check_not_the_vectors(out, _resolve_path(model))
    vectors = _load(model, **source)
    vectors.save(out, out_format)
    click.echo(f"wrote {len(vectors):,} vectors of {vectors.dim} dims to {out}", err=True)


@main.command(name="import")
@click.argument("vectors_file", metavar="VECTORS")
@click.argument("out", type=click.Path(dir_okay=False))
@_read_options
def import_(vectors_file, out, **source):
    """Read VECTORS (word2vec text/binary, GloVe or a fastText .bin, whose
    n-grams are kept) and save them as a native model OUT."""
    from .keyedvectors import load_vectors

    _check_not_the_vectors(out, vectors_file)
    vectors = load_vectors(vectors_file, source["format"], source["limit"], unicode_errors=source["unicode_errors"])
    vectors.save(out, "native")
    click.echo(f"wrote {len(vectors):,} vectors of {vectors.dim} dims to {out}", err=True)


def _check_not_the_vectors(out: str, source: str) -> None:
    """Refuse to write over the file the vectors come from: a model exported in place
    would lose its output layer and record, a text file read with --limit its other words."""
    from .checks import check_not_the_corpus

    check_not_the_corpus(out, source, "the vector file", "what it holds with what was read")



# -- benchmarks -----------------------------------------------------------------
@main.group()
def evaluate():
    """Score vectors on the standard benchmarks."""


@evaluate.command(name="analogies")
@click.argument("arguments", metavar="QUESTIONS", nargs=-1)
@click.option("--restrict", default=30_000, show_default=True, type=click.IntRange(min=1),
              help="Only the N most frequent words answer; questions with rarer words are skipped.")
@click.option("--method", type=click.Choice(ANALOGY_METHODS), default="3cosadd", show_default=True)
@click.option("--case-sensitive", is_flag=True, help="Match words with their case [default: ignore case].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_vector_options
def evaluate_analogies(arguments, restrict, method, case_sensitive, as_json, model, **source):
    """Accuracy of -m MODEL on QUESTIONS, analogies in the Google
    questions-words.txt format.  `evaluate analogies MODEL QUESTIONS` works too."""
    from .evaluate import evaluate_analogies as run

    model, (questions,) = _model_first(model, arguments, 1, "wordvec evaluate analogies QUESTIONS [-m MODEL]")
    scores = run(_load(model, **source), resolve_data(questions), restrict, method, not case_sensitive)
    if as_json:
        click.echo(json.dumps(scores.as_dict(), indent=2, ensure_ascii=False))
        return
    rows = scores.sections + [None, scores.semantic, scores.syntactic, scores.total]
    width = max(len(s.name) for s in scores.sections + [scores.syntactic])
    click.echo(f"{'section':<{width}}  {'correct':>7}  {'answered':>8}  {'skipped':>7}  {'accuracy':>8}")
    for score in rows:
        if score is None:
            click.echo("-" * (width + 40))
            continue
        click.echo(f"{score.name:<{width}}  {score.correct:>7,}  {score.answered:>8,}  {score.skipped:>7,}  "
                   f"{100 * score.accuracy:>7.2f}%")


@evaluate.command(name="similarity")
@click.argument("arguments", metavar="PAIRS", nargs=-1)
@click.option("--restrict", default=300_000, show_default=True, type=click.IntRange(min=1),
              help="Only the N most frequent words count; pairs with rarer words are skipped.")
@click.option("--case-sensitive", is_flag=True, help="Match words with their case [default: ignore case].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_vector_options
def evaluate_similarity(arguments, restrict, case_sensitive, as_json, model, **source):
    """Correlation of -m MODEL with human scores on PAIRS (WordSim-353,
    SimLex-999 or MEN layout).  `evaluate similarity MODEL PAIRS` works too."""
    from .evaluate import evaluate_similarity as run

    model, (pairs,) = _model_first(model, arguments, 1, "wordvec evaluate similarity PAIRS [-m MODEL]")
    scores = run(_load(model, **source), resolve_data(pairs), restrict, not case_sensitive)
    if as_json:
        click.echo(json.dumps(scores.as_dict(), indent=2))
        return
    click.echo(f"spearman  {scores.spearman:.4f}  (p = {scores.spearman_p:.2g})")
    click.echo(f"pearson   {scores.pearson:.4f}  (p = {scores.pearson_p:.2g})")
    click.echo(f"pairs     {scores.pairs:,} scored, {scores.skipped:,} skipped (out of vocabulary, "
               f"{100 * scores.oov_ratio:.1f} %)")



# -- word classes ------------------------------------------------------------------
@main.command()
@click.option("-k", "--classes", "k", default=100, show_default=True, type=click.IntRange(min=1),
              help="How many classes.")
@click.option("--top", type=click.IntRange(min=1), help="Cluster only the N most frequent words [default: all].")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write word<TAB>class lines here [default: stdout].")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {class: [words...]}.")
@_vector_options
def classes(k, top, output, seed, as_json, model, **source):
    """Word classes by k-means over the unit vectors of -m MODEL, like the C tool's
    -classes: word<TAB>class, in class order (classes numbered by their most
    frequent word; words in frequency order)."""
    vectors = _load(model, **source)
    labels = vectors.classes(k, top, seed)
    order = np.lexsort((np.arange(len(labels)), labels))
    if as_json:
        grouped: dict[str, list[str]] = {}
        for i in order.tolist():
            grouped.setdefault(str(int(labels[i])), []).append(vectors.words[i])
        text = json.dumps(grouped, ensure_ascii=False) + "\n"
    else:
        text = "".join(f"{vectors.words[i]}\t{labels[i]}\n" for i in order.tolist())
    if output:
        from .io import atomic_write

        with atomic_write(output) as temporary:
            Path(temporary).write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(labels):,} words in {k} classes to {output}", err=True)
    else:
        click.echo(text, nl=False)



# -- the explorer ------------------------------------------------------------------
@main.command()
@click.option("--port", default=8765, show_default=True, type=click.IntRange(min=1, max=65535))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but this machine's loopback is warned about.")
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
@_vector_options
def explore(port, host, no_browser, model, **source):
    """Look around -m MODEL in the browser: neighbours, analogies, a map, the model's facts."""
    try:
        from .explore import model_facts, serve
    except ImportError as missing:
        raise WordvecError(f"the explorer needs {missing.name}: pip install 'wordvec[explore]'") from None
    path = _resolve_path(model)
    vectors = _load(str(path), **source)
    serve(vectors, model_facts(path, vectors), host, port, not no_browser, say=lambda line: click.echo(line, err=True))



# -- pictures -------------------------------------------------------------------
@main.command()
@click.argument("words", nargs=-1)
@click.option("--words", "words_flag", is_flag=True, help="The words to draw follow (--words is optional).")
@click.option("--top", type=click.IntRange(min=2), help="Draw the N most frequent words [default: 50 if no WORDS].")
@click.option("--method", type=click.Choice(["pca", "tsne"]), default="pca", show_default=True)
@click.option("-o", "--output", default="map.png", show_default=True, type=click.Path(dir_okay=False))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@_vector_options
def plot(words, words_flag, top, method, output, seed, model, **source):
    """A 2-D map of WORDS (or of the --top N words) in the space of -m MODEL, as
    a PNG.  The older `wordvec plot MODEL WORDS...` works too."""
    from .plot import plot_words

    if model is None and words and os.path.isfile(words[0]):
        model, words = words[0], words[1:]
    vectors = _load(model, **source)
    chosen = list(words) + [w for w in vectors.words[:top or (0 if words else 50)] if w not in words]
    plot_words(vectors, chosen, output, method, seed)
    click.echo(f"wrote {output} ({len(chosen)} words, {method})", err=True)


@main.command(name="plot-analogy")
@click.argument("words", metavar="A B C", nargs=-1)
@click.option("--method", type=click.Choice(ANALOGY_METHODS), default="3cosadd", show_default=True)
@click.option("-o", "--output", default="analogy.png", show_default=True, type=click.Path(dir_okay=False))
@_vector_options
def plot_analogy(words, method, output, model, **source):
    """A is to B as C is to ?, drawn in the plane of the relation, as a PNG.
    `wordvec plot-analogy MODEL A B C` works too."""
    from .plot import plot_analogy as draw

    model, (a, b, c) = _model_first(model, words, 3, "wordvec plot-analogy A B C [-m MODEL]")
    predicted = draw(_load(model, **source), a, b, c, output, method)
    click.echo(f"{a} : {b} :: {c} : {predicted}; wrote {output}", err=True)


@main.command(name="plot-loss")
@click.argument("model_file", metavar="[MODEL]", required=False)
@click.option("-m", "--model", help="Model file trained by wordvec [default: the last one trained].")
@click.option("-o", "--output", default="loss.png", show_default=True, type=click.Path(dir_okay=False))
def plot_loss(model_file, model, output):
    """The training loss of a wordvec model, per epoch and along the run, as a PNG."""
    from .io import load_native
    from .plot import plot_loss as draw

    _, _, _, header = load_native(_resolve_path(model or model_file))
    draw(header.get("record", {}), output)
    click.echo(f"wrote {output}", err=True)



# -- data -----------------------------------------------------------------------
@main.command()
@click.argument("name", required=False)
@click.option("--list", "show", is_flag=True, help="List what can be downloaded.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def download(name, show, quiet):
    """Fetch a known corpus or test set (text8, questions-words, ...) into the
    cache folder ($WORDVEC_DATA) and print its path."""
    from .download import REGISTRY, cached_path, data_folder, fetch

    if show or not name:
        click.echo(f"cache folder: {data_folder()}")
        width = max(len(n) for n in REGISTRY)
        for entry in REGISTRY.values():
            checks = "size + SHA-256" if entry.sha256 else ("size only, no SHA-256 known" if entry.size
                                                             else "no size or SHA-256 known")
            state = "cached" if cached_path(entry).is_file() else "not cached"
            click.echo(f"{entry.name:<{width}}  {entry.description} [{checks}; {state}]")
        return
    click.echo(fetch(name, progress=not quiet))


if __name__ == "__main__":
    main()
