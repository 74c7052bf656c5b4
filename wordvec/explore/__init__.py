"""The explorer: a local web page over a model, and the JSON API it calls.

``create_app(vectors, facts)`` builds a Starlette (ASGI) app; ``serve`` runs it
with uvicorn on 127.0.0.1 unless told otherwise.  Every query runs on
:class:`~wordvec.KeyedVectors` (numpy only, never numba).  The page and its
script are files of this package; the plotting library is plotly.js as the
``plotly`` Python package ships it, served from this machine, so the page works
with no internet.

API (all ``GET``, JSON; a bad request gets a 4xx ``{"error": ...}``):

* ``/api/similar?word=W&topn=N`` — the nearest words and their cosines;
* ``/api/analogy?a=A&b=B&c=C&method=3cosadd|3cosmul&topn=N`` — a : b :: c : ?;
* ``/api/complete?prefix=P&limit=N`` — vocabulary words starting with P, most frequent first;
* ``/api/map?word=W&n=N&method=pca|tsne`` — 2-D coordinates of W and its N−1 nearest words;
* ``/api/info`` — the model's size, settings and record (loss per epoch and along the run).

Safety: only the files of this package are served (Starlette's ``StaticFiles``
refuses paths outside its folder); queries are bounded (``topn`` ≤ 100, map ≤
300 words, words ≤ 200 characters, URLs ≤ 4096 bytes, no request bodies); any
error, expected or not, is answered as JSON, never as a traceback.
"""
from __future__ import annotations

import bisect
import os
from pathlib import Path

import numpy as np
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import WordvecError
from ..keyedvectors import ANALOGY_METHODS, KeyedVectors, UnknownWordError

STATIC = Path(__file__).resolve().parent / "static"
MAX_TOPN = 100
MAX_MAP_WORDS = 300
MAX_WORD_CHARS = 200
MAX_URL_BYTES = 4096


