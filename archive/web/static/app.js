// 讲稿库 web page. Document text is untrusted: it is only ever inserted with textContent and
// createElement, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 10;
const token = new URLSearchParams(location.search).get("token");
const state = { q: "", speaker: "", since: "", until: "", sort: "relevance", offset: 0 };

function apiUrl(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) query.set(key, value);
  }
  if (token) query.set("token", token);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function api(path, params) {
  const response = await fetch(apiUrl(path, params), token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function showError(error) {
  $("error").textContent = error ? String(error.message || error) : "";
  $("error").hidden = !error;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// A passage with its highlights as <mark> elements: [start, end) offsets into the text.
function highlighted(text, highlights) {
  const fragment = document.createDocumentFragment();
  let position = 0;
  for (const [start, end] of highlights) {
    if (start > position) fragment.append(text.slice(position, start));
    fragment.append(el("mark", null, text.slice(start, end)));
    position = end;
  }
  fragment.append(text.slice(position));
  return fragment;
}

function passageNode(passage, tag) {
  const node = el(tag || "p", "passage");
  if (passage.page) node.append(el("span", "page", `第${passage.page}页`));
  node.append(highlighted(passage.text, passage.highlights));
  return node;
}

function metaLine(doc) {
  const who = [doc.role, doc.speaker].filter(Boolean).join(" ");
  const parts = [doc.date, who, doc.meeting, doc.pages ? `${doc.pages_estimated ? "约" : ""}${doc.pages}页` : null, doc.format, doc.ocr ? "扫描件（OCR识别，个别字可能有误）" : null];
  return parts.filter(Boolean).join(" · ");
}

function readForm() {
  state.q = $("q").value.trim();
  state.speaker = $("speaker").value;
  state.since = $("since").value;
  state.until = $("until").value;
  state.sort = $("sort").value;
}

function writeForm() {
  $("q").value = state.q;
  $("speaker").value = state.speaker;
  $("since").value = state.since;
  $("until").value = state.until;
  $("sort").value = state.sort;
}

function pageParams() {
  return { q: state.q, speaker: state.speaker, since: state.since, until: state.until, sort: state.sort };
}

function pushUrl(extra) {
  const params = { ...pageParams(), offset: state.offset || "", ...(extra || {}) };
  if (params.sort === "relevance") params.sort = "";
  history.pushState(null, "", apiUrl("/", params));
}

async function runSearch() {
  showError(null);
  $("document-view").hidden = true;
  if (!state.q) { $("results-view").hidden = true; return; }
  try {
    const data = await api("/api/search", { ...pageParams(), limit: PAGE_SIZE, offset: state.offset });
    renderResults(data);
    const { q, speaker, since, until } = state;
    renderTimeline(data.total ? await api("/api/timeline", { q, speaker, since, until }) : null);
  } catch (error) {
    $("results-view").hidden = true;
    showError(error);
  }
}

function renderResults(data) {
  $("results-view").hidden = false;
  const list = $("results");
  list.replaceChildren();
  $("summary").textContent = data.total
    ? `共 ${data.total} 篇讲话符合“${state.q}”`
    : `没有讲话符合“${state.q}”`;
  if (!data.total && data.suggestions && data.suggestions.length) {
    $("summary").append("。你是不是要找：");
    for (const suggestion of data.suggestions) {
      const link = el("a", "suggestion", `${suggestion.query}（${suggestion.total} 篇）`);
      link.href = apiUrl("/", { q: suggestion.query });
      link.addEventListener("click", (event) => {
        event.preventDefault(); state.q = suggestion.query; state.offset = 0; writeForm(); pushUrl(); runSearch();
      });
      $("summary").append(" ", link);
    }
  }
  $("exports").hidden = !data.total;
  for (const format of ["docx", "md", "csv", "json"]) {
    document.querySelector(`a.export[data-format="${format}"]`).href = apiUrl("/api/export", { ...pageParams(), format, sort: state.sort === "relevance" ? "relevance" : "date" });
  }
  // One entry per speech on this page: its versions fold under it, and the final version (定稿,
  // 印发稿…) stands for the group where it is on the page.
  const onPage = new Map(data.hits.map((hit) => [hit.path, hit]));
  const shownGroups = new Set();
  for (const found of data.hits) {
    const group = found.final || found.path;
    if (shownGroups.has(group)) continue;
    shownGroups.add(group);
    const hit = onPage.get(group) || found;
    const item = el("li", "hit");
    const heading = el("h3");
    const link = el("a", "open-document", `《${hit.title || "无标题"}》`);
    link.href = apiUrl("/", { doc: hit.id, q: state.q });
    link.addEventListener("click", (event) => { event.preventDefault(); openDocument(hit.id, true); });
    heading.append(link);
    if (hit.match === "words") heading.append(el("span", "words-only", "含全部词语，非原文"));
    item.append(heading, el("div", "meta", metaLine(hit)), el("div", "path", hit.path));
    for (const passage of hit.passages) item.append(passageNode(passage));
    if (hit.versions && hit.versions.length) {
      const more = el("details", "versions");
      more.append(el("summary", null, `另有 ${hit.versions.length} 个版本`));
      const others = el("ul");
      for (const other of hit.versions) others.append(el("li", null, `《${other.title || "无标题"}》 ${other.date || ""} ${other.path}`));
      more.append(others);
      item.append(more);
    }
    list.append(item);
  }
  const page = Math.floor(data.offset / PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
  $("page-info").textContent = `第 ${page} / ${pages} 页`;
  $("prev").disabled = data.offset <= 0;
  $("next").disabled = data.offset + PAGE_SIZE >= data.total;
  $("pager").hidden = pages <= 1;
}

async function openDocument(id, push) {
  showError(null);
  try {
    const doc = await api(`/api/documents/${encodeURIComponent(id)}`, { q: state.q });
    if (push) pushUrl({ doc: id });
    $("results-view").hidden = true;
    $("document-view").hidden = false;
    $("doc-title").textContent = `《${doc.title || "无标题"}》`;
    $("doc-meta").textContent = metaLine(doc);
    $("doc-path").textContent = doc.path;
    const matches = $("doc-matches");
    matches.replaceChildren();
    const passages = doc.passages || [];
    $("doc-matches-title").textContent = state.q ? `“${state.q}”在本文出现 ${passages.length} 处` : "";
    for (const passage of passages) matches.append(passageNode(passage, "li"));
    const text = $("doc-text");
    text.replaceChildren();
    for (const paragraph of doc.paragraphs) text.append(el("p", null, paragraph.text));
    window.scrollTo(0, 0);
  } catch (error) {
    showError(error);
  }
}

// This search's speeches per year, above its results; a year's bar filters the results to it.
function renderTimeline(timeline) {
  const chart = $("timeline");
  chart.replaceChildren();
  chart.hidden = !timeline || !timeline.years.length;
  $("timeline-caption").hidden = chart.hidden;
  if (chart.hidden) return;
  const years = timeline.years.filter((row) => row.year !== null);
  const largest = Math.max(1, ...years.map((row) => row.documents));
  for (const row of years) {
    const bar = el("div", "bar");
    bar.title = `${row.year} 年：${row.documents} 篇讲话，${row.occurrences} 处`;
    const fill = el("span", "fill");
    fill.style.height = `${Math.max(4, Math.round((80 * row.documents) / largest))}%`;
    bar.append(el("span", "count", String(row.documents)), fill, el("span", "year", String(row.year)));
    bar.addEventListener("click", () => {
      state.since = String(row.year); state.until = String(row.year); state.offset = 0;
      writeForm(); pushUrl(); runSearch();
    });
    chart.append(bar);
  }
}

function renderChart(stats) {
  const updated = stats.updated ? ` · 最后更新 ${stats.updated.replace("T", " ")}` : "";
  const waiting = stats.watch && stats.watch.pending ? ` · ${stats.watch.pending} 个文件待更新` : "";
  const following = stats.watch ? " · 自动更新中" : "";
  $("counts").textContent = `共 ${stats.documents} 篇讲话稿${updated}${waiting}${following}`;
  const chart = $("chart");
  chart.replaceChildren();
  const years = Object.entries(stats.by_year).filter(([year]) => year !== "unknown");
  const largest = Math.max(1, ...years.map(([, count]) => count));
  for (const [year, count] of years) {
    const bar = el("div", "bar");
    bar.title = `${year} 年：${count} 篇`;
    const fill = el("span", "fill");
    fill.style.height = `${Math.max(4, Math.round((80 * count) / largest))}%`;
    bar.append(el("span", "count", String(count)), fill, el("span", "year", year));
    bar.addEventListener("click", () => {
      $("since").value = year; $("until").value = year;
      if ($("q").value.trim()) $("search-form").requestSubmit();
    });
    chart.append(bar);
  }
  const select = $("speaker");
  for (const name of Object.keys(stats.by_speaker)) {
    if (name === "unknown") continue;
    const option = el("option", null, `${name}（${stats.by_speaker[name]}）`);
    option.value = name;
    select.append(option);
  }
}

function loadFromUrl() {
  const params = new URLSearchParams(location.search);
  state.q = params.get("q") || "";
  state.speaker = params.get("speaker") || "";
  state.since = params.get("since") || "";
  state.until = params.get("until") || "";
  state.sort = params.get("sort") || "relevance";
  state.offset = Number(params.get("offset")) || 0;
  writeForm();
  const doc = params.get("doc");
  if (doc) return openDocument(doc, false);
  return runSearch();
}

$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  readForm();
  state.offset = 0;
  pushUrl();
  runSearch();
});
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); pushUrl(); runSearch(); });
$("next").addEventListener("click", () => { state.offset += PAGE_SIZE; pushUrl(); runSearch(); });
$("back").addEventListener("click", () => { history.back(); });
window.addEventListener("popstate", loadFromUrl);

