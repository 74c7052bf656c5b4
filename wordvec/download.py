"""Known corpora and test sets, fetched into a cache folder on demand.

``wordvec download NAME`` (or :func:`fetch`) downloads a registry entry into
``$WORDVEC_DATA`` (default: ``~/.cache/wordvec``, or ``$XDG_CACHE_HOME/wordvec``)
with a progress bar, resumes a broken download where the server allows it
(HTTP ranges) and otherwise starts again, checks the size and the SHA-256 where
the registry knows them, unpacks zip archives, and returns the path.  A file
that fails a check is deleted, so the next attempt starts clean.

The registry states only what is known: sizes and SHA-256 sums come from the
files themselves (the evaluation sets are the copies in gensim 4.4.0's test
data, served from that release's tag; text8's size is the one its publisher
and TensorFlow's word2vec tutorial give).  Entries without a checksum say so in
``wordvec download --list``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import WordvecError

DATA_ENV = "WORDVEC_DATA"
_GENSIM_TEST_DATA = "https://raw.githubusercontent.com/piskvorky/gensim/4.4.0/gensim/test/test_data/"
_FARUQUI = "https://raw.githubusercontent.com/mfaruqui/eval-word-vectors/master/data/word-sim/"


@dataclass(frozen=True)
class Entry:
    """One downloadable file: where it is, what it should be, what to keep of it."""
    name: str
    url: str
    description: str
    size: int | None = None  # bytes of the download, where known
    sha256: str | None = None  # of the download, where truly known
    member: str | None = None  # for a zip: the file inside it that is wanted

    @property
    def filename(self) -> str:
        return self.member or self.url.rsplit("/", 1)[1]


REGISTRY = {entry.name: entry for entry in [
    Entry("text8", "http://mattmahoney.net/dc/text8.zip",
          "100 MB of cleaned English Wikipedia, one line (Mahoney); the classic word2vec demo corpus",
          size=31_344_016, member="text8"),
    Entry("questions-words", _GENSIM_TEST_DATA + "questions-words.txt",
          "Google analogy test set (Mikolov et al. 2013), 19,544 questions",
          size=603_955, sha256="8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"),
    Entry("wordsim353", _GENSIM_TEST_DATA + "wordsim353.tsv",
          "WordSim-353 word-pair similarity (Finkelstein et al. 2002)",
          size=7_186, sha256="f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d"),
    Entry("simlex999", _GENSIM_TEST_DATA + "simlex999.txt",
          "SimLex-999 word-pair similarity (Hill et al. 2015)",
          size=18_126, sha256="d5e0501971478a511430ee880bd0121e94ac701ba86d90544d83e6d2ba3db05d"),
    Entry("men", _FARUQUI + "EN-MEN-TR-3k.txt",
          "MEN word-pair relatedness, 3,000 pairs (Bruni et al. 2014)"),
]}


def data_folder() -> Path:
    """Where downloads are kept: ``$WORDVEC_DATA``, else the user's cache folder."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wordvec"


def cached_path(entry: Entry) -> Path:
    return data_folder() / entry.name / entry.filename


def resolve(name_or_path: str, progress: bool = True) -> str:
    """A path as it is when it exists (or is ``-``); a registry name becomes its
    cached file, downloaded first if needed; anything else is returned unchanged
    for the caller to report."""
    if name_or_path == "-" or os.path.exists(name_or_path) or name_or_path not in REGISTRY:
        return name_or_path
    return str(fetch(name_or_path, progress=progress))


def fetch(name: str, progress: bool = True, registry: dict | None = None) -> Path:
    """The local path of registry entry ``name``, downloading it if it is not cached."""
    registry = REGISTRY if registry is None else registry
    if name not in registry:
        raise WordvecError(f"unknown download '{name}'; known: {', '.join(sorted(registry))}")
    entry = registry[name]
    target = cached_path(entry)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WordvecError(f"cannot create {target.parent}: {error.strerror or error}") from None
    download = target.parent / (entry.url.rsplit("/", 1)[1] + ".part")
    _download(entry, download, progress)
    _verify(entry, download)
    if entry.member:
        _unpack(download, entry.member, target)
        download.unlink()
    else:
        download.replace(target)
    return target


def _download(entry: Entry, part: Path, progress: bool) -> None:
    """Fetch ``entry.url`` into ``part``, continuing a partial file if the server
    honours ranges, else from the start."""
    from tqdm.auto import tqdm

    have = part.stat().st_size if part.exists() else 0
    if entry.size is not None and have > entry.size:
        part.unlink()
        have = 0
    if entry.size is not None and have == entry.size:
        return
    request = urllib.request.Request(entry.url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            resumed = have > 0 and response.status == 206
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else entry.size
            with open(part, "ab" if resumed else "wb") as out, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=entry.name, disable=not progress) as bar:
                while True:
                    block = response.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise WordvecError(f"downloading {entry.name} from {entry.url} failed ({reason}); "
                           "run the same command again to resume") from None
    if length is not None and part.stat().st_size != total:
        raise WordvecError(f"the download of {entry.name} was cut off at {part.stat().st_size:,} of {total:,} bytes; "
                           "run the same command again to resume")


def _verify(entry: Entry, part: Path) -> None:
    size = part.stat().st_size
    problem = None
    if entry.size is not None and size != entry.size:
        problem = f"it has {size:,} bytes, not the {entry.size:,} expected"
    elif entry.sha256 is not None:
        digest = hashlib.sha256()
        with open(part, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry.sha256:
            problem = f"its SHA-256 is {digest.hexdigest()}, not {entry.sha256}"
    if problem:
        part.unlink()
        raise WordvecError(f"the download of {entry.name} is not the expected file: {problem}; it was deleted")


def _unpack(archive: Path, member: str, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as packed, packed.open(member) as source:
            temporary = target.with_name(target.name + ".unpacking")
            with open(temporary, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
            temporary.replace(target)
    except (zipfile.BadZipFile, KeyError) as error:
        archive.unlink()
        raise WordvecError(f"{archive.name} is not a zip holding {member} ({error}); it was deleted") from None