def plotly_script() -> Path:
    """plotly.js as the ``plotly`` package ships it."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise WordvecError("the plotly package has no plotly.min.js; reinstall it: pip install 'wordvec[explore]'")
    return path


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine's loopback address (only this machine can connect)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Bounded:
    """ASGI middleware: refuse long URLs and request bodies before the app sees them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            length = dict(scope.get("headers", [])).get(b"content-length", b"0")
            too_long = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) > MAX_URL_BYTES
            if too_long or not length.isdigit() or int(length) > 0:
                status, message = (414, "the URL is too long") if too_long else (413, "requests carry no body")
                await JSONResponse({"error": message}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Explorer:
    """The queries behind the API, over one set of vectors."""

    def __init__(self, vectors: KeyedVectors, facts: dict):
        self.vectors = vectors
        self.facts = facts
        order = sorted(range(len(vectors.words)), key=vectors.words.__getitem__)
        self.sorted_words = [vectors.words[i] for i in order]
        self.sorted_ranks = np.asarray(order, dtype=np.int64)

    def similar(self, word: str, topn: int) -> dict:
        rows = self.vectors.most_similar(word, topn=topn)
        return {"word": self._found(word), "results": _rows(rows)}

    def analogy(self, a: str, b: str, c: str, method: str, topn: int) -> dict:
        rows = self.vectors.analogy(a, b, c, topn=topn, method=method)
        return {"analogy": [self._found(a), self._found(b), self._found(c)], "method": method, "results": _rows(rows)}

    def complete(self, prefix: str, limit: int) -> dict:
        """Words that start with ``prefix``, most frequent first (a binary search
        in the sorted words, then the first ``limit`` by frequency rank)."""
        start = bisect.bisect_left(self.sorted_words, prefix)
        stop = bisect.bisect_left(self.sorted_words, prefix + "\U0010ffff", lo=start)
        ranks = np.sort(self.sorted_ranks[start:stop])[:limit]
        return {"prefix": prefix, "words": [self.vectors.words[i] for i in ranks.tolist()]}

    def map(self, word: str, n: int, method: str) -> dict:
        from ..projection import project

        centre = self.vectors.id(word)
        neighbours = [self.vectors.words[centre]] + [w for w, _ in self.vectors.most_similar(word, topn=n - 1)]
        ids = [self.vectors.id(w) for w in neighbours]
        units = np.asarray(self.vectors.vectors, dtype=np.float32)[ids] / self.vectors.norms[ids, None]
        points = project(units, method)
        cosines = (units @ units[0]).tolist()
        return {"word": neighbours[0], "method": method,
                "points": [{"word": w, "x": float(x), "y": float(y), "cosine": c}
                           for w, (x, y), c in zip(neighbours, points.tolist(), cosines)]}

    def _found(self, word: str) -> str:
        """The vocabulary word a query word was found as (after case folding)."""
        return self.vectors.words[self.vectors.id(word)]


def _rows(rows) -> list[dict]:
    return [{"word": word, "cosine": round(score, 6)} for word, score in rows]


def _text(request: Request, name: str, required: bool = True, default: str = "") -> str:
    value = request.query_params.get(name, default)
    if required and not value.strip():
        raise HTTPException(400, f"give '{name}'")
    if len(value) > MAX_WORD_CHARS:
        raise HTTPException(400, f"'{name}' is longer than {MAX_WORD_CHARS} characters")
    return value.strip()


def _number(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"'{name}' must be a whole number, not {raw[:40]!r}") from None
    if not low <= value <= high:
        raise HTTPException(400, f"'{name}' must be between {low} and {high}, not {value}")
    return value


def _choice(request: Request, name: str, choices, default: str) -> str:
    value = request.query_params.get(name, default)
    if value not in choices:
        raise HTTPException(400, f"'{name}' must be one of {', '.join(choices)}")
    return value


def create_app(vectors: KeyedVectors, facts: dict | None = None) -> Starlette:
    """The explorer's ASGI app over ``vectors``; ``facts`` is what ``/api/info`` tells.
    The handlers are plain functions: Starlette runs them in its thread pool,
    so queries (numpy, which releases the GIL in its products) run side by side."""
    explorer = Explorer(vectors, facts or {"words": len(vectors), "dim": vectors.dim})

    def similar(request):
        return JSONResponse(explorer.similar(_text(request, "word"), _number(request, "topn", 10, 1, MAX_TOPN)))

    def analogy(request):
        words = [_text(request, name) for name in "abc"]
        return JSONResponse(explorer.analogy(*words, _choice(request, "method", ANALOGY_METHODS, "3cosadd"),
                                             _number(request, "topn", 10, 1, MAX_TOPN)))

    def complete(request):
        prefix = _text(request, "prefix", required=False)
        return JSONResponse(explorer.complete(prefix, _number(request, "limit", 10, 1, MAX_TOPN)))

    def word_map(request):
        return JSONResponse(explorer.map(_text(request, "word"), _number(request, "n", 40, 4, MAX_MAP_WORDS),
                                         _choice(request, "method", ("pca", "tsne"), "pca")))

    def info(request):
        return JSONResponse(explorer.facts)

    def page(request):
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    def plotly(request):
        return FileResponse(plotly_script(), media_type="text/javascript")

    def unknown_word(request, error: UnknownWordError):
        return JSONResponse({"error": str(error), "word": error.word, "suggestions": error.suggestions}, 404)

    def refused(request, error: WordvecError):
        return JSONResponse({"error": str(error)}, 400)

    def http_error(request, error: HTTPException):
        return JSONResponse({"error": error.detail}, error.status_code)

    def failed(request, error: Exception):
        return JSONResponse({"error": f"the query failed: {type(error).__name__}"}, 500)

    routes = [
        Route("/", page),
        Route("/api/similar", similar),
        Route("/api/analogy", analogy),
        Route("/api/complete", complete),
        Route("/api/map", word_map),
        Route("/api/info", info),
        Route("/vendor/plotly.min.js", plotly),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {UnknownWordError: unknown_word, WordvecError: refused, HTTPException: http_error, Exception: failed}
    return Starlette(routes=routes, middleware=[Middleware(_Bounded)], exception_handlers=handlers)


def model_facts(path: str | os.PathLike, vectors: KeyedVectors) -> dict:
    """What ``/api/info`` tells about the model in ``path``: size, settings and record."""
    from ..io import load_native, sniff

    facts = {"file": str(path), "words": len(vectors), "dim": vectors.dim, "format": sniff(path)}
    if facts["format"] == "native":
        _, _, _, header = load_native(path)
        record = header.get("record", {})
        facts["settings"] = header.get("settings", {})
        facts["record"] = {key: record.get(key) for key in ("corpus_tokens", "vocab_size", "train_seconds",
                                                            "words_per_second", "loss_history", "loss_curve")}
    return facts


def serve(vectors: KeyedVectors, facts: dict, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True, say=print) -> None:
    """Run the explorer until Ctrl-C."""
    import threading
    import webbrowser

    import uvicorn

    plotly_script()  # a missing plotting library is said now, not in the browser
    listening = listen(host, port)
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    if not is_loopback(host):
        say(f"warning: listening on {host}: anyone who can reach this machine on port {port} can query the model")
    say(f"wordvec explorer on {address} ({len(vectors):,} words); Ctrl-C to stop")
    if open_browser:
        threading.Timer(1.0, webbrowser.open, (address,)).start()
    uvicorn.Server(uvicorn.Config(create_app(vectors, facts), log_level="warning")).run(sockets=[listening])


def listen(host: str, port: int):
    """A socket bound to ``host:port`` for the server to take, or a clear error
    before anything is said to be running (a port another program holds, an
    address that is not this machine's)."""
    import errno
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        bound = socket.socket(family, socket.SOCK_STREAM)
        bound.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: a restart need not wait
        bound.bind((host, port))
    except OSError as error:
        taken = error.errno == errno.EADDRINUSE
        raise WordvecError(f"cannot listen on {host} port {port}: {error.strerror or error}"
                           + ("; another program holds it: give another with --port" if taken else "")) from None
    return bound


__all__ = ["create_app", "serve", "model_facts", "Explorer"]
