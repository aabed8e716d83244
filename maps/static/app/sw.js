// The rep's app's service worker: keeps the app and the rep's routes for when the network is
// gone. Network first (so a phone online always sees the latest route, revalidated with its
// ETag), the last good answer when the network fails or is slower than TIMEOUT_MS; such an
// answer carries "Fieldroute-Cached: 1" so the app can say it is offline. Writes never go
// through the cache: the app queues them itself (app.js).
"use strict";
const CACHE = "fieldroute-app-v1";
const SHELL = ["/app", "/app/app.js", "/app/words.js", "/app/app.css", "/app/icon.svg", "/app/manifest.webmanifest"];
const TIMEOUT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The GETs worth keeping: the app itself, the rep's routes and last visits, its stores. */
function kept(url) {
  return url.origin === self.location.origin &&
    (SHELL.includes(url.pathname) || url.pathname.startsWith("/v1/reps/") || url.pathname === "/v1/stores");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !kept(new URL(request.url))) return;
  event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const key = request.url;
  try {
    const response = await Promise.race([fetch(request), new Promise((_, fail) => setTimeout(
      () => fail(new Error("timeout")), TIMEOUT_MS))]);
    if (response.status === 200) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const hit = await cache.match(key);
    if (!hit) throw error;
    const headers = new Headers(hit.headers);
    headers.set("Fieldroute-Cached", "1");
    return new Response(hit.body, {status: hit.status, statusText: hit.statusText, headers});
  }
}
