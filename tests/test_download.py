"""The downloader against a local HTTP server: checks, resuming, unpacking.
Nothing here touches the internet."""
import hashlib
import http.server
import io
import threading
import zipfile

import pytest
from click.testing import CliRunner

from wordvec import WordvecError
from wordvec.cli import main
from wordvec.download import REGISTRY, Entry, fetch, resolve

BODY = b"athens greece\n" * 500
ARCHIVE = io.BytesIO()
with zipfile.ZipFile(ARCHIVE, "w") as packed:
    packed.writestr("corpus/text", b"one two three\n" * 100)
FILES = {"/good.txt": BODY, "/short.txt": BODY, "/corpus.zip": ARCHIVE.getvalue(), "/wrong.txt": BODY}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves FILES with HTTP ranges; /short.txt promises all its bytes and sends half."""
    requests: list = []

    def do_GET(self):
        body = FILES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        type(self).requests.append((self.path, start))
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        sent = body[start:]
        self.wfile.write(sent[: len(sent) // 2] if self.path == "/short.txt" and not start else sent)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    monkeypatch.setenv("WORDVEC_DATA", str(tmp_path / "cache"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.requests = []
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    digest = hashlib.sha256(BODY).hexdigest()
    yield {
        "good": Entry("good", base + "/good.txt", "a file", len(BODY), digest),
        "short": Entry("short", base + "/short.txt", "cut off the first time", len(BODY), digest),
        "wrong": Entry("wrong", base + "/wrong.txt", "checksum that does not match", len(BODY), "0" * 64),
        "zipped": Entry("zipped", base + "/corpus.zip", "a zip", member="corpus/text"),
        "missing": Entry("missing", base + "/missing.txt", "not on the server"),
    }
    httpd.shutdown()


def test_a_good_file_is_fetched_checked_and_cached(server, tmp_path):
    path = fetch("good", progress=False, registry=server)
    assert path == tmp_path / "cache" / "good" / "good.txt" and path.read_bytes() == BODY
    assert fetch("good", progress=False, registry=server) == path
    assert len(_Handler.requests) == 1  # the second call found it in the cache


def test_a_cut_off_download_resumes_where_it_stopped(server, tmp_path):
    with pytest.raises(WordvecError, match="cut off at 3,500 of 7,000 bytes; run the same command again"):
        fetch("short", progress=False, registry=server)
    assert (tmp_path / "cache" / "short" / "short.txt.part").stat().st_size == len(BODY) // 2
    path = fetch("short", progress=False, registry=server)
    assert path.read_bytes() == BODY
    assert _Handler.requests == [("/short.txt", 0), ("/short.txt", len(BODY) // 2)]


def test_a_wrong_checksum_deletes_the_file(server, tmp_path):
    with pytest.raises(WordvecError, match="SHA-256 is .* not 0000"):
        fetch("wrong", progress=False, registry=server)
    assert not list((tmp_path / "cache" / "wrong").iterdir())


def test_zips_are_unpacked_and_errors_are_clear(server, tmp_path):
    path = fetch("zipped", progress=False, registry=server)
    assert path.name == "text" and path.read_bytes() == b"one two three\n" * 100
    assert not (tmp_path / "cache" / "zipped" / "corpus.zip.part").exists()
    with pytest.raises(WordvecError, match="downloading missing .* failed"):
        fetch("missing", progress=False, registry=server)
    with pytest.raises(WordvecError, match="unknown download 'nope'"):
        fetch("nope", registry=server)


def test_names_resolve_to_cached_files_and_paths_stay_paths(server, tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "good", server["good"])
    assert resolve("good", progress=False) == str(tmp_path / "cache" / "good" / "good.txt")
    local = tmp_path / "good"
    local.write_text("mine")
    monkeypatch.chdir(tmp_path)
    assert resolve("good") == "good"  # an existing file wins over a name
    assert resolve("no-such-thing") == "no-such-thing"


def test_the_download_command(server, tmp_path, monkeypatch):
    monkeypatch.setitem(REGISTRY, "good", server["good"])
    runner = CliRunner()
    listing = runner.invoke(main, ["download", "--list"])
    assert listing.exit_code == 0
    assert "text8" in listing.output and "size only, no SHA-256 known" in listing.output
    assert "no size or SHA-256 known" in listing.output  # MEN
    result = runner.invoke(main, ["download", "good", "-q"])
    assert result.exit_code == 0 and result.output.strip().endswith("good.txt")
    failed = runner.invoke(main, ["download", "nope"])
    assert failed.exit_code == 1 and "unknown download" in failed.output
