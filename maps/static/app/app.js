// The rep's app: the day's route as a list, and the buttons that report the day. Plain
// JavaScript, no build step. Reads the route and the last visits over the API with the
// session cookie; posts events with the page's CSRF token and an Idempotency-Key.
(() => {
  "use strict";
  const W = window.FR_WORDS;
  const config = JSON.parse(document.getElementById("fr-config").textContent);
  const rep = encodeURIComponent(config.rep_id);
  const $ = (id) => document.getElementById(id);
  let day = "today";
  let route = null;
  let last = {};

  /** An element; children are nodes or strings (always text, never HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const hm = (iso) => iso.slice(11, 16); // the plan's local time, as the API writes it

  function status(text, error) {
    $("fr-status").textContent = text || "";
    $("fr-status").classList.toggle("error", Boolean(error));
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({credentials: "same-origin"}, options));
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const error = new Error((body && body.detail) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function load() {
    status(W.loading);
    try {
      route = await api(`/v1/reps/${rep}/routes/${day}`);
      const visits = await api(`/v1/reps/${rep}/routes/${day}/last-visits`);
      last = Object.fromEntries(visits.map((v) => [v.store_id, v]));
      status("");
    } catch (error) {
      route = null;
      status(error.status === 404 ? W.noPlan : error.message, error.status !== 404);
    }
    render();
  }

  async function post(event) {
    status(W.sending);
    try {
      const answer = await api(`/v1/reps/${rep}/routes/today/events`, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": config.csrf, "Idempotency-Key": newKey()},
        body: JSON.stringify(Object.assign({time: new Date().toISOString()}, event)),
      });
      route = answer.route;
      status(describe(answer));
    } catch (error) {
      status(error.message, true);
    }
    render();
  }

  /** What an event changed, in words, from the answer's diff. */
  function describe(answer) {
    const diff = answer.diff;
    const names = Object.fromEntries((answer.route ? answer.route.stops : []).map((s) => [s.store_id, s.name]));
    const said = [];
    const away = diff.moved.filter((m) => m.from === config.rep_id).length;
    if (away) said.push(W.moved(away));
    const byDate = {};
    for (const c of diff.carried) byDate[c.to_date] = (byDate[c.to_date] || 0) + 1;
    for (const [date, n] of Object.entries(byDate)) said.push(W.carried(n, date));
    if (diff.dropped.length) said.push(W.dropped(diff.dropped.length));
    if (diff.added.length) said.push(W.added(diff.added.length));
    const later = diff.etas.filter((e) => e.rep_id === config.rep_id && e.before && e.after !== e.before);
    if (later.length) said.push(W.nowAt(names[later[0].store_id] || later[0].store_id, hm(later[0].after)));
    if (answer.flags && answer.flags.length) said.push(W.farFromStore);
    return said.length ? said.join(". ") + "." : W.nothingChanged;
  }

  function renderDays() {
    $("fr-days").replaceChildren(...["today", "tomorrow"].map((d) => el("button", {
      type: "button", "aria-pressed": String(d === day), onclick: () => { day = d; load(); }}, W[d])));
  }

  function checkOutForm(stop) {
    const outcome = el("select", {name: "outcome"}, ...Object.entries(W.outcomes).map(([k, v]) => el("option", {value: k}, v)));
    const value = el("input", {name: "order_value", type: "number", min: "0", step: "0.01", inputmode: "decimal"});
    const note = el("input", {name: "note", type: "text", maxlength: "500"});
    const steps = Object.entries(W.steps).map(([k, v]) => el("label", {}, el("input", {type: "checkbox", name: "steps", value: k}), v));
    const form = el("form", {class: "fr-checkout"},
      el("label", {}, W.outcome, outcome), el("label", {}, W.orderValue, value), el("label", {}, W.note, note), ...steps,
      el("button", {type: "submit"}, W.send));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const event = {kind: "visit_done", store_id: stop.store_id, outcome: outcome.value};
      if (outcome.value === "order" && value.value !== "") event.order_value = Number(value.value);
      if (note.value.trim()) event.note = note.value.trim();
      const ticked = steps.map((l) => l.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
      if (ticked.length) event.steps = ticked;
      post(event);
    });
    return form;
  }

  function position() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve({});
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({lat: p.coords.latitude, lon: p.coords.longitude}), () => resolve({}), {timeout: 10000, maximumAge: 60000});
    });
  }

  function stopItem(stop, state, today, busy) {
    const minutes = Math.round((Date.parse(stop.end) - Date.parse(stop.start)) / 60000);
    const item = el("li", {class: "fr-stop", "data-store": stop.store_id},
      el("div", {}, el("span", {class: "fr-time"}, hm(stop.start)), el("span", {class: "fr-name"}, stop.name || stop.store_id), " ",
        el("span", {class: `fr-state fr-state-${state}`}, W.status[state])),
      el("div", {class: "fr-meta"}, [stop.class ? W.classLabel(stop.class) : null, W.hours(stop.opening_hours), W.serviceMin(minutes)]
        .filter(Boolean).join(" · ")),
      last[stop.store_id] ? el("div", {class: "fr-last"}, W.lastVisit(last[stop.store_id])) : null);
    const buttons = el("div", {class: "fr-buttons"});
    if (today && state === "under_way") {
      buttons.append(el("button", {type: "button", onclick: () => buttons.replaceChildren(checkOutForm(stop))}, W.checkOut),
        el("button", {type: "button", class: "secondary", onclick: () => {
          const m = Number(window.prompt(W.minutesLonger, "15"));
          if (m > 0) post({kind: "overrun", store_id: stop.store_id, minutes: m});
        }}, W.takesLonger));
    } else if (today && state !== "done" && !busy) {
      buttons.append(el("button", {type: "button", onclick: async () => post(Object.assign(
        {kind: "visit_started", store_id: stop.store_id}, await position()))}, W.checkIn),
      el("button", {type: "button", class: "secondary", onclick: () => post({kind: "store_closed", store_id: stop.store_id})},
        W.storeClosed));
    }
    buttons.append(el("a", {href: `geo:${stop.lat},${stop.lon}?q=${stop.lat},${stop.lon}`}, W.navigate));
    item.append(buttons);
    return item;
  }

  function render() {
    renderDays();
    const list = $("fr-stops");
    list.replaceChildren();
    $("fr-totals").textContent = "";
    $("fr-actions").replaceChildren();
    if (!route) return;
    const visits = route.stops.filter((s) => s.type === "visit");
    const first = route.stops[0];
    const end = route.stops[route.stops.length - 1];
    $("fr-totals").textContent = visits.length
      ? [W.visits(visits.length), W.leave(hm(first.end)), W.back(hm(end.arrival))].join(" · ") : W.noVisits;
    const today = day === "today";
    const busy = visits.some((s) => s.status === "under_way");
    const upcoming = visits.find((s) => !s.status || s.status === "next");
    for (const stop of visits) {
      const state = stop.status || (stop === upcoming ? "next" : "planned");
      list.append(stopItem(stop, state, today, busy));
    }
    if (today) {
      $("fr-actions").append(
        el("button", {type: "button", class: "secondary", onclick: async () => post(Object.assign({kind: "position"}, await position()))},
          W.runningLate),
        el("button", {type: "button", class: "secondary", onclick: () => {
          if (window.confirm(W.confirmCantGoOn)) post({kind: "rep_unavailable"});
        }}, W.cantGoOn));
    }
  }

  load();
})();
