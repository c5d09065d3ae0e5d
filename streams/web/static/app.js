// The crisis-room page. Builds every node with createElement/textContent: what it shows (mention
// text above all) is untrusted and never parsed as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const SENTIMENTS = ["negative", "neutral", "positive", "unscored"];
const state = { actions: false, refreshS: 15 };

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs, title) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (title) {
    const t = document.createElementNS(SVG, "title");
    t.textContent = title;
    node.append(t);
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function when(iso) {
  return iso ? iso.slice(0, 16).replace("T", " ") : "–";
}

function duration(seconds) {
  const s = Math.abs(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m`;
}

function fill(tbody, rows, columns, emptyText) {
  tbody.replaceChildren();
  if (!rows.length) {
    tbody.append(el("tr", {}, el("td", { className: "empty", colspan: columns, text: emptyText })));
    return;
  }
  for (const row of rows) tbody.append(row);
}

function actionButton(label, url) {
  if (!state.actions) return el("td");
  const button = el("button", { type: "button", text: label });
  button.addEventListener("click", () => act(button, url));
  return el("td", {}, button);
}

async function act(button, url) {
  const token = document.getElementById("token").value;
  button.disabled = true;
  try {
    const response = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    const body = await response.json();
    button.textContent = response.ok ? body.status : `failed: ${body.error}`;
  } catch (error) {
    button.textContent = `failed: ${error.message}`;
  }
  refresh();
}

function incidentRow(i) {
  return el(
    "tr",
    { className: `incident state-${i.state}`, "data-id": i.incident_id },
    el("td", { text: i.incident_id }),
    el("td", { text: i.brand }),
    el("td", { text: i.category || "all" }),
    el("td", { className: "state", text: i.state + (i.acknowledged_by ? ` by ${i.acknowledged_by}` : "") }),
    el("td", {}, el("span", { className: `badge severity-${i.severity}`, text: i.severity })),
    el("td", { text: when(i.started_at) }),
    el("td", { text: `${i.observed} / ${Number(i.expected).toFixed(1)}` }),
    el("td", { text: (i.top_terms || []).slice(0, 5).join(", ") || "–" }),
    actionButton("Acknowledge", `/api/incidents/${encodeURIComponent(i.incident_id)}/ack`),
  );
}

function timeLeft(t) {
  if (t.seconds_left !== null) {
    const overdue = t.seconds_left < 0;
    const label = overdue ? `overdue ${duration(t.seconds_left)}` : `${duration(t.seconds_left)} left`;
    const urgency = overdue ? "overdue" : t.seconds_left < 3600 ? "soon" : "";
    return el("span", { className: `badge ${urgency}`, title: `due ${when(t.due_at)}`, text: label });
  }
  const waiting = t.waiting_seconds === null ? "waiting" : `waiting ${duration(t.waiting_seconds)}`;
  return el("span", { className: "badge", text: waiting });
}

function threadRow(t) {
  return el(
    "tr",
    { className: "thread", "data-key": t.key },
    el("td", {}, timeLeft(t)),
    el("td", { text: t.brand }),
    el("td", { text: t.platform }),
    el("td", { text: t.status }),
    el("td", { text: t.target || "–" }),
    el("td", { className: "text", text: t.text || `(thread ${t.key})` }),
    actionButton("Resolve", `/api/threads/${encodeURIComponent(t.key)}/resolve`),
  );
}

function pct(x) {
  return x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`;
}

function secs(x) {
  return x === null || x === undefined ? "–" : duration(x);
}

function slaRow(r) {
  return el(
    "tr",
    {},
    el("td", { text: r.brand || "all" }),
    el("td", { text: String(r.threads) }),
    el("td", { text: String(r.mentions) }),
    el("td", { text: pct(r.negative_share) }),
    el("td", { text: pct(r.response_rate) }),
    el("td", { text: `${secs(r.first_response_median)} / ${secs(r.first_response_p90)}` }),
    el("td", { text: `${secs(r.next_response_median)} / ${secs(r.next_response_p90)}` }),
    el("td", { text: pct(r.resolution_rate) }),
    el("td", { text: secs(r.resolution_median) }),
    el("td", { text: String(r.hotline_redirects) }),
    el("td", { text: String(r.private_only) }),
  );
}

function chart(timeline) {
  const box = document.getElementById("chart");
  const buckets = timeline.buckets;
  if (!buckets.length) {
    box.replaceChildren(el("p", { className: "empty", text: "no mentions in this period" }));
    return;
  }
  const width = Math.max(600, box.clientWidth || 1000), height = 200, left = 40, bottom = 18;
  const totals = buckets.map((b) => b.counts.reduce((sum, [, n]) => sum + n, 0));
  const max = Math.max(1, ...totals);
  const start = Date.parse(buckets[0].at);
  const span = Math.max(1, Date.parse(buckets[buckets.length - 1].at) + timeline.interval_seconds * 1000 - start);
  const x = (t) => left + ((t - start) / span) * (width - left);
  const y = (n) => (height - bottom) * (1 - n / max);
  const barWidth = Math.max(1, ((width - left) * timeline.interval_seconds * 1000) / span - 1);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "mentions over time" });
  buckets.forEach((b, i) => {
    let base = 0;
    for (const [sentiment, n] of b.counts) {
      if (!n) continue;
      const top = base + n;
      const attrs = { class: `bar ${sentiment}`, x: x(Date.parse(b.at)), y: y(top), width: barWidth, height: y(base) - y(top) };
      root.append(svg("rect", attrs, `${when(b.at)}: ${n} ${sentiment} (of ${totals[i]})`));
      base = top;
    }
  });
  for (const mark of timeline.incidents) {
    const at = x(Date.parse(mark.at));
    if (at < left || at > width) continue;
    root.append(svg("line", { class: "mark", x1: at, x2: at, y1: 0, y2: height - bottom }, `${mark.incident_id} (${mark.severity}, ${mark.state})`));
  }
  const axis = (attrs, text) => {
    const t = svg("text", { class: "axis", ...attrs });
    t.textContent = text;
    return t;
  };
  root.append(axis({ x: 0, y: 12 }, String(max)));
  root.append(axis({ x: left, y: height - 4 }, when(buckets[0].at)));
  root.append(axis({ x: width, y: height - 4, "text-anchor": "end" }, when(buckets[buckets.length - 1].at)));
  box.replaceChildren(root);
}