// 文稿查重: the draft with its reused sentences marked, each with the past speeches that hold it.
async function runCheck(event) {
  event.preventDefault();
  showError(null);
  const file = $("draft-file").files[0];
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let response;
  if (file) {
    response = await fetch(apiUrl("/api/check", { filename: file.name }), { method: "POST", headers, body: file });
  } else {
    response = await fetch(apiUrl("/api/check"), {
      method: "POST", headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ text: $("draft").value }),
    });
  }
  const data = await response.json();
  if (!response.ok) return showError(new Error(data.error || response.statusText));
  $("check-summary").textContent = `共 ${data.sentences} 句，${data.reused} 句与以往讲话相同或相近，其中 ${data.exact} 句原文照用`;
  const result = $("check-result");
  result.replaceChildren();
  let position = 0;
  for (const match of data.matches) {
    if (match.start > position) result.append(data.text.slice(position, match.start));
    const mark = el("mark", match.exact ? "reused exact" : "reused near", data.text.slice(match.start, match.end));
    mark.title = match.sources.map((s) => `《${s.title || "无标题"}》 ${s.speaker || ""} ${s.date || ""}` +
      `${s.page ? ` 第${s.page}页` : ""}（${s.exact ? "原文照用" : `相似度 ${Math.round(s.similarity * 100)}%`}）：${s.text}`).join("\n");
    result.append(mark);
    const sources = el("ul", "sources");
    for (const s of match.sources) {
      sources.append(el("li", null, `《${s.title || "无标题"}》 ${[s.speaker, s.date, s.page ? `第${s.page}页` : null].filter(Boolean).join(" ")}` +
        `（${s.exact ? "原文照用" : `相似度 ${Math.round(s.similarity * 100)}%`}）：${s.text}`));
    }
    result.append(sources);
    position = match.end;
  }
  result.append(data.text.slice(position));
}
$("check-form").addEventListener("submit", (event) => runCheck(event).catch(showError));

(async () => {
  try {
    renderChart(await api("/api/stats"));
  } catch (error) {
    showError(error);
  }
  await loadFromUrl();
})();
