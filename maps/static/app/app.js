// The rep's app: the day's route as a list and a small map, the buttons that report the day,
// and a queue that keeps reports made without a network. Plain JavaScript, no build step.
// Reads over the API with the session cookie; posts events with the page's CSRF token, each
// with its own Idempotency-Key, kept until the service answered it (so never applied twice).
(() => {
  "use strict";
  const W = window.FR_WORDS;
  const config = JSON.parse(document.getElementById("fr-config").textContent);
  const rep = encodeURIComponent(config.rep_id);
  const QUEUE = `fr-queue:${config.rep_id}`;
  const OWN = `fr-own:${config.rep_id}`; // the route version the rep's own last report made
  const POLL_MS = 60000;
  const $ = (id) => document.getElementById(id);
  let day = null; // the date shown (YYYY-MM-DD); null until today's route is known
  let today = null;
  let route = null; // the route shown
  let etag = null; // its ETag, for If-None-Match
  let week = {}; // date -> route, from GET .../routes?from=&to=
  let last = {}; // store id -> its last visit
  let stores = null; // the rep's stores, for the urgent-visit search
  let panel = null; // the open form: {key: "checkout STORE", "longer STORE" or "urgent", node}, kept across renders
  let geo = null; // the phone's last position {lat, lon}

  /** An element; children are nodes or strings (always text, never HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
  }

  const hm = (iso) => iso.slice(11, 16); // the plan's local time, as the API writes it
  /** A date's route; today's by the name "today", the address the phone keeps for offline. */
  const routePath = (date) => `/v1/reps/${rep}/routes/${date && date !== today ? date : "today"}`;
  const plusDays = (date, n) => new Date(Date.parse(date + "T12:00:00Z") + n * 86400000).toISOString().slice(0, 10);

  function status(text, error) {
    $("fr-status").textContent = text || "";
    $("fr-status").classList.toggle("error", Boolean(error));
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** A GET: the answer, whether it came from the phone's cache (offline), and its ETag. */
  async function get(path, headers) {
    const response = await fetch(path, {credentials: "same-origin", headers: headers || {}});
    if (response.status === 304) return {status: 304};
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((body && body.detail) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return {status: response.status, body, etag: response.headers.get("ETag"),
            cached: response.headers.get("Fieldroute-Cached") === "1"};
  }

  // --- the queue of reports ------------------------------------------------------------

  const readQueue = () => JSON.parse(localStorage.getItem(QUEUE) || "[]");
  const writeQueue = (queue) => localStorage.setItem(QUEUE, JSON.stringify(queue));

  /** Keep an event (stamped now, on today's date) and send what waits. */
  function report(event) {
    const queue = readQueue();
    queue.push({key: newKey(), date: today, event: Object.assign({time: new Date().toISOString()}, event), state: "waiting"});
    writeQueue(queue);
    panel = null;
    render();
    send();
  }

  let sending = false;
  let retry = null;

  /** Send the waiting events one by one, in the order they were made; stop at the first that
   * cannot reach the service (and try again later); an event the service refuses is kept
   * with its message for the rep to read. One sender at a time, across the phone's tabs. */
  async function send() {
    if (sending) return;
    sending = true;
    clearTimeout(retry);
    try {
      await (navigator.locks ? navigator.locks.request(QUEUE, sendWaiting) : sendWaiting());
    } finally {
      sending = false;
      render();
    }
  }

  async function sendWaiting() {
    for (;;) {
      const item = readQueue().find((q) => q.state === "waiting");
      if (!item) return;
      status(W.sending);
      let response;
      try {
        response = await fetch(`/v1/reps/${rep}/routes/${item.date}/events`, {
          method: "POST", credentials: "same-origin", body: JSON.stringify(item.event),
          headers: {"Content-Type": "application/json", "X-CSRF-Token": config.csrf, "Idempotency-Key": item.key}});
      } catch (error) { // no network: try again when it is back, or in a while
        status(W.offlineWaiting(readQueue().filter((q) => q.state === "waiting").length));
        retry = setTimeout(send, 30000);
        return;
      }
      const body = await response.json().catch(() => null);
      const queue = readQueue();
      const mine = queue.find((q) => q.key === item.key);
      if (response.ok) {
        writeQueue(queue.filter((q) => q.key !== item.key));
        status(describe(item.event, body));
        if (body.route) localStorage.setItem(OWN, JSON.stringify({plan: body.route.plan_id, date: body.route.date,
                                                                  version: body.route.version}));
        if (body.route && body.route.date === day) route = body.route;
        await refresh();
      } else if (response.status === 401 && await newSignIn()) {
        continue; // this tab's page was from an earlier sign-in of the same rep: send again with the new one
      } else if (response.status === 401 || response.status === 429 || response.status >= 500 ||
                 (response.status === 409 && response.headers.get("Retry-After"))) {
        status(response.status === 401 ? W.signedOut : W.tryLater, response.status === 401);
        retry = setTimeout(send, response.status === 409 ? 2000 : 30000);
        return;
      } else { // refused: the service's words, kept for the rep to read
        if (mine) Object.assign(mine, {state: "refused", message: (body && body.detail) || response.statusText});
        writeQueue(queue);
        status(W.refused, true);
      }
    }
  }

  /** After a 401: is this phone signed in again as the same rep (another tab's sign-in)?
   * Then take that session's CSRF token. */
  async function newSignIn() {
    try {
      const page = await (await fetch("/app", {credentials: "same-origin", cache: "no-store"})).text();
      const found = new DOMParser().parseFromString(page, "text/html").getElementById("fr-config");
      const fresh = found ? JSON.parse(found.textContent) : null;
      if (!fresh || fresh.rep_id !== config.rep_id || fresh.csrf === config.csrf) return false;
      config.csrf = fresh.csrf;
      return true;
    } catch (error) {
      return false;
    }
  }

  /** What an event changed, in words, from the answer's diff. */
  function describe(event, answer) {
    const diff = answer.diff;
    const names = Object.fromEntries((answer.route ? answer.route.stops : []).map((s) => [s.store_id, s.name]));
    const said = [];
    const away = diff.moved.filter((m) => m.from === config.rep_id).length;
    if (away) said.push(W.moved(away));
    const byDate = {};
    for (const c of diff.carried) byDate[c.to_date] = (byDate[c.to_date] || 0) + 1;
    for (const [date, n] of Object.entries(byDate)) said.push(W.carried(n, date));
    if (diff.dropped.length) said.push(W.dropped(diff.dropped.length));
    if (event.kind === "urgent_visit") {
      const taker = diff.added.find((a) => a.store_id === event.store_id);
      if (!taker) said.push(W.urgentNowhere);
      else if (taker.rep_id !== config.rep_id) said.push(W.urgentTo(taker.rep_id));
    }
    if (diff.added.length) said.push(W.added(diff.added.length));
    const later = diff.etas.filter((e) => e.rep_id === config.rep_id && e.before && e.after !== e.before);
    if (later.length) said.push(W.nowAt(names[later[0].store_id] || later[0].store_id, hm(later[0].after)));
    if (answer.flags && answer.flags.length) said.push(W.farFromStore);
    return said.length ? said.map((x) => x.replace(/\.$/, "")).join(". ") + "." : W.nothingChanged;
  }

  // --- reading the route -------------------------------------------------------------------

  async function load(date) {
    status(W.loading);
    try {
      const answer = await get(routePath(date));
      route = answer.body;
      etag = answer.etag;
      day = route.date;
      if (!date) today = day;
      status(answer.cached ? W.offlineRoute : "");
      loadExtras(day);
    } catch (error) {
      route = null;
      status(error.status === 404 ? W.noPlan : error.message === "Failed to fetch" ? W.offline : error.message,
             error.status !== 404);
      if (error.status === 404 && !date && !today) { // no plan today: perhaps from tomorrow on
        const next = await get(`/v1/reps/${rep}/routes/tomorrow`).catch(() => null);
        if (next && next.body) {
          today = plusDays(next.body.date, -1);
          day = today;
          loadExtras(today);
        }
      }
    }
    render();
  }

  /** The last visits of the day's stores, the week's routes (for the day buttons and for
   * offline use) and the rep's stores: each best effort. */
  async function loadExtras(date) {
    const visits = await get(`/v1/reps/${rep}/routes/${date}/last-visits`).catch(() => null);
    if (visits && date === day) last = Object.fromEntries(visits.body.map((v) => [v.store_id, v]));
    if (today && !week[today]) {
      const days = await get(`/v1/reps/${rep}/routes?from=${today}&to=${plusDays(today, 6)}`).catch(() => null);
      if (days) week = Object.fromEntries(days.body.map((r) => [r.date, r]));
    }
    render();
    drawMap(date);
  }

  /** Read the day's route again after a report (the phone's copy for offline, and its ETag
   * for the polls), with its map. */
  async function refresh() {
    const answer = await get(routePath(day)).catch(() => null);
    if (answer && answer.body && !answer.cached) {
      route = answer.body;
      etag = answer.etag;
    }
    render();
    drawMap(day);
  }

  /** Is there a newer route than the one shown? (60 s while open, and when the app comes
   * back to the front; a 304 costs a few bytes.) */
  async function poll() {
    if (document.visibilityState === "hidden" || !day) return;
    let answer;
    try {
      answer = await get(routePath(day), etag ? {"If-None-Match": etag} : {});
    } catch (error) {
      return;
    }
    if (answer.status === 304 || answer.cached) return;
    const fresh = answer.body;
    etag = answer.etag;
    if (route && day === today && fresh.date !== route.date) { // midnight passed: a new day
      [today, day, week, route] = [fresh.date, fresh.date, {}, fresh];
      render();
      return loadExtras(day);
    }
    const own = JSON.parse(localStorage.getItem(OWN) || "null");
    const mine = own && own.plan === fresh.plan_id && own.date === fresh.date ? own.version : 0;
    if (route && fresh.plan_id === route.plan_id && fresh.version <= route.version) return; // nothing new (or older)
    const changed = route && (fresh.plan_id !== route.plan_id || fresh.version > Math.max(route.version, mine));
    route = fresh;
    if (changed) $("fr-banner").hidden = false;
    render();
    drawMap(day);
  }

  // --- the map -------------------------------------------------------------------------------

  /** The day's road line, its stops and the phone's position, drawn as SVG (no tiles: it
   * works offline). */
  async function drawMap(date) {
    const box = $("fr-map");
    const answer = await get(`/v1/reps/${rep}/routes/${date}?format=geojson`).catch(() => null);
    if (!answer || date !== day) return;
    const features = answer.body.features;
    const points = features.flatMap((f) => f.geometry.type === "Point" ? [f.geometry.coordinates] : f.geometry.coordinates);
    if (geo) points.push([geo.lon, geo.lat]);
    if (points.length < 2) return box.replaceChildren();
    const lat0 = points.reduce((s, p) => s + p[1], 0) / points.length;
    const k = Math.cos(lat0 * Math.PI / 180);
    const xs = points.map((p) => p[0] * k);
    const ys = points.map((p) => -p[1]);
    const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
    const span = Math.max(Math.max(...xs) - x0, Math.max(...ys) - y0, 1e-4);
    const at = (p) => [((p[0] * k - x0) / span * 100 + 5).toFixed(2), ((-p[1] - y0) / span * 100 + 5).toFixed(2)];
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const height = ((Math.max(...ys) - y0) / span * 100 + 10).toFixed(2);
    svg.setAttribute("viewBox", `0 0 ${((Math.max(...xs) - x0) / span * 100 + 10).toFixed(2)} ${height}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", W.mapLabel);
    const add = (tag, attrs) => {
      const node = document.createElementNS(ns, tag);
      for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
      svg.append(node);
      return node;
    };
    for (const f of features.filter((f) => f.geometry.type === "LineString")) {
      add("polyline", {points: f.geometry.coordinates.map((p) => at(p).join(",")).join(" "), class: "fr-line"});
    }
    let n = 0;
    for (const f of features.filter((f) => f.geometry.type === "Point" && f.properties.type === "visit")) {
      const [x, y] = at(f.geometry.coordinates);
      n += 1;
      add("circle", {cx: x, cy: y, r: 2.6, class: `fr-dot fr-dot-${f.properties.status || "planned"}`});
      add("text", {x, y: (Number(y) + 1.1).toFixed(2), class: "fr-num"}).textContent = String(n);
    }
    if (geo) {
      const [x, y] = at([geo.lon, geo.lat]);
      add("circle", {cx: x, cy: y, r: 2, class: "fr-me"});
    }
    box.replaceChildren(svg);
  }

  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve({});
      navigator.geolocation.getCurrentPosition((p) => {
        geo = {lat: p.coords.latitude, lon: p.coords.longitude};
        resolve(geo);
      }, () => resolve({}), {timeout: 10000, maximumAge: 60000});
    });
  }

  // --- the page --------------------------------------------------------------------------------

  /** A stop's state as the rep sees it: the service's, or what its waiting reports say. */
  function stateOf(stop, waiting, upcoming) {
    const kinds = waiting.filter((q) => q.event.store_id === stop.store_id).map((q) => q.event.kind);
    if (kinds.includes("store_closed")) return "closed";
    if (kinds.includes("visit_done")) return "done";
    if (kinds.includes("visit_started")) return "under_way";
    return stop.status || (stop === upcoming ? "next" : "planned");
  }

  function checkOutForm(stop) {
    const list = (route.checklists[stop.class] || {steps: []});
    const outcome = el("select", {name: "outcome", "data-key": `outcome ${stop.store_id}`}, ...Object.entries(W.outcomes).map(([k, v]) => el("option", {value: k}, v)));
    const value = el("input", {name: "order_value", type: "number", min: "0", step: "0.01", inputmode: "decimal",
                               "data-key": `value ${stop.store_id}`});
    const note = el("input", {name: "note", type: "text", maxlength: "500", "data-key": `note ${stop.store_id}`});
    const steps = list.steps.map((k) => el("label", {}, el("input", {type: "checkbox", name: "steps", value: k}),
      W.step(k), k === list.focus_step ? el("span", {class: "fr-focus"}, W.focus) : null));
    const form = el("form", {class: "fr-form"},
      el("label", {}, W.outcome, outcome), el("label", {}, W.orderValue, value), el("label", {}, W.note, note),
      el("fieldset", {}, el("legend", {}, W.checklist), ...steps),
      el("button", {type: "submit"}, W.send));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const event = {kind: "visit_done", store_id: stop.store_id, outcome: outcome.value};
      if (outcome.value === "order" && value.value !== "") event.order_value = Number(value.value);
      if (note.value.trim()) event.note = note.value.trim();
      const ticked = steps.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      if (ticked.length) event.steps = ticked;
      report(event);
    });
    return form;
  }

  function longerForm(stop) {
    const minutes = el("input", {name: "minutes", type: "number", min: "1", max: "240", value: "15", inputmode: "numeric"});
    const form = el("form", {class: "fr-form"}, el("label", {}, W.minutesLonger, minutes), el("button", {type: "submit"}, W.send));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (Number(minutes.value) > 0) report({kind: "overrun", store_id: stop.store_id, minutes: Number(minutes.value)});
    });
    return form;
  }

  function stopItem(stop, number, state, isToday, busy) {
    const minutes = Math.round((Date.parse(stop.end) - Date.parse(stop.start)) / 60000);
    const waiting = readQueue().some((q) => q.state === "waiting" && q.event.store_id === stop.store_id);
    const item = el("li", {class: `fr-stop fr-stop-${state}`, "data-store": stop.store_id},
      el("div", {}, el("span", {class: "fr-n", "aria-hidden": "true"}, String(number)), el("span", {class: "fr-time"}, hm(stop.start)), el("span", {class: "fr-name"}, stop.name || stop.store_id), " ",
        el("span", {class: `fr-state fr-state-${state}`}, W.status[state]), waiting ? el("span", {class: "fr-wait"}, W.waiting) : null),
      el("div", {class: "fr-meta"}, [stop.class ? W.classLabel(stop.class) : null, W.hours(stop.opening_hours), W.serviceMin(minutes)]
        .filter(Boolean).join(" · ")),
      last[stop.store_id] ? el("div", {class: "fr-last"}, W.lastVisit(last[stop.store_id])) : null);
    const buttons = el("div", {class: "fr-buttons"});
    const open = (kind) => () => { panel = {key: `${kind} ${stop.store_id}`, node: null}; render(); };
    if (isToday && state === "under_way") {
      buttons.append(el("button", {type: "button", "data-key": `out ${stop.store_id}`, onclick: open("checkout")}, W.checkOut),
        el("button", {type: "button", class: "secondary", "data-key": `longer ${stop.store_id}`, onclick: open("longer")},
          W.takesLonger));
    } else if (isToday && (state === "next" || state === "planned") && !busy) {
      buttons.append(el("button", {type: "button", "data-key": `in ${stop.store_id}`, onclick: async () => report(Object.assign(
        {kind: "visit_started", store_id: stop.store_id}, await position()))}, W.checkIn),
      el("button", {type: "button", class: "secondary", "data-key": `closed ${stop.store_id}`,
                    onclick: () => report({kind: "store_closed", store_id: stop.store_id})}, W.storeClosed));
    }
    const where = `${stop.lat},${stop.lon}`;
    buttons.append(el("a", {href: `geo:${where}?q=${where}`}, W.navigate),
      el("a", {href: `https://www.google.com/maps/dir/?api=1&destination=${where}`, rel: "noopener", target: "_blank"}, W.googleMaps));
    item.append(buttons);
    for (const kind of ["checkout", "longer"]) {
      if (panel && panel.key === `${kind} ${stop.store_id}` && state === "under_way") {
        panel.node = panel.node || (kind === "checkout" ? checkOutForm(stop) : longerForm(stop));
        item.append(panel.node);
      }
    }
    return item;
  }

  function urgentPanel() {
    const search = el("input", {type: "search", id: "fr-search", autocomplete: "off", "data-key": "search"});
    const results = el("ul", {class: "fr-results"});
    const show = () => {
      const text = search.value.trim().toLowerCase();
      const found = (stores || []).filter((s) => !text || s.name.toLowerCase().includes(text) || s.id.toLowerCase().includes(text));
      results.replaceChildren(...found.slice(0, 20).map((s) => el("li", {}, el("span", {}, `${s.name} (${W.classLabel(s.class)})`),
        el("button", {type: "button", onclick: () => report({kind: "urgent_visit", store_id: s.id})}, W.visitToday))));
    };
    search.addEventListener("input", show);
    if (stores === null) {
      get("/v1/stores?limit=1000").then((a) => { stores = a.body.items; show(); }).catch(() => { stores = []; show(); });
    } else show();
    const name = el("input", {type: "text", id: "fr-new-name", maxlength: "200", "data-key": "new-name"});
    const lowest = route.new_store_class;
    const add = el("button", {type: "button", onclick: async () => {
      const here = await position();
      if (!name.value.trim() || here.lat === undefined) return status(W.newPlaceNeeds, true);
      const id = `P${Date.now().toString(36)}${newKey().slice(0, 4)}`.toUpperCase();
      report({kind: "urgent_visit", store_id: id, store: {id, name: name.value.trim(), lat: here.lat, lon: here.lon,
        class: lowest, opening_hours: ""}});
    }}, W.addNewPlace);
    return el("section", {class: "fr-urgent", "aria-label": W.urgentVisit},
      el("label", {for: "fr-search"}, W.searchStores), search, results,
      el("label", {for: "fr-new-name"}, W.newPlaceName), name, el("p", {class: "fr-meta"}, W.newPlaceClass(lowest)), add);
  }

  function renderDays() {
    const dates = today ? Array.from({length: 7}, (_, n) => plusDays(today, n)).filter((d) => d === today || week[d]) : [];
    $("fr-days").replaceChildren(...dates.map((d, n) => el("button", {
      type: "button", "aria-pressed": String(d === day), class: week[d] && week[d].day_off ? "off" : "",
      onclick: () => { panel = null; load(d); }}, n === 0 ? W.today : n === 1 ? W.tomorrow : W.weekday(d))));
  }

  function nameOf(storeId) {
    const stop = route && route.stops.find((s) => s.store_id === storeId);
    return stop && stop.name ? stop.name : storeId;
  }

  function renderQueue() {
    const queue = readQueue();
    const waiting = queue.filter((q) => q.state === "waiting");
    const refused = queue.filter((q) => q.state === "refused");
    $("fr-queue").replaceChildren(
      ...(waiting.length ? [el("p", {class: "fr-waiting"}, W.waitingCount(waiting.length))] : []),
      ...refused.map((q) => el("p", {class: "fr-refused", role: "alert"}, W.refusedItem(q.event, q.message, nameOf(q.event.store_id)), " ",
        el("button", {type: "button", class: "secondary", onclick: () => {
          writeQueue(readQueue().filter((x) => x.key !== q.key));
          render();
        }}, W.dismiss))));
  }

  /** Draw the page again, keeping the focused control focused (by its data-key). */
  function render() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    draw();
    const again = focused && Array.from(document.querySelectorAll("[data-key]")).find((n) => n.dataset.key === focused);
    if (again && again !== document.activeElement) again.focus();
  }

  function draw() {
    renderDays();
    renderQueue();
    const list = $("fr-stops");
    list.replaceChildren();
    $("fr-totals").textContent = "";
    $("fr-left").replaceChildren();
    $("fr-actions").replaceChildren();
    if (!route) return;
    const visits = route.stops.filter((s) => s.type === "visit");
    const first = route.stops[0];
    const end = route.stops[route.stops.length - 1];
    $("fr-totals").textContent = route.day_off ? W.dayOff : visits.length
      ? [W.visits(visits.length), W.leave(hm(first.end)), W.back(hm(end.arrival)), W.km(route.summary.distance_m)].join(" · ")
      : W.noVisits;
    const isToday = day === today;
    const waiting = readQueue().filter((q) => q.state === "waiting" && q.date === day);
    const upcoming = visits.find((s) => s.status !== "done" && s.status !== "under_way" &&
      !waiting.some((q) => q.event.store_id === s.store_id));
    const states = visits.map((s) => stateOf(s, waiting, upcoming));
    const busy = states.includes("under_way");
    visits.forEach((stop, n) => list.append(stopItem(stop, n + 1, states[n], isToday, busy)));
    if (route.left.length) {
      $("fr-left").append(el("h2", {}, W.leftRoute),
        el("ul", {}, ...route.left.map((x) => el("li", {class: "fr-gone", "data-store": x.store_id}, W.left(x)))));
    }
    if (isToday && !route.day_off) {
      $("fr-actions").append(
        el("button", {type: "button", class: "secondary", onclick: () => {
          panel = panel && panel.key === "urgent" ? null : {key: "urgent", node: null};
          render();
        }},
          W.urgentVisit),
        el("button", {type: "button", class: "secondary", onclick: async () => report(Object.assign({kind: "position"}, await position()))},
          W.runningLate),
        el("button", {type: "button", class: "secondary", onclick: () => {
          if (window.confirm(W.confirmCantGoOn)) report({kind: "rep_unavailable"});
        }}, W.cantGoOn));
      if (panel && panel.key === "urgent") $("fr-actions").append(panel.node = panel.node || urgentPanel());
    }
  }

  $("fr-banner").append(el("span", {}, W.routeChanged), " ",
    el("button", {type: "button", onclick: () => { $("fr-banner").hidden = true; }}, W.ok));
  $("fr-signout").textContent = W.signOut;
  $("fr-signout").form.addEventListener("submit", async (e) => {
    if (!navigator.onLine) {
      e.preventDefault();
      return status(W.signOutOffline, true);
    }
    const waiting = readQueue().filter((q) => q.state === "waiting").length;
    if (waiting && !window.confirm(W.confirmSignOut(waiting))) return e.preventDefault();
    localStorage.removeItem(QUEUE);
    if (window.caches) {
      e.preventDefault();
      await Promise.all((await caches.keys()).map((k) => caches.delete(k)));
      e.target.submit();
    }
  });
  window.addEventListener("online", () => { send(); poll(); });
  window.addEventListener("storage", (e) => e.key === QUEUE && render()); // another tab sent or queued
  if (localStorage.getItem("fr-rep") !== config.rep_id) { // another rep on this phone: its copies go
    if (window.caches) caches.keys().then((keys) => keys.forEach((k) => caches.delete(k)));
    localStorage.setItem("fr-rep", config.rep_id);
  }
  window.addEventListener("focus", poll);
  document.addEventListener("visibilitychange", poll);
  setInterval(poll, POLL_MS);
  /** The service worker, once the route is shown (it fetches the app's files again to keep
   * them). The first time it takes the page over it has seen none of the day: read it again
   * through it. */
  function keepOffline() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/app/sw.js", {scope: "/app"}).catch(() => {});
    navigator.serviceWorker.addEventListener("controllerchange", async () => {
      week = {};
      if (!day) return;
      const answer = await get(routePath(day)).catch(() => null);
      if (answer && answer.body) [route, etag] = [answer.body, answer.etag];
      loadExtras(day);
    });
  }

  if (navigator.permissions) {
    navigator.permissions.query({name: "geolocation"}).then((p) => p.state === "granted" && position().then(() => day && drawMap(day)))
      .catch(() => {});
  }
  load().then(() => {
    send();
    keepOffline();
  });
})();