function result(hit) {
  const meta = [when(hit.at), hit.brand, hit.platform, hit.sentiment, hit.category, hit.status].filter(Boolean).join(" · ");
  return el("li", { className: `hit ${hit.kind}` }, el("div", { className: "meta", text: meta }), el("div", { className: "text", text: hit.text }));
}

function searchParams() {
  const form = document.getElementById("search-form");
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form).entries()) {
    if (value) params.set(key, value);
  }
  return params;
}

async function search(event) {
  if (event) event.preventDefault();
  const error = document.getElementById("search-error");
  try {
    const body = await getJSON(`/api/search?${searchParams()}`);
    error.textContent = "";
    const list = document.getElementById("results");
    list.replaceChildren(...body.hits.map(result));
    if (!body.hits.length) list.append(el("li", { className: "empty", text: "nothing matches" }));
  } catch (e) {
    error.textContent = e.message;
  }
}

function rangeParams() {
  const params = new URLSearchParams();
  for (const key of ["since", "until", "brand"]) {
    const value = searchParams().get(key);
    if (value) params.set(key, value);
  }
  return params;
}

async function refresh() {
  const status = document.getElementById("status");
  const range = rangeParams();
  const [incidents, awaiting, timeline, sla] = await Promise.allSettled([
    getJSON("/api/incidents"),
    getJSON("/api/threads/awaiting"),
    getJSON(`/api/timeline?${range}`),
    getJSON(`/api/sla?${range}`),
  ]);
  if (incidents.status === "fulfilled") {
    fill(document.querySelector("#incidents tbody"), incidents.value.incidents.map(incidentRow), 9, "no incidents");
  }
  if (awaiting.status === "fulfilled") {
    fill(document.querySelector("#awaiting tbody"), awaiting.value.threads.map(threadRow), 7, "no thread awaits a reply");
  }
  if (timeline.status === "fulfilled") chart(timeline.value);
  if (sla.status === "fulfilled" && sla.value.available) {
    document.getElementById("sla-panel").hidden = false;
    fill(document.querySelector("#sla tbody"), sla.value.rows.map(slaRow), 9, "no threads in this period");
  }
  const failed = [incidents, awaiting, timeline, sla].filter((r) => r.status === "rejected");
  status.textContent = failed.length
    ? `refresh failed: ${failed[0].reason.message}`
    : `updated ${new Date().toLocaleTimeString()}`;
}

async function start() {
  try {
    const config = await getJSON("/api/config");
    state.actions = config.actions;
    state.refreshS = config.refresh_s;
  } catch (e) {
    document.getElementById("status").textContent = `cannot reach Flarewatch: ${e.message}`;
  }
  document.getElementById("token-box").hidden = !state.actions;
  document.getElementById("search-form").addEventListener("submit", (event) => {
    search(event);
    refresh();
  });
  await Promise.all([refresh(), search()]);
  setInterval(refresh, state.refreshS * 1000);
}

document.addEventListener("DOMContentLoaded", start);
