// Làng Số outbox: what a trainee does offline waits in IndexedDB, marked with who did it, and is sent
// through the idempotent endpoints when the network is back. Nothing is ever dropped by the phone:
// an item leaves only when the server has it, and one the server refuses stays with the reason.
"use strict";

(() => {
  const DB_NAME = "lms-outbox";
  const STORE = "items";
  const BATCH_URL = "/api/v1/progress/batch";
  const STATUS_URL = "/api/v1/sync-status";
  // The player's outbox before this file: moved here once, then removed.
  const LEGACY = ["lms-progress-outbox", "lms-progress-rejected"];
  const BATCH = 100;  // the batch endpoint's limit: a long offline spell must not become one huge request
  // Answers that mean "log in again", not "this item is wrong": the queue waits for the next session.
  const SESSION_ANSWERS = [401, 403, 419, 440];
  // Answers worth trying again later as they are: a slow or busy server, not a wrong item.
  const TRY_AGAIN = [408, 425, 429];
  // Staff need the last sync to the minutes, not every 10-second video save.
  const REPORT_EVERY_MS = 5 * 60 * 1000;

  const userId = () => document.body?.dataset.userId || "";
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const listeners = new Set();
  let items = [];          // this user's items, as last read from IndexedDB
  let session = "ok";      // "expired" after a session answer, until a page of a new session loads
  let syncedAt = null;     // the server's time of this page's last send that left nothing waiting
  let running = null, again = false;

  let opening = null;
  const openDb = () => opening || (opening = new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" }).createIndex("user_id", "user_id");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  }));

  // Run `work` on the store; resolves with its request's result once the transaction has committed.
  const run = (mode, work) => openDb().then((db) => new Promise((resolve, reject) => {
    const transaction = db.transaction(STORE, mode);
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = transaction.onabort = () => reject(transaction.error);
  }));
  const readMine = () => run("readonly", (store) => store.index("user_id").getAll(userId()));
  const putAll = (list) => list.length ? run("readwrite", (store) => { list.forEach((item) => store.put(item)); }) : Promise.resolve();
  const removeAll = (ids) => ids.length ? run("readwrite", (store) => { ids.forEach((id) => store.delete(id)); }) : Promise.resolve();

  async function refresh() {
    items = (await readMine()).sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
    listeners.forEach((listener) => listener(state()));
    render();
  }

  const state = () => ({ items, session, syncedAt });

  function newItem(kind, url, body) {
    return { id: body.id, kind, url, body, created_at: new Date().toISOString(), user_id: userId(), status: "waiting", last_error: "" };
  }

  // The old localStorage outbox held only this phone's progress events, sent as whoever was logged in:
  // they become the current user's, waiting (a rejected one gets one more try, and so its reason).
  async function migrateLegacy() {
    const found = [];
    for (const key of LEGACY) {
      try { found.push(...JSON.parse(localStorage.getItem(key) || "[]")); } catch { /* unreadable: leave it */ }
    }
    const events = found.filter((e) => e && typeof e.id === "string");
    if (!found.length) return;
    await putAll(events.map((e) => newItem(e.kind === "complete" ? "done" : "progress", BATCH_URL, e)));
    LEGACY.forEach((key) => localStorage.removeItem(key));  // only after IndexedDB committed them
  }

  /** Keep an item on the phone, then try to send it. */
  async function add(kind, url, body) {
    if (!userId()) return;
    await putAll([newItem(kind, url, body)]);
    await refresh();
    drain();
  }

  const isSessionAnswer = (response, body) => SESSION_ANSWERS.includes(response.status)
    || (response.status === 400 && body?.error === "csrf")
    || (response.redirected && new URL(response.url).pathname === "/login");

  const reasonOf = (body, response) => {
    if (Array.isArray(body?.detail)) return body.detail.map((p) => p.message).filter(Boolean).join(" ");
    return (typeof body?.detail === "string" && body.detail) || body?.message || `HTTP ${response.status}`;
  };

  // "events.3.segments.0" -> 3: which events of a batch a 422 names.
  const namedIndexes = (body) => new Map((Array.isArray(body?.detail) ? body.detail : [])
    .map((p) => [/^events\.(\d+)/.exec(p.field || ""), p.message]).filter(([m]) => m).map(([m, message]) => [Number(m[1]), message]));

  const serverTime = (response) => {
    const date = new Date(response.headers.get("Date") || "");
    return Number.isNaN(date.getTime()) ? new Date() : date;
  };

  // Send one group; answer "sent", "again" (part refused, send the rest now), "later" or "session".
  async function send(url, group, keepalive) {
    const batched = url === BATCH_URL;
    let response, body;
    try {
      response = await fetch(url, {
        method: "POST", keepalive, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: JSON.stringify(batched ? { events: group.map((item) => item.body) } : group[0].body),
      });
      body = await response.json().catch(() => null);
    } catch {
      return "later";  // offline: "online" brings another try
    }
    if (isSessionAnswer(response, body)) return "session";
    const refuse = (item, reason) => ({ ...item, status: "refused", last_error: reason || reasonOf(body, response) });
    if (response.ok) {
      const results = new Map((batched ? body?.results || [] : [body || {}]).map((r) => [String(r.id).toLowerCase(), r]));
      const sent = [], refused = [];
      for (const item of group) {
        const result = batched ? results.get(item.id.toLowerCase()) : { status: "applied" };
        if (!result) continue;  // not answered: stays waiting
        if (["applied", "duplicate"].includes(result.status)) sent.push(item.id);
        else refused.push(refuse(item, result.message || result.status));
      }
      if (!sent.length && !refused.length) return "later";  // an answer about none of them: try another time
      await putAll(refused);
      await removeAll(sent);
      syncedAt = serverTime(response);
      document.dispatchEvent(new CustomEvent("lms:outbox-sent", { detail: { results: batched ? body?.results || [] : [body] } }));
      return "sent";
    }
    if (response.status === 422 && batched && group.length > 1) {
      const named = namedIndexes(body);
      if (named.size) {
        await putAll(group.map((item, i) => (named.has(i) ? refuse(item, named.get(i)) : null)).filter(Boolean));
        return "again";
      }
    }
    if (response.status >= 400 && response.status < 500 && !TRY_AGAIN.includes(response.status)) {
      await putAll(group.map((item) => refuse(item)));  // sending it again would be refused again
      return "again";
    }
    return "later";
  }

  /** Send every waiting item of the current user; items of anyone else stay untouched. */
  function drain({ keepalive = false } = {}) {
    if (!userId() || !window.indexedDB) return Promise.resolve();
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        await migrateLegacy();
        await refresh();
        let outcome = "sent";
        while (outcome === "sent" || outcome === "again") {
          const waiting = items.filter((item) => item.status === "waiting");
          if (!waiting.length) break;
          const url = waiting[0].url;
          const group = url === BATCH_URL ? waiting.filter((item) => item.url === url).slice(0, BATCH) : [waiting[0]];
          outcome = await send(url, group, keepalive);
          if (outcome === "session") session = "expired";
          if (outcome === "sent" || outcome === "again") {
            session = "ok";
            await refresh();
          }
        }
        await refresh();
        if (session === "ok") report();
      } catch {
        // IndexedDB unavailable (private mode on some phones) or closing: the items stay where they are.
      }
    })().finally(() => {
      running = null;
      if (again) { again = false; drain(); }
    });
    return running;
  }

  // Tell the server what waits here, for staff; only when it changed or the last report is old.
  function report() {
    const key = `lms-outbox-reported:${userId()}`;
    const waiting = items.length;
    let last = {};
    try { last = JSON.parse(localStorage.getItem(key) || "{}"); } catch { /* report again */ }
    const synced = syncedAt ? syncedAt.toISOString() : last.synced || null;
    if (!waiting && !synced) return;  // this phone never queued anything: nothing for staff to see
    const fresh = last.waiting === waiting && (!syncedAt || Date.now() - (last.at || 0) < REPORT_EVERY_MS);
    if (fresh) return;
    fetch(STATUS_URL, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify(synced ? { waiting, last_synced_at: synced } : { waiting }),
    }).then((response) => {
      if (response.ok) localStorage.setItem(key, JSON.stringify({ waiting, synced, at: Date.now() }));
    }).catch(() => { /* offline: the next drain reports */ });
  }

  // --- What the trainee sees: how many items wait, the refused ones with the reason, the last sync ---

  const timeFormat = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit", hour12: false });

  function render() {
    const box = document.querySelector("[data-outbox-status]");
    if (!box) return;
    const text = (name, values = {}) => Object.entries(values).reduce((s, [k, v]) => s.replace(`{${k}}`, v), box.dataset[name] || "");
    const parts = [];
    const line = (content, className) => {
      const p = document.createElement("p");
      if (className) p.className = className;
      p.append(...[].concat(content));
      parts.push(p);
    };
    if (items.length) {
      line(items.length === 1 ? text("msgOne") : text("msgMany", { n: items.length }), "outbox-count");
    }
    if (session === "expired" && items.length) {
      const link = document.createElement("a");
      link.href = `${box.dataset.loginUrl}?next=${encodeURIComponent(location.pathname + location.search)}`;
      link.textContent = text("msgLogin");
      link.dataset.outboxLogin = "";
      line(link);
    }
    for (const item of items.filter((i) => i.status === "refused")) {
      // "check-in" -> data-msg-kind-check-in -> dataset.msgKindCheckIn
      const kind = `msgKind${item.kind.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase())}`;
      line(text("msgRefused", { what: text(kind) || item.kind, reason: item.last_error }), "outbox-refused");
    }
    if (!items.length && syncedAt) line(text("msgSynced", { time: timeFormat.format(syncedAt) }), "outbox-synced");
    box.replaceChildren(...parts);
    box.hidden = !parts.length;
  }

  window.LmsOutbox = {
    add, drain,
    /** The current user's items (a promise): what this page may show. */
    items: () => readMine(),
    /** Call `listener(state)` whenever the items change. */
    subscribe: (listener) => { listeners.add(listener); listener(state()); },
    BATCH_URL,
  };

  window.addEventListener("online", () => drain());
  document.addEventListener("DOMContentLoaded", () => drain());
})();
