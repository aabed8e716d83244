/* Fieldroute's follow-up page: picks a period, reads the report API over fetch (the page's
 * session cookie), and draws the KPIs per rep, the charts (hand-written SVG: no library, no
 * CDN), the stores on a Leaflet map, today, the stores not visited and the suggestions.
 * Text from data goes in with textContent, never as HTML.
 * The page's config (cfg) comes from the server: the reps and stores, today, the period
 * asked for, the API's paths, the page's CSRF token (null: read only). */
"use strict";

function fieldrouteFollowup(cfg) {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = { made: "#2e7d32", missed: "#c62828", none: "#9e9e9e" };
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const repById = new Map(cfg.reps.map((r) => [r.id, r]));
  const storeById = new Map(cfg.stores.map((s) => [s.id, s]));
  const markers = new Map();  // store id -> Leaflet circle marker
  const shown = { rep: [], week: [], store: new Map(), from: cfg.from, to: cfg.to };  // the period's rows
  let asked = 0;  // the newest load: answers to older ones are dropped

  // --- small helpers -----------------------------------------------------------------------
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function say(text, isError) {
    $("fr-status").textContent = text;
    $("fr-status").classList.toggle("fr-error", Boolean(isError));
  }
  const repLabel = (id) => (id ? (repById.has(id) ? `${repById.get(id).name} (${id})` : id) : "no rep");
  const storeLabel = (id) => (storeById.has(id) ? `${storeById.get(id).name} (${id})` : id);
  const NONE = "–";
  const int = (v) => (v === null || v === undefined ? NONE : String(v));
  const pct = (v) => (v === null || v === undefined ? NONE : `${(100 * v).toFixed(1)} %`);
  const money = (v) => (v === null || v === undefined ? NONE
    : v.toLocaleString("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  const dec1 = (v) => (v === null || v === undefined ? NONE : v.toFixed(1));
  const change = (c) => (!c || c.change === null || c.change === undefined ? NONE
    : `${c.change > 0 ? "+" : c.change < 0 ? "−" : ""}${Math.abs(100 * c.change).toFixed(0)} %`);

  // dates as "YYYY-MM-DD", counted in whole days (UTC: no time zone shifts them)
  const day = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10));
  const iso = (ms) => new Date(ms).toISOString().slice(0, 10);
  const plus = (isoDate, days) => iso(day(isoDate) + days * 86400000);
  const monday = (isoDate) => plus(isoDate, -((new Date(day(isoDate)).getUTCDay() + 6) % 7));
  const short = (isoDate) => `${+isoDate.slice(8, 10)} ${MONTHS[+isoDate.slice(5, 7) - 1]}`;
  const long = (isoDate) => `${short(isoDate)} ${isoDate.slice(0, 4)}`;

  async function call(method, url) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && cfg.csrf) headers["X-CSRF-Token"] = cfg.csrf;
    let res;
    try {
      res = await fetch(url, { method, headers, credentials: "same-origin" });
    } catch (e) {
      return { ok: false, status: 0, body: null, message: "the service did not answer" };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    const detail = data && (data.errors && data.errors.length
      ? data.errors.map((e) => e.message || e.msg || JSON.stringify(e)).join("; ") : data.detail);
    return { ok: res.ok, status: res.status, body: data, message: `${res.status}: ${detail || res.statusText}` };
  }

  // --- the period --------------------------------------------------------------------------
  const QUICK = {
    "this-week": () => [monday(cfg.today), cfg.today],
    "last-week": () => [plus(monday(cfg.today), -7), plus(monday(cfg.today), -1)],
    "last-4-weeks": () => [plus(monday(cfg.today), -28), plus(monday(cfg.today), -1)],
  };
  function markQuick() {
    document.querySelectorAll("[data-quick]").forEach((b) => {
      const [from, to] = QUICK[b.dataset.quick]();
      b.setAttribute("aria-pressed", String(from === $("fr-from").value && to === $("fr-to").value));
    });
  }
  function setPeriod(from, to) {
    $("fr-from").value = from;
    $("fr-to").value = to;
    markQuick();
    load();
  }
  $("fr-period").addEventListener("submit", (e) => {
    e.preventDefault();
    const from = $("fr-from").value, to = $("fr-to").value;
    if (!from || !to) return say("Pick both dates.", true);
    if (from > to) return say("The period ends before it starts: pick a later 'To'.", true);
    markQuick();
    load();
  });
  document.querySelectorAll("[data-quick]").forEach((b) => {
    b.title = QUICK[b.dataset.quick]().map(long).join(" to ");
    b.addEventListener("click", () => setPeriod(...QUICK[b.dataset.quick]()));
  });

  async function load() {
    const from = $("fr-from").value, to = $("fr-to").value;
    const mine = ++asked;
    const query = `from=${from}&to=${to}`;
    history.replaceState(null, "", `${location.pathname}?${query}`);
    say(`Reading ${long(from)} to ${long(to)}…`);
    const cls = $("fr-class").value;
    const [rep, team, week, store, gaps] = await Promise.all([
      call("GET", `${cfg.urls.visits}?${query}&group=rep`), call("GET", `${cfg.urls.visits}?${query}&group=team`),
      call("GET", `${cfg.urls.visits}?${query}&group=week`), call("GET", `${cfg.urls.visits}?${query}&group=store`),
      call("GET", `${cfg.urls.unvisited}?${query}${cls ? `&class=${encodeURIComponent(cls)}` : ""}`)]);
    if (mine !== asked) return;  // another period was asked for meanwhile
    const failed = [rep, team, week, store, gaps].find((r) => !r.ok);
    if (failed) return say(`Could not read the reports: ${failed.message}`, true);
    Object.assign(shown, { rep: rep.body, team: team.body[0] || null, week: week.body, from, to,
      store: new Map(store.body.map((r) => [r.key, r])) });
    renderKpis();
    renderCharts();
    paintStores();
    renderGaps(gaps.body);
    const days = (day(to) - day(from)) / 86400000 + 1;
    say(`${long(from)} to ${long(to)} (${days} day${days === 1 ? "" : "s"}).`);
  }
  async function loadGaps() {
    const cls = $("fr-class").value;
    const r = await call("GET", `${cfg.urls.unvisited}?from=${shown.from}&to=${shown.to}${cls ? `&class=${encodeURIComponent(cls)}` : ""}`);
    if (!r.ok) return say(`Could not read the stores not visited: ${r.message}`, true);
    renderGaps(r.body);
  }

  // --- the KPIs per rep ---------------------------------------------------------------------
  const COLUMNS = [
    ["planned", "Planned", int, "visits the published routes asked for"],
    ["made", "Made", int, "planned visits made, on their day or another"],
    ["missed", "Missed", int, "planned, not made, their day over"],
    ["due", "Due", int, "planned for today or later, not made yet"],
    ["extra", "Extra", int, "made visits no plan asked for"],
    ["stores", "Stores", int, "the rep's stores"],
    ["covered", "Covered", int, "stores visited at least once"],
    ["coverage", "Coverage", pct, "covered / stores"],
    ["active_rate", "Active rate", pct, "stores with an order / stores covered"],
    ["avg_order", "Avg order", money, "order value / orders"],
    ["sales", "Sales", money, "the order value"],
    ["sales_change", "Sales vs before", (c) => change(c), "against the period of the same length before"],
    ["visits_per_day", "Visits a day", dec1, "made visits (extra too) / working days"],
    ["late_arrivals", "Late", int, "check-ins more than 5 minutes after the planned start"],
  ];
  const cellValue = (row, key) => (key === "sales_change" ? (row.changes || {}).sales : row[key]);
  (function header() {
    const tr = $("fr-kpi-table").tHead.rows[0];
    const first = el("th", "Rep");
    first.scope = "col";
    tr.append(first);
    for (const [key, label, , title] of COLUMNS) {
      const th = el("th", label);
      th.scope = "col";
      th.title = title;
      th.dataset.col = key;
      tr.append(th);
    }
  })();
  function kpiRow(row, name, swatch) {
    const tr = el("tr");
    const th = el("th");
    th.scope = "row";
    if (swatch) {
      const s = el("span", undefined, "fr-swatch");
      s.style.background = swatch;
      th.append(s);
    }
    th.append(el("span", name));
    tr.append(th);
    for (const [key, , format] of COLUMNS) {
      const value = cellValue(row, key);
      const td = el("td", format(value));
      td.dataset.col = key;
      if (key === "sales_change" && value && value.change) td.className = value.change > 0 ? "fr-up" : "fr-down";
      tr.append(td);
    }
    return tr;
  }
  function renderKpis() {
    const body = $("fr-kpi-table").tBodies[0];
    body.replaceChildren();
    for (const row of shown.rep) {
      const tr = kpiRow(row, repLabel(row.key), repById.has(row.key) ? repById.get(row.key).colour : "#777");
      tr.dataset.rep = row.key;
      body.append(tr);
    }
    const foot = $("fr-kpi-table").tFoot;
    foot.replaceChildren();
    if (shown.team) foot.append(kpiRow(shown.team, cfg.team_label || "The team"));
    $("fr-kpi-caption").textContent = `Planned against made visits and the method's numbers, ${long(shown.from)} to ${long(shown.to)}`;
  }

  // --- charts: SVG by hand ----------------------------------------------------------------------
  /** A nice round top for an axis from 0 to at least ``v``. */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const step = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= v) return m * step;
    return 10 * step;
  }
  /** An <svg> with a title and a description (read by screen readers), in ``box``. */
  function frame(box, height, title, desc) {
    const width = Math.max(240, Math.floor(box.clientWidth || 320));
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-labelledby": `${box.id}-t ${box.id}-d` });
    root.append(svg("title", { id: `${box.id}-t` }, title), svg("desc", { id: `${box.id}-d` }, desc));
    box.append(root);
    return { root, width, height };
  }
  /** The chart's numbers as a table, folded under it. */
  function numbers(box, head, rows) {
    const details = el("details");
    details.append(el("summary", "The numbers"));
    const table = el("table");
    const tr = el("tr");
    head.forEach((h) => { const th = el("th", h); th.scope = "col"; tr.append(th); });
    table.append(el("thead"), el("tbody"));
    table.tHead.append(tr);
    rows.forEach((r) => {
      const row = el("tr");
      r.forEach((v, n) => { const c = el(n ? "td" : "th", v); if (!n) c.scope = "row"; row.append(c); });
      table.tBodies[0].append(row);
    });
    details.append(table);
    box.append(details);
  }
  function axis(root, x0, x1, y, top, max, format) {
    for (const f of [0, 0.5, 1]) {
      const yy = y - f * (y - top);
      root.append(svg("line", { x1: x0, x2: x1, y1: yy, y2: yy, stroke: f ? "#e2e2e2" : "#888", "stroke-width": 1 }));
      root.append(svg("text", { x: x0 - 4, y: yy + 4, "text-anchor": "end", fill: "#555" }, format(f * max)));
    }
  }
  function empty(root, width, height, text) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", fill: "#666" }, text));
  }

  /** Whether only part of the week of ``key`` (its Monday) is in the period. */
  const partial = (key) => key < shown.from || plus(key, 6) > shown.to;
  const weekLabel = (key) => `${short(key)}${partial(key) ? "*" : ""}`;
  function partialNote(box) {
    if (shown.week.some((w) => partial(w.key))) box.append(el("p", "* only part of the week is in the period", "fr-partial"));
  }

  /** Grouped bars per week: planned (grey) and made (green). */
  function weeklyChart() {
    const box = $("fr-weekly");
    box.replaceChildren();
    const weeks = shown.week;
    const desc = weeks.map((w) => `week of ${short(w.key)}: ${w.made} made of ${w.planned} planned`).join("; ");
    const { root, width, height } = frame(box, 230, "Visits per week, made against planned", desc || "no week");
    const left = 40, right = 8, top = 26, bottom = height - 30;
    root.append(svg("rect", { x: left, y: 4, width: 12, height: 12, fill: "#b8b8b8" }),
      svg("text", { x: left + 16, y: 14 }, "Planned"),
      svg("rect", { x: left + 84, y: 4, width: 12, height: 12, fill: COLOURS.made }),
      svg("text", { x: left + 100, y: 14 }, "Made"));
    if (!weeks.length) return empty(root, width, height, "No week in the period");
    const max = niceMax(Math.max(...weeks.map((w) => Math.max(w.planned, w.made))));
    axis(root, left, width - right, bottom, top, max, (v) => String(Math.round(v * 10) / 10));
    const slot = (width - left - right) / weeks.length;
    const bar = Math.max(1, Math.min(36, (slot - 8) / 2));
    const every = Math.ceil(weeks.length / Math.max(1, Math.floor((width - left - right) / 56)));  // labels 56 px apart
    weeks.forEach((w, n) => {
      const x = left + n * slot + (slot - 2 * bar) / 2;
      [["planned", "#b8b8b8", w.planned], ["made", COLOURS.made, w.made]].forEach(([name, fill, v], k) => {
        const h = ((bottom - top) * v) / max;
        const r = svg("rect", { x: x + k * bar, y: bottom - h, width: Math.max(1, bar - 1), height: h, fill, "data-week": w.key,
          "data-series": name, "data-value": v });
        r.append(svg("title", {}, `Week of ${short(w.key)}: ${v} ${name}`));
        root.append(r);
        if (bar >= 16) root.append(svg("text", { x: x + k * bar + bar / 2, y: bottom - h - 3, "text-anchor": "middle", fill: "#333" }, String(v)));
      });
      if (n % every === 0) {
        root.append(svg("text", { x: left + n * slot + slot / 2, y: bottom + 16, "text-anchor": "middle", fill: "#444" }, weekLabel(w.key)));
      }
    });
    partialNote(box);
    numbers(box, ["Week of", "Planned", "Made", "Missed"], weeks.map((w) => [weekLabel(w.key), int(w.planned), int(w.made), int(w.missed)]));
  }

  /** A horizontal bar per rep: its coverage. */
  function coverageChart() {
    const box = $("fr-coverage");
    box.replaceChildren();
    const reps = shown.rep;
    const rowH = 30;
    const desc = reps.map((r) => `${repLabel(r.key)}: ${pct(r.coverage)} (${r.covered} of ${r.stores} stores)`).join("; ");
    const { root, width } = frame(box, Math.max(60, 24 + rowH * reps.length), "Coverage per rep: stores visited at least once",
      desc || "no rep");
    if (!reps.length) return empty(root, width, 40, "No rep");
    const label = Math.min(150, Math.floor(width * 0.38)), right = 58, x0 = label + 6, span = width - x0 - right;
    for (const f of [0, 0.5, 1]) {
      root.append(svg("line", { x1: x0 + f * span, x2: x0 + f * span, y1: 4, y2: 8 + rowH * reps.length, stroke: "#e2e2e2" }));
      root.append(svg("text", { x: x0 + f * span, y: 20 + rowH * reps.length, "text-anchor": "middle", fill: "#555" }, `${100 * f} %`));
    }
    reps.forEach((r, n) => {
      const y = 6 + n * rowH;
      const name = repById.has(r.key) ? repById.get(r.key).name : r.key;
      const text = name.length > 18 ? `${name.slice(0, 17)}…` : name;
      root.append(svg("text", { x: label, y: y + rowH / 2 + 2, "text-anchor": "end", fill: "#222" }, text));
      const w = span * (r.coverage || 0);
      const b = svg("rect", { x: x0, y: y + 4, width: Math.max(w, r.coverage ? 1 : 0), height: rowH - 10,
        fill: repById.has(r.key) ? repById.get(r.key).colour : "#777", "data-rep": r.key, "data-value": r.coverage ?? "" });
      b.append(svg("title", {}, `${repLabel(r.key)}: ${pct(r.coverage)}`));
      root.append(b, svg("text", { x: x0 + w + 4, y: y + rowH / 2 + 2, fill: "#222" }, pct(r.coverage)));
    });
    numbers(box, ["Rep", "Stores", "Covered", "Coverage"], reps.map((r) => [repLabel(r.key), int(r.stores), int(r.covered), pct(r.coverage)]));
  }

  /** One of the formula's factors over the weeks, as a small line chart. */
  function lineChart(id, title, key, format) {
    const box = $(id);
    box.replaceChildren(el("h3", title));
    const weeks = shown.week;
    const desc = weeks.map((w) => `week of ${short(w.key)}: ${format(w[key])}`).join("; ");
    const { root, width, height } = frame(box, 150, `${title} per week`, desc || "no week");
    const left = 52, right = 14, top = 12, bottom = height - 26;
    const values = weeks.map((w) => w[key]);
    const known = values.filter((v) => v !== null && v !== undefined);
    if (!known.length) { numbers(box, ["Week of", title], []); return empty(root, width, height, "Nothing to show"); }
    const max = niceMax(Math.max(...known));
    axis(root, left, width - right, bottom, top, max, (v) => (key === "active_rate" ? `${Math.round(100 * v)} %`
      : v >= 1000 ? `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)}k` : String(Math.round(v * 10) / 10)));
    const xOf = (n) => (weeks.length === 1 ? (left + width - right) / 2 : left + ((width - left - right) * n) / (weeks.length - 1));
    const yOf = (v) => bottom - ((bottom - top) * v) / max;
    let path = "";
    values.forEach((v, n) => {
      if (v === null || v === undefined) return;
      path += `${path ? "L" : "M"}${xOf(n).toFixed(1)},${yOf(v).toFixed(1)}`;
    });
    root.append(svg("path", { d: path, fill: "none", stroke: "#1f5fa8", "stroke-width": 2 }));
    values.forEach((v, n) => {
      if (v === null || v === undefined) return;
      const dot = svg("circle", { cx: xOf(n), cy: yOf(v), r: 3.5, fill: "#1f5fa8", "data-week": weeks[n].key, "data-value": v });
      dot.append(svg("title", {}, `Week of ${short(weeks[n].key)}: ${format(v)}`));
      root.append(dot);
    });
    const ends = weeks.length === 1 ? [0] : [0, weeks.length - 1];
    ends.forEach((n) => root.append(svg("text", { x: xOf(n), y: bottom + 16, "text-anchor": n ? "end" : "start", fill: "#444" },
      weekLabel(weeks[n].key))));
    numbers(box, ["Week of", title], weeks.map((w) => [weekLabel(w.key), format(w[key])]));
  }

  function renderCharts() {
    weeklyChart();
    coverageChart();
    lineChart("fr-covered", "Stores covered", "covered", int);
    lineChart("fr-active", "Active rate", "active_rate", pct);
    lineChart("fr-avg", "Average order", "avg_order", money);
    $("fr-formula-note").textContent = shown.week.some((w) => partial(w.key)) ? "* only part of the week is in the period" : "";
  }
  let resizing = null;
  let pageWidth = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === pageWidth) return;  // a phone's bar showing or hiding: the width is the same
    pageWidth = window.innerWidth;
    clearTimeout(resizing);
    resizing = setTimeout(renderCharts, 150);
  });

  // --- the map ------------------------------------------------------------------------------------
  const map = L.map("fr-map", { zoomSnap: 0.5 });
  L.control.scale({ imperial: false }).addTo(map);
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", { maxZoom: 19, attribution: cfg.attribution }).addTo(map);
  if (cfg.streets && cfg.streets.length) {
    map.createPane("streets").style.zIndex = 350;
    L.polyline(cfg.streets, Object.assign({ pane: "streets", interactive: false }, cfg.street_style)).addTo(map);
  }
  const STATES = {
    made: ["Made", "every visit due in the period made"],
    missed: ["Missed", "a visit due in the period not made"],
    none: ["Not due", "no visit due in the period (or not yet)"],
  };
  /** What the period made of a store: missed if a visit due in it was not made, made if one was. */
  function stateOf(row) {
    if (!row) return "none";
    if (row.missed > 0) return "missed";
    return row.covered > 0 ? "made" : "none";
  }
  function tooltip(s) {
    const row = shown.store.get(s.id);
    const box = el("div");
    box.append(el("b", s.name), el("span", ` (${s.id}) class ${s.class}`), el("br"), el("span", `rep: ${repLabel(s.rep)}`), el("br"));
    box.append(el("span", row ? `${STATES[stateOf(row)][0]}: ${row.made} made, ${row.missed} missed, ${row.due} due, ${row.extra} extra`
      : STATES.none[0]));
    return box;
  }
  if (cfg.stores.length) {  // a view first: Leaflet draws the markers once the map has one
    map.fitBounds(L.latLngBounds(cfg.stores.map((s) => [s.lat, s.lon])), { padding: [12, 12] });
  } else {
    map.setView([0, 0], 2);
  }
  for (const s of cfg.stores) {
    const m = L.circleMarker([s.lat, s.lon], { radius: 6, className: "fr-store", color: "#fff", weight: 1, fillOpacity: 0.9,
      fillColor: COLOURS.none }).addTo(map);
    m.getElement().setAttribute("data-store", s.id);
    m.bindTooltip(() => tooltip(s));
    markers.set(s.id, m);
  }
  function paintStores() {
    const count = { made: 0, missed: 0, none: 0 };
    for (const [id, m] of markers) {
      const state = stateOf(shown.store.get(id));
      count[state] += 1;
      m.setStyle({ fillColor: COLOURS[state], radius: state === "none" ? 4.5 : 6.5, color: state === "missed" ? "#5a0000" : "#fff",
        weight: state === "missed" ? 1.5 : 1 });
      m.getElement().setAttribute("data-state", state);
      if (state !== "none") m.bringToFront();
    }
    const legend = $("fr-legend");
    legend.replaceChildren();
    for (const [state, [name, meaning]] of Object.entries(STATES)) {
      const li = el("li");
      li.dataset.state = state;
      const dot = el("span", undefined, "fr-dot");
      dot.style.background = COLOURS[state];
      li.append(dot, el("span", `${name}: ${count[state]}`));
      li.title = meaning;
      legend.append(li);
    }
  }
  function showStore(id) {
    const m = markers.get(id);
    if (!m) return;
    $("fr-map").scrollIntoView({ behavior: "smooth", block: "center" });
    map.setView(m.getLatLng(), Math.max(map.getZoom(), 16));
    m.openTooltip();
  }

  // --- the stores not visited ------------------------------------------------------------------
  (function classes() {
    const select = $("fr-class");
    for (const c of cfg.classes) { const o = el("option", c); o.value = c; select.append(o); }
    const any = el("option", "any class");
    any.value = "";
    select.append(any);
    select.value = cfg.classes.includes("A") ? "A" : "";
    select.addEventListener("change", loadGaps);
  })();
  function renderGaps(gaps) {
    const body = $("fr-unvisited").tBodies[0];
    body.replaceChildren();
    const cls = $("fr-class").value;
    $("fr-unvisited-count").textContent = `${gaps.length} ${cls ? `class ${cls} ` : ""}store${gaps.length === 1 ? "" : "s"} with no visit `
      + `made from ${long(shown.from)} to ${long(shown.to)}.`;
    $("fr-unvisited").hidden = !gaps.length;
    for (const g of gaps) {
      const tr = el("tr");
      tr.dataset.store = g.store_id;
      tr.append(el("td", storeLabel(g.store_id)), el("td", g.class), el("td", repLabel(g.rep_id)),
        el("td", g.last_visit ? long(g.last_visit) : "never"), el("td", int(g.days_since)));
      const cell = el("td");
      if (markers.has(g.store_id)) {
        const b = el("button", "Map");
        b.type = "button";
        b.setAttribute("aria-label", `Show ${storeLabel(g.store_id)} on the map`);
        b.addEventListener("click", () => showStore(g.store_id));
        cell.append(b);
      }
      tr.append(cell);
      body.append(tr);
    }
  }

  // --- today ---------------------------------------------------------------------------------------
  async function loadToday() {
    const body = $("fr-today").tBodies[0];
    if (!cfg.today_plan) {
      $("fr-today-note").textContent = `No published plan holds today (${long(cfg.today)}).`;
      $("fr-today").hidden = true;
      $("fr-today-refresh").hidden = true;
      return;
    }
    const r = await call("GET", cfg.urls.today);
    if (!r.ok) { $("fr-today-note").textContent = `Could not read today: ${r.message}`; return; }
    body.replaceChildren();
    $("fr-today").hidden = !r.body.length;
    for (const t of r.body) {
      const tr = el("tr");
      tr.dataset.rep = t.rep_id;
      tr.append(el("th", repLabel(t.rep_id)), el("td", int(t.done)), el("td", int(t.under_way)),
        el("td", t.next ? storeLabel(t.next) : NONE), el("td", int(t.planned)), el("td", int(t.made)), el("td", int(t.missed)));
      tr.firstChild.scope = "row";
      body.append(tr);
    }
    const now = new Date();
    const done = r.body.reduce((a, t) => a + t.done, 0), ahead = r.body.reduce((a, t) => a + t.planned, 0);
    $("fr-today-note").textContent = r.body.length
      ? `${long(cfg.today)}: ${done} stop${done === 1 ? "" : "s"} done, ${ahead} still to do. Read at `
        + `${String(now.getHours()).padStart(2, "0")}:${String(now.getMinutes()).padStart(2, "0")}; again every minute.`
      : `${long(cfg.today)}: no rep works today.`;
  }
  $("fr-today-refresh").addEventListener("click", loadToday);

  // --- suggestions ----------------------------------------------------------------------------------
  const KIND = { store_service: "Visit minutes of a store", class_service: "Visit minutes of a class", rep_start: "A rep's start",
    store_class: "A store's class" };
  const r1 = (v) => String(Math.round(v * 10) / 10);
  const amount = (kind, v) => (v === null || v === undefined ? NONE
    : typeof v === "number" ? (kind.endsWith("_service") ? `${r1(v)} min` : r1(v)) : String(v));
  const signed = (v, unit) => `${v > 0 ? "+" : v < 0 ? "−" : ""}${Math.abs(v).toFixed(1)}${unit}`;
  /** The evidence in words: how many visits (or days, orders), the median and the middle half. */
  function evidenceText(s) {
    const e = s.evidence || {};
    const unit = e.unit ? ` ${e.unit}` : s.kind.endsWith("_service") ? " min" : "";
    const parts = [];
    if (typeof e.days === "number") parts.push(`${e.days} days`);
    else if (typeof e.visits === "number") parts.push(`${e.visits} visits`);
    if (typeof e.orders === "number") parts.push(`${e.orders} orders`);
    if (typeof e.median === "number") parts.push(`median ${r1(e.median)}${unit}`);
    if (typeof e.p25 === "number" && typeof e.p75 === "number" && e.p25 !== e.p75) {
      parts.push(`middle half ${r1(e.p25)} to ${r1(e.p75)}${unit}`);
    }
    if (typeof e.sales === "number") parts.push(`order value ${money(e.sales)}`);
    if (typeof e.share === "number") parts.push(`${(100 * e.share).toFixed(1)} % of the team's order value`);
    return parts.join(", ");
  }
  /** The effect in words: work per cycle, visits per cycle, shift hours, the rep's capacity. */
  function effectText(s) {
    const f = s.effect || {};
    const parts = [];
    if (typeof f.hours_per_cycle === "number" && f.hours_per_cycle) parts.push(`${signed(f.hours_per_cycle, " h")} of work per cycle`);
    if (typeof f.visits_per_cycle === "number" && f.visits_per_cycle) parts.push(`${signed(f.visits_per_cycle, "").replace(".0", "")} visits per cycle`);
    if (typeof f.available_hours_per_cycle === "number" && f.available_hours_per_cycle) {
      parts.push(`${signed(f.available_hours_per_cycle, " h")} of shift per cycle`);
    }
    const c = f.capacity;
    if (c && typeof c === "object" && typeof c.after_h === "number") {
      parts.push(`${repLabel(c.rep_id)}: ${r1(c.required_h)} h to ${r1(c.after_h)} h of ${r1(c.available_h)} h available`);
    }
    return parts.length ? parts.join("; ") : "no change in hours";
  }
  function changedText(s) {
    const c = s.changed || {};
    const what = ["store", "rep", "policy"].find((k) => k in c);
    return what ? `${what} ${c[what]} is now version ${c.version}` : "";
  }
  function decidedText(s) {
    const when = s.decided_at ? ` on ${long(s.decided_at.slice(0, 10))}` : "";
    const changed = s.status === "applied" && changedText(s) ? `: ${changedText(s)}` : "";
    return `${s.status === "applied" ? "Applied" : "Dismissed"}${when}${s.decided_by ? ` by ${s.decided_by}` : ""}${changed}.`;
  }
  function suggestionItem(s) {
    const li = el("li", undefined, "fr-suggestion");
    Object.assign(li.dataset, { id: s.id, kind: s.kind, status: s.status, target: s.target });
    li.append(el("p", s.title, "fr-sug-title"));
    li.append(el("p", `${KIND[s.kind] || s.kind}: ${amount(s.kind, s.current)} now, ${amount(s.kind, s.proposed)} proposed. `
      + `Effect: ${effectText(s)}.`, "fr-sug-facts"));
    const evidence = evidenceText(s);
    if (evidence) li.append(el("p", `Evidence: ${evidence}.`, "fr-sug-facts"));
    const result = el("p", s.status === "open" ? "" : decidedText(s), "fr-sug-result");
    result.setAttribute("role", "status");
    if (s.status === "open" && cfg.csrf) {
      const actions = el("p", undefined, "fr-sug-actions");
      const apply = el("button", "Apply", "fr-primary");
      const dismiss = el("button", "Dismiss");
      apply.type = dismiss.type = "button";
      apply.setAttribute("aria-label", `Apply: ${s.title}`);
      dismiss.setAttribute("aria-label", `Dismiss: ${s.title}`);
      apply.addEventListener("click", () => decide(s, "apply", li));
      dismiss.addEventListener("click", () => decide(s, "dismiss", li));
      actions.append(apply, dismiss);
      li.append(actions);
    }
    li.append(result);
    return li;
  }
  async function decide(s, action, li) {
    li.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    const r = await call("POST", `${cfg.urls.suggestions}/${encodeURIComponent(s.id)}/${action}`);
    const out = li.querySelector(".fr-sug-result");
    if (!r.ok) {
      li.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      out.textContent = `Not ${action === "apply" ? "applied" : "dismissed"}: ${r.message}`;
      out.classList.add("fr-error");
      return;
    }
    decided += 1;
    li.dataset.status = r.body.status;
    li.querySelector(".fr-sug-actions").remove();
    out.classList.remove("fr-error");
    out.textContent = decidedText(r.body);
  }
  const SUGGESTIONS_PAGE = 20;  // read and shown at a time
  let listed = 0, decided = 0, total = 0, listing = 0;  // shown, decided here since, matching in all; the newest read
  /** Read the suggestions of the status and kind picked: the first page, or (``more``) the next. */
  async function loadSuggestions(more) {
    const status = $("fr-sug-status").value, kind = $("fr-sug-kind").value;
    // an open suggestion decided here has left the service's open list: the next page starts that much sooner
    const offset = more ? listed - (status === "open" ? decided : 0) : 0;
    const mine = ++listing;
    const r = await call("GET", `${cfg.urls.suggestions}?status=${status}${kind ? `&kind=${kind}` : ""}`
      + `&offset=${offset}&limit=${SUGGESTIONS_PAGE}`);
    if (mine !== listing) return;
    if (!r.ok) {
      $("fr-sug-note").textContent = `Could not read the suggestions: ${r.message}`;
      return;
    }
    if (!more) {
      $("fr-suggestions").replaceChildren();
      listed = decided = 0;
    }
    const seen = new Set([...$("fr-suggestions").children].map((li) => li.dataset.id));
    const items = r.body.items.filter((s) => !seen.has(s.id));
    $("fr-suggestions").append(...items.map(suggestionItem));
    listed += items.length;
    total = r.body.count + (status === "open" ? decided : 0);
    const what = `${status === "all" ? "" : `${status} `}suggestion${total === 1 ? "" : "s"}`;
    $("fr-sug-note").textContent = `${total} ${what}${kind ? ` (${KIND[kind].toLowerCase()})` : ""}`
      + `${listed < total ? `, the first ${listed} shown` : ""}.`;
    $("fr-sug-more").hidden = listed >= total;
    $("fr-sug-more").textContent = `Show ${Math.min(SUGGESTIONS_PAGE, total - listed)} more`;
  }
  $("fr-sug-more").addEventListener("click", () => loadSuggestions(true));
  (function kinds() {
    const select = $("fr-sug-kind");
    const all = el("option", "all kinds");
    all.value = "";
    select.append(all);
    for (const [k, name] of Object.entries(KIND)) { const o = el("option", name); o.value = k; select.append(o); }
    select.addEventListener("change", () => loadSuggestions(false));
  })();
  $("fr-sug-status").addEventListener("change", () => loadSuggestions(false));

  // --- start ------------------------------------------------------------------------------------------
  $("fr-subtitle").textContent = cfg.subtitle || "";
  $("fr-readonly").hidden = Boolean(cfg.csrf);
  $("fr-from").value = cfg.from;
  $("fr-to").value = cfg.to;
  $("fr-from").max = $("fr-to").max = plus(cfg.today, 366);
  markQuick();
  load();
  loadToday();
  if (cfg.today_plan) setInterval(loadToday, 60000);
  loadSuggestions(false);
  window.fieldroute = { map, markers, shown };
}
