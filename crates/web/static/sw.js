// The service worker of the offline app: keeps the app shell (no personal data: the
// worklist and the queued visits live encrypted in IndexedDB, see offline.js) and answers
// any page with it when the network fails, so a scanned card's /k/ URL opens offline.
const CACHE = "weibao-__VERSION__";
const SHELL = ["/offline", "/static/offline.js", "/static/app.css", "/static/icon.svg",
  "/manifest.webmanifest"];
// A page that does not come within this long is answered from the shell (a weak signal
// can keep a request open for minutes).
const NAVIGATION_TIMEOUT_MS = 8000;

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function shell() {
  return caches.open(CACHE).then((c) => c.match("/offline"));
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then((r) => { clearTimeout(t); resolve(r); }, (e) => { clearTimeout(t); reject(e); });
  });
}

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.includes(url.pathname) && url.pathname !== "/offline") {
    // The shell's own files: from the cache, refreshed when the service worker is.
    e.respondWith(caches.open(CACHE).then((c) => c.match(url.pathname))
      .then((hit) => hit || fetch(req)));
    return;
  }
  if (req.mode === "navigate") {
    e.respondWith(withTimeout(fetch(req), NAVIGATION_TIMEOUT_MS).catch(() => shell()));
  }
});

// The offline app's core (storage, encryption, sending; no DOM), for background sync.
importScripts("/static/offline.js");

// Background sync where the browser has it: with the app open its page sends (and shows
// what it sent); with none open the queue is sent from here, with the session's cookie.
self.addEventListener("sync", (e) => {
  if (e.tag !== "weibao-visits") return;
  e.waitUntil(self.clients.matchAll({ type: "window" }).then((cs) => {
    if (cs.length) {
      cs.forEach((c) => c.postMessage({ type: "sync" }));
      return undefined;
    }
    return self.WeibaoOffline.syncNow().then((r) => {
      // Unsent still (no signal yet): let the browser try again later.
      if (!r.online || (r.sent && r.sent.retry)) throw new Error("retry");
    });
  }));
});
