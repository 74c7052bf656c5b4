"""The explorer: its JSON API in-process, a burst of requests to a live server,
and the page in a real browser (headless Chromium)."""
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

import wordvec  # noqa: E402
from wordvec import KeyedVectors  # noqa: E402
from wordvec.explore import create_app, model_facts  # noqa: E402

from conftest import DEMO  # noqa: E402

HAND = KeyedVectors(["king", "queen", "man", "woman", "apple", "kingdom"],
                    np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [1, 1, 0.2]], np.float32),
                    np.array([60, 50, 40, 30, 20, 10]), lowercase=True)


@pytest.fixture
def client():
    return TestClient(create_app(HAND, {"words": len(HAND), "dim": 3}), raise_server_exceptions=False)


def test_similar_analogy_complete_map_and_info(client):
    answer = client.get("/api/similar", params={"word": "King", "topn": 2}).json()
    assert answer["word"] == "king"  # folded as the model was trained
    assert [row["word"] for row in answer["results"]] == ["kingdom", "man"]
    assert answer["results"][0]["cosine"] == pytest.approx(2 / np.sqrt(2) / np.sqrt(2.04), abs=1e-6)
    assert answer["results"][1]["cosine"] == pytest.approx(1 / np.sqrt(2), abs=1e-6)
    analogy = client.get("/api/analogy", params={"a": "man", "b": "king", "c": "woman", "topn": 1}).json()
    assert analogy["results"][0]["word"] == "queen" and analogy["method"] == "3cosadd"
    assert client.get("/api/complete", params={"prefix": "kin"}).json()["words"] == ["king", "kingdom"]
    assert client.get("/api/complete", params={"prefix": "zzz"}).json()["words"] == []
    points = client.get("/api/map", params={"word": "king", "n": 5}).json()["points"]
    assert [p["word"] for p in points][0] == "king" and len(points) == 5
    assert points[0]["cosine"] == pytest.approx(1.0)
    assert client.get("/api/info").json() == {"words": 6, "dim": 3}


def test_a_port_another_program_holds_is_a_clear_error_before_the_server_says_it_runs(tmp_path):
    from click.testing import CliRunner

    from wordvec.cli import main
    from wordvec.explore import listen

    HAND.save(tmp_path / "hand.wordvec")

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(wordvec.WordvecError, match=f"cannot listen on 127.0.0.1 port {port}: .*another program holds it"):
            listen("127.0.0.1", port)
        result = CliRunner().invoke(main, ["explore", "--no-browser", "--port", str(port), "-m", str(tmp_path / "hand.wordvec")])
        assert result.exit_code == 1 and "explorer on" not in result.output
    with listen("127.0.0.1", port) as bound:  # free again
        assert bound.getsockname() == ("127.0.0.1", port)


