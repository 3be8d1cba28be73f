// Làng Số lesson player: resume position, quality choice, watched stretches, "I'm done",
// read-aloud; progress waits in the outbox (outbox.js) so none is lost when the connection drops.
"use strict";

(() => {
  const QUALITY = "lms-video-quality";
  const SAVE_EVERY_MS = 10000;

  // crypto.randomUUID needs HTTPS; village Wi-Fi setups often serve plain HTTP.
  const uuid = () => {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  };

  let root;

  // Every event goes to the outbox (IndexedDB, static/js/outbox.js) first, then to the server.
  function send(kind, extra = {}) {
    const event = { id: uuid(), lesson_id: Number(root.dataset.lessonId), kind, occurred_at: new Date().toISOString(), ...extra };
    window.LmsOutbox?.add(kind === "complete" ? "done" : "progress", root.dataset.batchUrl, event);
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
      note.textContent = `✓ ${root.dataset.msgDone || ""}`.trim();
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
      if (keepalive) window.LmsOutbox?.drain({ keepalive: true });
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
    const pending = root.querySelector("[data-done-pending]");
    const lessonId = Number(root.dataset.lessonId);
    form.addEventListener("submit", (e) => {
      // Offline: keep it on the phone with the form's own id, so a later tap or replay counts once.
      if (!navigator.onLine) {
        e.preventDefault();
        const event = { id: form.querySelector("[name=event_id]").value, lesson_id: lessonId, kind: "complete",
                        occurred_at: new Date().toISOString() };
        window.LmsOutbox?.add("done", root.dataset.batchUrl, event);
        form.hidden = true;
      } else {
        form.querySelector("button").disabled = true;  // one tap, one event
      }
    });
    // "Đã học xong · chưa gửi" while this lesson's done waits on the phone, or the server's reason it refused.
    window.LmsOutbox?.subscribe(({ items }) => {
      const mine = items.find((item) => item.kind === "done" && item.body.lesson_id === lessonId);
      if (!pending) return;
      if (mine) {
        form.hidden = true;
        pending.hidden = false;
        pending.textContent = mine.status === "refused" ? `${pending.dataset.msgRefused} ${mine.last_error}` : pending.dataset.msgPending;
        pending.dataset.state = mine.status;
      } else if (!pending.hidden) {
        pending.hidden = true;
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
    setupListen();
    if (!root || root.dataset.enrolled !== "1") return;
    // The server's answer for this lesson, whoever sent it (this page or a replay of earlier events).
    document.addEventListener("lms:outbox-sent", (e) => {
      const mine = (e.detail.results || []).filter((r) => r.progress && r.progress.lesson_id === Number(root.dataset.lessonId)).pop();
      if (mine) update(mine.progress);
    });
    const video = root.querySelector("video[data-player]");
    if (video) setupVideo(video);
    const done = root.querySelector("[data-done-form]");
    if (done) setupDone(done);
  });
})();
