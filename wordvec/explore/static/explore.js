// The explorer page: calls the JSON API of `wordvec explore` and draws with plotly.js.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { word: null, completions: [], active: -1, asked: 0 };

async function api(path, params) {
  const query = new URLSearchParams(params).toString();
  const response = await fetch(`/api/${path}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function say(id, text, isError = false) {
  const element = $(id);
  element.textContent = text;
  element.classList.toggle("error", isError);
}

function listRows(id, rows, onPick) {
  const list = $(id);
  list.replaceChildren();
  const top = rows.length ? Math.max(...rows.map((row) => row.cosine), 1e-9) : 1;
  for (const row of rows) {
    const item = document.createElement("li");
    item.dataset.word = row.word;
    const word = document.createElement("span");
    word.className = "word";
    word.textContent = row.word;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = row.cosine.toFixed(4);
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("i");
    fill.style.width = `${Math.max(0, (100 * row.cosine) / top)}%`;
    bar.append(fill);
    item.append(word, score, bar);
    item.addEventListener("click", () => onPick(row.word));
    list.append(item);
  }
}

async function goTo(word) {
  word = word.trim();
  if (!word) return;
  $("word").value = word;
  hideCompletions();
  try {
    const found = await api("similar", { word, topn: 15 });
    state.word = found.word;
    say("search-message", found.word === word ? `nearest to “${found.word}”` : `nearest to “${found.word}” (looked up as typed: “${word}”)`);
    listRows("neighbours", found.results, goTo);
    drawMap();
  } catch (error) {
    say("search-message", error.message, true);
    $("neighbours").replaceChildren();
  }
}

async function drawMap() {
  if (!state.word) return;
  const n = $("map-size").value;
  const method = $("map-method").value;
  $("map-title").textContent = `Neighbourhood of “${state.word}”`;
  try {
    const map = await api("map", { word: state.word, n, method });
    const trace = (points, marker, labelled) => ({
      x: points.map((p) => p.x), y: points.map((p) => p.y), text: points.map((p) => p.word),
      customdata: points.map((p) => p.cosine), marker,
      // Labels for the nearest words; every point names itself on hover.
      texttemplate: points.map((_, i) => (i < labelled ? "%{text}" : "")),
      mode: "markers+text", type: "scatter", textposition: "top center", cliponaxis: false,
      hovertemplate: "<b>%{text}</b><br>cosine %{customdata:.3f}<extra></extra>",
      textfont: { size: 11, color: "#1d2430" },
    });
    const [centre, ...others] = map.points;
    const traces = [
      trace(others, { size: 9, color: others.map((p) => p.cosine), colorscale: "Blues", reversescale: true, cmin: -0.2, cmax: 1,
                      line: { width: 1, color: "#ffffff" } }, 24),
      trace([centre], { size: 16, color: "#e8590c", line: { width: 1, color: "#ffffff" } }, 1),
    ];
    const layout = { margin: { l: 20, r: 20, t: 10, b: 20 }, hovermode: "closest", showlegend: false,
                     xaxis: { visible: false }, yaxis: { visible: false }, paper_bgcolor: "#fff", plot_bgcolor: "#fff" };
    $("map-hint").hidden = true;
    await Plotly.react("map", traces, layout, { displaylogo: false, responsive: true });
    const plot = $("map");
    plot.removeAllListeners?.("plotly_click");
    plot.on("plotly_click", (event) => goTo(event.points[0].text));
  } catch (error) {
    say("search-message", error.message, true);
  }
}

// -- completion -----------------------------------------------------------------
function hideCompletions() {
  state.asked += 1; // completions still on their way are for a question no longer asked
  $("completions").hidden = true;
  state.active = -1;
}

async function complete() {
  const prefix = $("word").value.trim();
  if (!prefix) return hideCompletions();
  const asked = ++state.asked;
  try {
    const { words } = await api("complete", { prefix, limit: 8 });
    if (asked !== state.asked) return; // typed on, or went to a word, meanwhile
    state.completions = words;
    state.active = -1;
    const list = $("completions");
    list.replaceChildren(...words.map((word) => {
      const item = document.createElement("li");
      item.textContent = word;
      item.addEventListener("mousedown", (event) => { event.preventDefault(); goTo(word); });
      return item;
    }));
    list.hidden = words.length === 0;
  } catch (error) {
    hideCompletions();
  }
}

function moveCompletion(step) {
  const items = [...$("completions").children];
  if (!items.length) return;
  state.active = (state.active + step + items.length) % items.length;
  items.forEach((item, i) => item.classList.toggle("active", i === state.active));
  $("word").value = state.completions[state.active];
}

// -- analogy and facts ---------------------------------------------------------------
async function answerAnalogy() {
  const params = { a: $("analogy-a").value, b: $("analogy-b").value, c: $("analogy-c").value,
                   method: $("analogy-method").value, topn: 10 };
  try {
    const found = await api("analogy", params);
    const [a, b, c] = found.analogy;
    say("analogy-message", `${a} : ${b} :: ${c} : ${found.results[0]?.word ?? "?"}`);
    listRows("answers", found.results, goTo);
  } catch (error) {
    say("analogy-message", error.message, true);
    $("answers").replaceChildren();
  }
}

async function showFacts() {
  const facts = await api("info", {});
  const settings = facts.settings || {};
  const record = facts.record || {};
  $("facts").textContent = `${facts.words.toLocaleString()} words · ${facts.dim} dimensions` +
    (settings.arch ? ` · ${settings.arch} / ${settings.loss}` : "") + (facts.file ? ` · ${facts.file}` : "");
  const rows = [["words", facts.words.toLocaleString()], ["dimensions", facts.dim], ["format", facts.format ?? "—"]];
  for (const key of ["arch", "loss", "window", "negative", "epochs", "min_count", "sample", "alpha"]) {
    if (key in settings) rows.push([key, settings[key]]);
  }
  if (record.corpus_tokens) rows.push(["corpus tokens", record.corpus_tokens.toLocaleString()]);
  if (record.words_per_second) rows.push(["words/s", Math.round(record.words_per_second).toLocaleString()]);
  $("settings").replaceChildren(...rows.flatMap(([key, value]) => {
    const term = document.createElement("dt");
    term.textContent = key;
    const detail = document.createElement("dd");
    detail.textContent = value;
    return [term, detail];
  }));
  const curve = record.loss_curve || [];
  if (curve.length) {
    Plotly.newPlot("loss", [{ x: curve.map((p) => p[0]), y: curve.map((p) => p[1]), mode: "lines",
                              line: { color: "#3558d4", width: 2 }, hovertemplate: "%{x:,} words: %{y:.4f}<extra></extra>" }],
                   { margin: { l: 50, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "words trained" } },
                     yaxis: { title: { text: "loss" } } }, { displaylogo: false, responsive: true });
  } else {
    $("loss").textContent = "no training record in this file";
  }
}

// -- wiring -----------------------------------------------------------------------
$("search-form").addEventListener("submit", (event) => { event.preventDefault(); goTo($("word").value); });
$("analogy-form").addEventListener("submit", (event) => { event.preventDefault(); answerAnalogy(); });
$("word").addEventListener("input", complete);
$("word").addEventListener("blur", () => setTimeout(hideCompletions, 100));
$("word").addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown") { event.preventDefault(); moveCompletion(1); }
  if (event.key === "ArrowUp") { event.preventDefault(); moveCompletion(-1); }
  if (event.key === "Escape") hideCompletions();
});
$("map-size").addEventListener("change", drawMap);
$("map-method").addEventListener("change", drawMap);
showFacts().catch((error) => say("search-message", error.message, true));