def test_the_page_and_its_plotting_library_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "wordvec explorer" in page.text
    assert client.get("/static/explore.js").status_code == 200
    plotly = client.get("/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


@pytest.mark.parametrize("path, status", [
    ("/api/similar?word=kingg", 404), ("/api/similar", 400), ("/api/similar?word=king&topn=0", 400),
    ("/api/similar?word=king&topn=101", 400), ("/api/similar?word=king&topn=ten", 400),
    ("/api/analogy?a=man&b=king", 400), ("/api/analogy?a=man&b=king&c=woman&method=3cosdiv", 400),
    ("/api/map?word=king&n=3", 400), ("/api/map?word=king&method=umap", 400),
    ("/api/similar?word=" + "k" * 201, 400), ("/api/nothing", 404),
    ("/static/../__init__.py", 404), ("/static/%2e%2e/__init__.py", 404), ("/static/..%2f__init__.py", 404),
    ("/api/similar?word=" + "k" * 5000, 414),
])
def test_malformed_requests_get_json_errors(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert "Traceback" not in response.text and "import" not in response.text
    if path.startswith("/api/"):
        assert "error" in response.json()


def test_unknown_words_suggest_close_ones_and_failures_stay_json(client, monkeypatch):
    answer = client.get("/api/similar", params={"word": "kingg"}).json()
    assert "kingg" in answer["error"] and "king" in answer["suggestions"]
    assert client.post("/api/similar", content=b"x" * 10).status_code in (405, 413)
    monkeypatch.setattr(KeyedVectors, "most_similar", lambda *args, **kwargs: 1 / 0)
    failed = client.get("/api/similar", params={"word": "king"})
    assert failed.status_code == 500 and failed.json() == {"error": "the query failed: ZeroDivisionError"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server():
    """The explorer served by uvicorn on the loopback address, in a thread; yields its URL."""
    import uvicorn

    def start(vectors, facts):
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(vectors, facts), host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        started.append((server, thread))
        return f"http://127.0.0.1:{port}"

    started = []
    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(10)


def test_a_burst_of_concurrent_requests_is_answered_correctly(live_server):
    url = live_server(HAND, {"words": 6, "dim": 3})
    expected = {word: [w for w, _ in HAND.most_similar(word, topn=3)] for word in HAND.words}
    queries = [HAND.words[i % len(HAND)] for i in range(300)]

    def ask(word):
        with urllib.request.urlopen(f"{url}/api/similar?word={word}&topn=3", timeout=30) as response:
            return word, [row["word"] for row in json.loads(response.read())["results"]]

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(ask, queries))
    assert len(answers) == 300 and all(got == expected[word] for word, got in answers)
    try:
        urllib.request.urlopen(f"{url}/api/similar?word=nope", timeout=10)
    except urllib.error.HTTPError as error:
        assert error.code == 404 and "nope" in json.loads(error.read())["error"]


# -- in a real browser ---------------------------------------------------------------
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("explore") / "demo.wordvec"
    wordvec.Trainer(threads=2, epochs=5, seed=1, checkpoint=path).fit(DEMO)
    return path


@pytest.mark.skipif(not (_chromium() and shutil.which("chromedriver")),
                    reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver; .ci/run does)")
def test_the_page_in_a_real_browser(demo_model, live_server, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    vectors = wordvec.load_vectors(demo_model)
    url = live_server(vectors, model_facts(demo_model, vectors))
    artefacts = Path(os.environ.get("WORDVEC_ARTEFACTS", tmp_path))
    artefacts.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    wait = WebDriverWait(browser, 30)
    try:
        browser.get(url)
        wait.until(lambda b: "words" in b.find_element(By.ID, "facts").text)
        browser.save_screenshot(str(artefacts / "explore-1-opened.png"))

        box = browser.find_element(By.ID, "word")
        box.send_keys("kin")
        wait.until(seen.visibility_of_element_located((By.CSS_SELECTOR, "#completions li")))
        completions = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#completions li")]
        assert "king" in completions
        browser.save_screenshot(str(artefacts / "explore-2-completion.png"))
        box.send_keys("g", Keys.ENTER)
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#neighbours li")) == 15)
        neighbours = [item.get_attribute("data-word") for item in browser.find_elements(By.CSS_SELECTOR,
                                                                                          "#neighbours li")]
        assert "queen" in neighbours, neighbours
        wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#map .scatterlayer .point")) == 40)
        labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#map .scatterlayer .textpoint")]
        assert "king" in labels and "queen" in labels
        browser.save_screenshot(str(artefacts / "explore-3-king.png"))

        for field, word in (("analogy-a", "man"), ("analogy-b", "king"), ("analogy-c", "woman")):
            browser.find_element(By.ID, field).send_keys(word)
        browser.find_element(By.CSS_SELECTOR, "#analogy-form button").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#answers li"))
        first = browser.find_element(By.CSS_SELECTOR, "#answers li").get_attribute("data-word")
        assert first == "queen"
        assert browser.find_element(By.ID, "analogy-message").text == "man : king :: woman : queen"
        assert browser.find_elements(By.CSS_SELECTOR, "#loss .scatterlayer path")  # the loss curve is drawn
        browser.save_screenshot(str(artefacts / "explore-4-analogy.png"))

        browser.find_elements(By.CSS_SELECTOR, "#neighbours li")[0].click()  # move to a neighbour
        moved = neighbours[0]
        wait.until(lambda b: b.find_element(By.ID, "map-title").get_attribute("textContent") == f"Neighbourhood of “{moved}”")
        assert browser.find_element(By.ID, "word").get_attribute("value") == moved
        severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        browser.quit()


def test_the_command_serves_the_model_on_the_loopback_address(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "hand.txt"
    HAND.save(path)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "wordvec.cli", "explore", "-m", str(path), "--port", str(port),
                               "--no-browser"], stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr.readline().startswith(f"wordvec explorer on http://127.0.0.1:{port}/ (6 words)")
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=5) as response:
                    facts = json.loads(response.read())
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        assert facts["words"] == 6 and facts["format"] == "word2vec-txt"
    finally:
        server.terminate()
        server.wait(10)


def test_only_loopback_addresses_are_quiet():
    from wordvec.explore import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "192.168.1.4", "example.org"]))
