/* Fieldroute's territory page: select stores, preview and apply a move, show and apply a
 * proposal, make a rep's sign-in link. Plain Leaflet and fetch; text from data goes in with
 * textContent, never as HTML.
 * The page's config (cfg) comes from the server: reps and colours, workloads, the API's paths,
 * the page's CSRF token (null: read only), a proposal's figures. */
"use strict";

function fieldrouteTerritories(map, storesLayer, outlinesLayer, cfg) {
  const $ = (id) => document.getElementById(id);
  const colour = new Map(cfg.reps.map((r) => [r.id, r.colour]));
  const repName = new Map(cfg.reps.map((r) => [r.id, r.name]));
  const colourOf = (rep) => (rep && colour.get(rep)) || cfg.style.no_rep;
  const markers = new Map();   // store id -> Leaflet layer
  const owner = new Map();     // store id -> rep today
  const moved = new Map();     // store id -> rep a proposal gives it
  const selected = new Set();
  const proposal = cfg.proposal;
  let now = new Map((proposal ? proposal.before : cfg.loads).map((w) => [w.rep_id, w]));
  let after = proposal && proposal.after ? new Map(proposal.after.map((w) => [w.rep_id, w])) : null;
  let busy = false;
  const links = Boolean(cfg.csrf);  // signed in: each rep's row makes a sign-in link for its phone

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function say(text, isError) {
    const s = $("fr-status");
    s.textContent = text;
    s.classList.toggle("fr-error", Boolean(isError));
  }
  const label = (rep) => (rep ? `${repName.get(rep) || rep} (${rep})` : "no rep");
  const hours = (h) => h.toFixed(1);

  // --- the stores -------------------------------------------------------------------------
  function styleOf(id) {
    const to = moved.get(id);
    const s = to
      ? { radius: cfg.style.moved_radius, fillColor: colourOf(owner.get(id)), color: colourOf(to), weight: 4, fillOpacity: 0.9 }
      : { radius: cfg.style.radius, fillColor: colourOf(owner.get(id)), color: "#ffffff", weight: 1, fillOpacity: 0.9 };
    if (selected.has(id)) Object.assign(s, { color: "#000000", weight: 3, radius: s.radius + 2 });
    return s;
  }
  const paint = (id) => markers.get(id).setStyle(styleOf(id));

  function tooltip(p) {
    const box = el("div");
    box.append(el("b", p.name), el("span", ` (${p.id}) class ${p.class}`), el("br"), el("span", `rep: ${label(owner.get(p.id))}`));
    if (moved.has(p.id)) box.append(el("br"), el("span", `proposed: ${label(moved.get(p.id))}`, "fr-moved"));
    return box;
  }

  storesLayer.eachLayer((layer) => {
    const p = layer.feature.properties;
    markers.set(p.id, layer);
    owner.set(p.id, p.rep);
    if (p.to) moved.set(p.id, p.to);
    layer.options.className = "fr-store";  // kept when the layer is toggled off and on
    const path = layer.getElement && layer.getElement();
    if (path) path.classList.add("fr-store");
    path && path.setAttribute("data-store", p.id);
    layer.bindTooltip(() => tooltip(p));
    layer.on("click", () => toggle(p.id));
  });

  function toggle(id, on) {
    if (!cfg.csrf || proposal) return;
    const want = on === undefined ? !selected.has(id) : on;
    want ? selected.add(id) : selected.delete(id);
    paint(id);
    if (after) { after = null; renderTable(); say(""); }  // the preview was of another selection
    showSelection();
  }
  function showSelection() {
    const n = selected.size;
    $("fr-selected").textContent = n === 0 ? "No store selected." : `${n} store${n > 1 ? "s" : ""} selected.`;
    $("fr-preview").disabled = $("fr-apply").disabled = busy || n === 0 || !$("fr-rep").value;
  }

  // --- the workload table -----------------------------------------------------------------
  function bar(w, scale, rep) {
    const b = el("div", undefined, "fr-bar");
    const part = (h, cls, title) => {
      const s = el("span", undefined, cls);
      s.style.width = `${(100 * h) / scale}%`;
      s.title = title;
      if (cls !== "fr-beyond") s.style.background = colourOf(rep);
      b.append(s);
    };
    part(w.service_h, "fr-service", `visits ${hours(w.service_h)} h`);
    part(w.travel_h, "fr-travel", `driving ${hours(w.travel_h)} h`);
    if (w.beyond_h > 0) part(w.beyond_h, "fr-beyond", `beyond the shifts ${hours(w.beyond_h)} h`);
    return b;
  }
  const zero = (id) => ({ rep_id: id, stores: 0, visits: 0, service_h: 0, travel_h: 0, wait_h: 0, work_h: 0, available_h: 0, beyond_h: 0 });
  function balance(loads) {
    const h = loads.map((w) => w.work_h);
    if (!h.length) return null;
    const mean = h.reduce((a, b) => a + b, 0) / h.length;
    const sd = Math.sqrt(h.reduce((a, b) => a + (b - mean) ** 2, 0) / h.length);
    return { max: Math.max(...h), min: Math.min(...h), cv: mean ? (100 * sd) / mean : 0 };
  }
  function renderTable() {
    const rows = $("fr-workload").tBodies[0];
    rows.replaceChildren();
    const all = [...now.values(), ...(after ? after.values() : [])];
    const scale = Math.max(1e-9, ...all.map((w) => w.service_h + w.travel_h + w.beyond_h));
    document.querySelectorAll(".fr-after").forEach((e) => { e.hidden = !after; });
    const ids = new Set([...cfg.reps.map((r) => r.id), ...now.keys(), ...(after ? after.keys() : [])]);
    for (const id of ids) {
      if (!now.has(id) && !(after && after.has(id))) continue;
      const w = now.get(id) || zero(id);
      const tr = el("tr");
      tr.dataset.rep = id;
      const name = el("td", undefined, "fr-name");
      const swatch = el("span", undefined, "fr-swatch");
      swatch.style.background = colourOf(id);
      name.append(swatch, el("span", label(id)));
      const work = el("td", undefined, "fr-work");
      work.append(bar(w, scale, id), el("span", hours(w.work_h), "fr-hours"));
      tr.append(name, el("td", String(w.stores), "fr-stores"), work);
      if (after) {
        const a = after.get(id) || zero(id);
        const cell = el("td", undefined, "fr-after");
        const delta = a.work_h - w.work_h;
        cell.append(bar(a, scale, id), el("span", hours(a.work_h), "fr-hours"),
          el("small", Math.abs(delta) < 0.05 ? "" : ` ${delta > 0 ? "+" : ""}${hours(delta)}`, delta > 0 ? "fr-up" : "fr-down"));
        tr.append(cell);
      }
      if (links) {
        const cell = el("td", undefined, "fr-phone");
        if (now.has(id)) {  // not a what-if's new rep
          const b = el("button", "Link");
          b.type = "button";
          b.title = "A one-time sign-in link for the rep's phone, with its QR code";
          b.setAttribute("aria-label", `Sign-in link for ${id}`);
          b.addEventListener("click", () => signInLink(id, b));
          cell.append(b);
        }
        tr.append(cell);
      }
      rows.append(tr);
    }
    const b = balance([...now.values()]);
    const text = b ? `Busiest ${hours(b.max)} h, idlest ${hours(b.min)} h, coefficient of variation ${b.cv.toFixed(1)} %` : "No rep";
    const a = after && balance([...after.values()]);
    $("fr-balance").textContent = a ? `${text}; after: ${hours(a.max)} h, ${hours(a.min)} h, ${a.cv.toFixed(1)} %.` : `${text}.`;
  }

  // --- talking to the API -----------------------------------------------------------------
  async function call(method, url, body) {
    const headers = { Accept: "application/json" };
    if (cfg.csrf) headers["X-CSRF-Token"] = cfg.csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      return { ok: false, status: 0, body: null, message: "the service did not answer" };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    const detail = data && (data.errors && data.errors.length ? data.errors.map((e) => e.message || e.msg || JSON.stringify(e)).join("; ") : data.detail);
    return { ok: res.ok, status: res.status, body: data, message: `${res.status}: ${detail || res.statusText}` };
  }
  function setBusy(on) {
    busy = on;
    document.querySelectorAll("#fr-panel button").forEach((b) => { b.disabled = on; });
    if (!on) showSelection();
  }
  async function refreshOutlines() {
    const r = await call("GET", `${cfg.territories_url}?format=geojson&plan_id=${cfg.plan_id}`);
    if (!r.ok) return;
    outlinesLayer.clearLayers();
    outlinesLayer.addData(r.body);
    outlinesLayer.eachLayer((l) => l.setStyle({ color: colourOf(l.feature.properties.rep_id), fillColor: colourOf(l.feature.properties.rep_id) }));
  }

  async function move(dryRun) {
    const ids = [...selected].sort();
    const rep = $("fr-rep").value;
    setBusy(true);
    say(`Routing the territories this move touches (${ids.length} store${ids.length > 1 ? "s" : ""} to ${label(rep)})…`);
    const r = await call("POST", `${cfg.move_url}${dryRun ? "?dry_run=true" : ""}`, { store_ids: ids, rep_id: rep });
    setBusy(false);
    if (!r.ok) return say(`Not moved: ${r.message}`, true);
    const routed = new Map(now);
    r.body.after.forEach((w) => routed.set(w.rep_id, w));
    if (dryRun) {
      after = routed;
      renderTable();
      return say(`Preview: ${r.body.moves.length} store${r.body.moves.length === 1 ? "" : "s"} would change rep; the touched reps' cycles routed again. Apply to keep it.`);
    }
    r.body.moves.forEach((m) => owner.set(m.store_id, m.to));
    now = routed;
    after = null;
    const changed = ids;
    selected.clear();
    changed.forEach(paint);
    showSelection();
    renderTable();
    say(`Moved ${r.body.moves.length} store${r.body.moves.length === 1 ? "" : "s"} to ${label(rep)}. Plan the cycle again to route the new territories.`);
    refreshOutlines();
  }

  async function applyProposal() {
    setBusy(true);
    const r = await call("POST", `${cfg.proposals_url}/${proposal.id}/apply`);
    setBusy(false);
    if (!r.ok) return say(`Not applied: ${r.message}`, true);
    for (const [id, rep] of moved) { owner.set(id, rep); }
    const ids = [...moved.keys()];
    moved.clear();
    ids.forEach(paint);
    now = after;
    after = null;
    renderTable();
    $("fr-apply-proposal").hidden = true;
    say(`Applied: ${ids.length} store${ids.length === 1 ? "" : "s"} changed rep. Plan the cycle again to route the new territories.`);
    refreshOutlines();
  }

  async function follow(id) {
    for (;;) {
      const r = await call("GET", `${cfg.proposals_url}/${id}`);
      if (!r.ok) return say(`Proposal ${id}: ${r.message}`, true);
      const p = r.body;
      if (p.status !== "running") {
        if (p.status === "proposed" || p.status === "applied") { window.location.assign(`${cfg.page_url}?proposal_id=${id}`); return; }
        return say(`Proposal ${id} ${p.status}: ${(p.job && p.job.error) || "no answer"}`, true);
      }
      const job = p.job || {};
      say(`Proposal ${id}: ${job.phase || "queued"} (${Math.round(100 * (job.progress || 0))} %)…`);
      await new Promise((done) => setTimeout(done, 1000));
    }
  }

  async function propose() {
    const pct = Number($("fr-max-pct").value), limit = Number($("fr-limit").value);
    setBusy(true);
    const r = await call("POST", cfg.proposals_url, { plan_id: cfg.plan_id, max_moves_pct: pct, time_limit_s: limit });
    if (!r.ok) { setBusy(false); return say(`Not proposed: ${r.message}`, true); }
    await follow(r.body.id);
    setBusy(false);
  }

  // --- a rep's sign-in link ---------------------------------------------------------------
  async function signInLink(rep, button) {
    button.disabled = true;
    const r = await call("POST", `/v1/reps/${encodeURIComponent(rep)}/sign-in-links`);
    button.disabled = busy;
    $("fr-link-title").textContent = `Sign-in link for ${label(rep)}`;
    $("fr-link-error").hidden = r.ok;
    $("fr-link-made").hidden = !r.ok;
    if (!r.ok) {
      $("fr-link-error").textContent = `No link made: ${r.message}`;
    } else {
      // the server's SVG (made for inline HTML: no xmlns) read in an inert document, shown as an
      // image: nothing of it becomes part of the page, nothing in it runs
      const svg = new DOMParser().parseFromString(r.body.qr_svg, "text/html").querySelector("svg");
      const xml = svg ? new XMLSerializer().serializeToString(svg) : "";
      $("fr-link-qr").src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(xml)}`;
      $("fr-link-qr").alt = `QR code of the sign-in link for ${label(rep)}`;
      $("fr-link-url").textContent = r.body.url;
      $("fr-link-copy").textContent = "Copy";
      const until = new Date(r.body.expires_at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
      $("fr-link-expires").textContent = `It works once, until ${until}.`;
    }
    if (!$("fr-link").open) $("fr-link").showModal();
  }
  $("fr-link-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("fr-link-url").textContent);
      $("fr-link-copy").textContent = "Copied";
    } catch (e) {  // no clipboard (a page on plain http): the link is selected, to copy by hand
      getSelection().selectAllChildren($("fr-link-url"));
    }
  });

  // --- box selection ----------------------------------------------------------------------
  let boxStart = null, box = null, boxing = false;
  function boxMode(on) {
    boxing = on;
    on ? map.dragging.disable() : map.dragging.enable();
    $("fr-box").classList.toggle("fr-on", on);
    map.getContainer().classList.toggle("fr-boxing", on);
  }
  let boxEnd = null;
  map.on("mousedown", (e) => {
    if (!boxing) return;
    L.DomUtil.disableTextSelection();
    boxStart = boxEnd = e.latlng;
    box = L.rectangle([e.latlng, e.latlng], { weight: 1, color: "#000", dashArray: "4 3", fillOpacity: 0.05, interactive: false }).addTo(map);
  });
  map.on("mousemove", (e) => { if (boxing && boxStart) { boxEnd = e.latlng; box.setBounds(L.latLngBounds(boxStart, boxEnd)); } });
  document.addEventListener("mouseup", () => {  // released over the map or anywhere else
    if (!boxing || !boxStart) return;
    const bounds = L.latLngBounds(boxStart, boxEnd);
    L.DomUtil.enableTextSelection();
    map.removeLayer(box);
    boxStart = boxEnd = box = null;
    for (const [id, layer] of markers) if (bounds.contains(layer.getLatLng())) toggle(id, true);
    boxMode(false);
  });

  // --- the panel --------------------------------------------------------------------------
  document.documentElement.lang = "en";
  $("fr-title").textContent = proposal ? `Territories: proposal ${proposal.id}` : "Territories";
  $("fr-subtitle").textContent = cfg.subtitle || "";
  if (cfg.banner) { $("fr-banner").textContent = cfg.banner; $("fr-banner").hidden = false; }
  $("fr-readonly").hidden = Boolean(cfg.csrf);
  document.querySelectorAll("th.fr-phone").forEach((e) => { e.hidden = !links; });
  const select = $("fr-rep");
  select.append(el("option", "choose a rep"));
  select.options[0].value = "";
  cfg.reps.forEach((r) => { const o = el("option", label(r.id)); o.value = r.id; select.append(o); });
  if (proposal) {
    $("fr-proposal").hidden = false;
    $("fr-back").href = cfg.page_url;
    const p = proposal;
    const n = p.moves.length;
    const routed = p.headcount_routed;
    const sizes = routed ? routed.tries.map((t) => `${t.reps} ${t.fits ? "fit" : "do not fit"}`).join(", ") : "";
    $("fr-proposal-text").textContent = p.what_if
      ? `A what-if: the routed workload per rep after the change; about ${p.headcount} reps for every required visit (estimate)` +
        (routed ? `; routed: ${routed.reps === null ? "no team size tried fits" : `${routed.reps} reps fit every visit`} (${sizes}).` : ".") +
        " It cannot be applied."
      : p.status === "running" ? "Being computed…"
      : `${n} store${n === 1 ? "" : "s"} change rep (ringed in the new rep's colour). Status: ${p.status}.`;
    const list = $("fr-moves");
    p.moves.forEach((m) => {
      const f = markers.get(m.store_id);
      const item = el("li", `${f ? f.feature.properties.name : m.store_id}: ${label(m.from)} → ${label(m.to)}`);
      if (f) {
        const show = () => { map.setView(f.getLatLng(), Math.max(map.getZoom(), 16)); f.openTooltip(); };
        item.tabIndex = 0;
        item.addEventListener("click", show);
        item.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); show(); } });
      }
      list.append(item);
    });
    $("fr-apply-proposal").hidden = !(cfg.csrf && cfg.can_propose && p.status === "proposed" && !p.what_if);
    $("fr-apply-proposal").addEventListener("click", applyProposal);
    if (p.status === "running") follow(p.id);
  } else if (cfg.csrf && !cfg.can_move) {
    $("fr-other-plan").hidden = false;
  } else if (cfg.csrf) {
    $("fr-move").hidden = false;
    $("fr-propose").hidden = !cfg.can_propose;
    $("fr-preview").addEventListener("click", () => move(true));
    $("fr-apply").addEventListener("click", () => move(false));
    $("fr-clear").addEventListener("click", () => { const ids = [...selected]; selected.clear(); ids.forEach(paint); after = null; renderTable(); showSelection(); });
    $("fr-box").addEventListener("click", () => boxMode(!boxing));
    $("fr-propose-go").addEventListener("click", propose);
    select.addEventListener("change", () => { showSelection(); if (after) { after = null; renderTable(); say(""); } });
  }
  markers.forEach((_, id) => paint(id));
  renderTable();
  showSelection();
  window.fieldroute = { map, markers, owner, selected, now: () => now, after: () => after };
}
