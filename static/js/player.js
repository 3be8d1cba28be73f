// Làng Số lesson player: resume position, quality choice, watched stretches, "I'm done",
// read-aloud, and an outbox so no progress is lost when the connection drops.
"use strict";

(() => {
  const OUTBOX = "lms-progress-outbox";
  const QUALITY = "lms-video-quality";
  const SAVE_EVERY_MS = 10000;
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // crypto.randomUUID needs HTTPS; village Wi-Fi setups often serve plain HTTP.
  const uuid = () => {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  const readOutbox = () => { try { return JSON.parse(localStorage.getItem(OUTBOX) || "[]"); } catch { return []; } };
  const writeOutbox = (events) => localStorage.setItem(OUTBOX, JSON.stringify(events.slice(-500)));

  let root, statusLine, flushing = false;

  function showStatus(text) {
    if (!statusLine) return;
    statusLine.hidden = !text;
    statusLine.textContent = text || "";
  }

  // Events the server refused for good (4xx on their content) are set aside here, never resent:
  // one impossible event must not hold back the others forever.
  const REJECTED = "lms-progress-rejected";
  const quarantine = (events) => {
    if (!events.length) return;
    let kept = [];
    try { kept = JSON.parse(localStorage.getItem(REJECTED) || "[]"); } catch { /* start again */ }
    localStorage.setItem(REJECTED, JSON.stringify([...kept, ...events].slice(-50)));
    const gone = new Set(events.map((e) => e.id));
    writeOutbox(readOutbox().filter((e) => !gone.has(e.id)));
  };

  // "events.3.segments.0" -> 3: which events of the batch a 422 names.
  const rejectedIndexes = (body) => new Set((Array.isArray(body?.detail) ? body.detail : [])
    .map((p) => /^events\.(\d+)/.exec(p.field || "")).filter(Boolean).map((m) => Number(m[1])));

  function askToLogIn() {
    if (!statusLine) return;
    const link = document.createElement("a");
    // This very page: opened again it asks for the login (and comes back here) or, with a remembered
    // login, renews the session; either way it loads with a fresh token and sends the outbox.
    link.href = location.href;
    link.textContent = root.dataset.msgLogin || "";
    statusLine.replaceChildren(link);
    statusLine.hidden = false;
  }

  // Events go to the outbox first, then to the server; a failed send stays for later.
  async function flush(keepalive = false) {
    if (flushing) return;
    // At most 100 a time: a long offline spell must not become one request a slow link cannot finish.
    const waiting = readOutbox();
    const events = waiting.slice(0, 100);
    if (!events.length || !root) return;
    flushing = true;
    let again = false;
    try {
      const response = await fetch(root.dataset.batchUrl, {
        method: "POST", keepalive, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
        body: JSON.stringify({ events }),
      });
      const body = await response.json().catch(() => null);
      if (response.ok) {
        const sent = new Set(events.map((e) => e.id));
        writeOutbox(readOutbox().filter((e) => !sent.has(e.id)));
        const mine = (body?.results || []).filter((r) => r.progress && r.progress.lesson_id === Number(root.dataset.lessonId)).pop();
        if (mine) update(mine.progress);
        showStatus("");
        again = waiting.length > events.length;
      } else if (response.status === 401 || (response.status === 400 && body?.error === "csrf")) {
        // Logged out (or the page outlived its session): keep everything, send it after logging in again.
        askToLogIn();
      } else if (response.status === 422 && events.length > 1 && rejectedIndexes(body).size) {
        const bad = rejectedIndexes(body);
        quarantine(events.filter((_, i) => bad.has(i)));
        again = true;  // the rest go at once
      } else if (response.status >= 400 && response.status < 500 && ![408, 409, 425, 429].includes(response.status)) {
        quarantine(events);  // refused as a whole, and sending it again would be refused again
      }
    } catch {
      // Offline: keep the events; "online" triggers another try.
    } finally {
      flushing = false;
    }
    if (again) flush(keepalive);
  }

  function send(kind, extra = {}) {
    const event = { id: uuid(), lesson_id: Number(root.dataset.lessonId), kind, occurred_at: new Date().toISOString(), ...extra };
    writeOutbox([...readOutbox(), event]);
    flush();
  }

  function update(progress) {
    const watched = root.querySelector("[data-watched]");
    if (watched && progress.watched_percent !== undefined) {
      watched.firstChild && (watched.textContent = watched.textContent.replace(/\d+%/, `${progress.watched_percent}%`));
    }
    if (progress.completed && root.dataset.complete !== "1") {
      root.dataset.complete = "1";
      const note = document.createElement("p");
      note.className = "done-note";
      note.textContent = "✓";
      root.querySelector("h1").after(note);
    }
  }

  function setupVideo(video) {
    let segmentStart = null;
    let segments = [];
    let lastSent = Date.now();
    const resumeAt = Number(root.dataset.position || 0);
    // Until the saved place is restored, currentTime is 0 for lack of metadata, not because the
    // trainee went back: reporting it then would overwrite the saved position with 0.
    let resumed = false, switching = false;

    const closeSegment = () => {
      if (segmentStart !== null && video.currentTime > segmentStart) segments.push([segmentStart, video.currentTime]);
      segmentStart = video.paused ? null : video.currentTime;
    };
    const report = (keepalive = false) => {
      if (!resumed || switching) return;
      closeSegment();
      const position = Number.isFinite(video.currentTime) ? video.currentTime : 0;
      if (!segments.length && Math.abs(position - resumeAt) < 1 && Date.now() - lastSent < SAVE_EVERY_MS) return;
      send("position", { position_s: Math.round(position * 10) / 10, segments: segments.map(([a, b]) => [Math.round(a * 10) / 10, Math.round(b * 10) / 10]) });
      segments = [];
      lastSent = Date.now();
      if (keepalive) flush(true);
    };

    const resume = () => {
      if (resumed || !(video.duration > 0)) return;
      if (resumeAt > 3 && resumeAt < video.duration - 5 && video.currentTime < 1) video.currentTime = resumeAt;
      resumed = true;
      root.dataset.resumed = "1";
    };
    video.addEventListener("play", () => { segmentStart = video.currentTime; });
    video.addEventListener("seeking", () => {
      // A jump ends the stretch being watched; skipping ahead is not watching.
      if (segmentStart !== null && video.currentTime > segmentStart) segments.push([segmentStart, Math.min(video.currentTime, segmentStart + (Date.now() - lastSent) / 1000 + 1)]);
      segmentStart = null;
    });
    video.addEventListener("seeked", () => { segmentStart = video.paused ? null : video.currentTime; });
    video.addEventListener("pause", () => report());
    video.addEventListener("ended", () => report());
    video.addEventListener("timeupdate", () => { if (!video.paused && Date.now() - lastSent >= SAVE_EVERY_MS) report(); });
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") report(true); });
    window.addEventListener("pagehide", () => report(true));

    // Quality: 360p unless the trainee chose otherwise on this phone.
    const picker = document.querySelector("[data-quality]");
    if (picker) {
      const choose = (quality, keepTime) => {
        const src = video.dataset[`src${quality}`];
        if (!src) return;
        const time = video.currentTime;
        const playing = !video.paused;
        const restore = keepTime && resumed;
        if (restore) switching = true;  // load() puts currentTime back to 0 until the new metadata
        video.querySelector("source").src = src;
        video.load();
        if (restore) {
          video.addEventListener("loadedmetadata", () => {
            video.currentTime = time;
            switching = false;
            if (playing) video.play();
          }, { once: true });
        }
      };
      const saved = localStorage.getItem(QUALITY);
      if (saved === "720p" && video.dataset.src720p) {
        picker.querySelector('input[value="720p"]').checked = true;
        choose("720p", false);
      }
      picker.addEventListener("change", (e) => {
        localStorage.setItem(QUALITY, e.target.value);
        choose(e.target.value === "720p" ? "720p" : "360p", true);
      });
    }

    // The metadata may have loaded before this script ran (cached video, back button): then
    // "loadedmetadata" has already fired and only readyState tells. A quality switch above
    // restarts loading, so this comes after it.
    video.addEventListener("loadedmetadata", resume);
    if (video.readyState >= 1) resume();
  }

  function setupDone(form) {
    form.addEventListener("submit", (e) => {
      // Offline: keep the event on the phone; the outbox sends it when the network is back.
      if (!navigator.onLine) {
        e.preventDefault();
        send("complete");
        form.hidden = true;
        showStatus(root.dataset.msgSavedOffline || "✓");
      } else {
        form.querySelector("button").disabled = true;  // one tap, one event
      }
    });
  }

  function setupListen() {
    const box = document.querySelector("[data-listen]");
    if (!box || !("speechSynthesis" in window)) return;
    const start = box.querySelector("[data-listen-start]");
    const stop = box.querySelector("[data-listen-stop]");
    const missing = box.querySelector("[data-listen-missing]");
    const text = document.querySelector("[data-listen-text]")?.innerText || "";
    const pickVoice = () => speechSynthesis.getVoices().find((v) => v.lang && v.lang.toLowerCase().startsWith("vi"));
    box.hidden = !text.trim();
    start.addEventListener("click", () => {
      speechSynthesis.cancel();
      const voice = pickVoice();
      missing.hidden = Boolean(voice);
      // Long texts are read paragraph by paragraph: some phones stop after ~15 s of one utterance.
      for (const part of text.split(/\n+/).map((p) => p.trim()).filter(Boolean)) {
        const u = new SpeechSynthesisUtterance(part);
        u.lang = "vi-VN";
        if (voice) u.voice = voice;
        u.rate = 0.95;
        speechSynthesis.speak(u);
      }
      start.hidden = true;
      stop.hidden = false;
      const poll = setInterval(() => { if (!speechSynthesis.speaking) { clearInterval(poll); start.hidden = false; stop.hidden = true; } }, 1000);
    });
    stop.addEventListener("click", () => { speechSynthesis.cancel(); start.hidden = false; stop.hidden = true; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    root = document.querySelector("[data-lesson]");
    statusLine = document.querySelector("[data-sync-status]");
    setupListen();
    window.addEventListener("online", () => flush());
    if (!root || root.dataset.enrolled !== "1") return;
    const video = root.querySelector("video[data-player]");
    if (video) setupVideo(video);
    const done = root.querySelector("[data-done-form]");
    if (done) setupDone(done);
    flush();
  });
})();
