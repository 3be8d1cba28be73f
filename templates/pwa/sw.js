// Làng Số's service worker: keeps the app shell on the phone and answers the offline page when a
// page cannot be reached. lms/web/views.py writes in the version and the file list, so a change to
// any shell file changes these bytes and the browser installs the new worker.
//
// Updates take effect on the next open, never midway: there is no skipWaiting. A new worker
// installs its own cache beside the old one and waits until every tab of the site is closed; the
// pages still open keep the worker and the files they started with. Every static URL carries its
// file's content hash (?v=…), so a page fresh from the network names files the old cache does not
// hold, and those come from the network: no page is ever styled or run by another version's files.
"use strict";

const VERSION = {{ version|tojson }};
const PREFIX = "lms-shell-";
const CACHE = PREFIX + VERSION;
const SHELL = {{ shell|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};
// Kept with the shell it names (its icons' URLs carry this version's hashes), and at hand offline.
const MANIFEST_URL = {{ manifest_url|tojson }};
// A page that has not begun to answer after this long counts as unreachable: a 3G signal that says
// "connected" but carries nothing would otherwise leave a white screen for minutes.
const NAVIGATION_TIMEOUT_MS = 12000;

self.addEventListener("install", (event) => {
  // "reload" passes the HTTP cache by: the shell must be the very bytes this version names.
  const requests = [...SHELL, OFFLINE_URL, MANIFEST_URL].map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // Only older shells go: caches of other names (lessons saved for offline) are not the shell's to delete.
    const names = await caches.keys();
    await Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name)));
    // The first install takes the page that registered it at once; it was loaded with this version's files.
    await self.clients.claim();
  })());
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function navigate(request) {
  try {
    return await Promise.race([fetch(request), timeout(NAVIGATION_TIMEOUT_MS)]);
  } catch {
    // Pages are never kept (they carry names, progress, messages): the offline page stands in for all.
    return (await caches.match(OFFLINE_URL, { cacheName: CACHE })) || Response.error();
  }
}

async function fromShell(request) {
  return (await caches.match(request, { cacheName: CACHE })) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Only reads: a form, an upload or the progress outbox's POST goes to the network as if there
  // were no worker, and its caller sees the failure and keeps its data.
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(request));
  } else if (url.pathname.startsWith("/static/") || url.pathname === MANIFEST_URL) {
    event.respondWith(fromShell(request));
  }
  // Anything else (media, JSON) goes to the network untouched and is never kept.
});
