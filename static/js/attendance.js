// Làng Số attendance: taps saved in place on the roll call, instant name search, a check-in screen that
// renews its code by itself, and a camera card scanner where the browser has one. Every page works without it.
"use strict";

(() => {
  const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  /** POST a form's fields (plus `extra`) and return {ok, data}; data is the JSON answer or null. */
  async function postForm(form, extra = {}) {
    const body = new FormData(form);
    for (const [name, value] of Object.entries(extra)) body.set(name, value);
    const response = await fetch(form.action, {
      method: "POST", body, credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return { ok: response.ok, data };
  }

  function updateCounts(counts) {
    if (!counts) return;
    document.querySelectorAll("[data-count]").forEach((element) => {
      const value = counts[element.dataset.count];
      if (value !== undefined) element.textContent = value;
    });
  }

  /** Lower case without Vietnamese tone marks, as lms.text.fold_diacritics does on the server. */
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d")
      .replace(/\s+/g, " ").trim();
  }

  // --- Roll call -------------------------------------------------------------------------------
  function rollCall(list) {
    const failed = list.dataset.errorText || "!";
    list.addEventListener("click", async (event) => {
      const button = event.target.closest("button[name=status]");
      if (!button || !list.contains(button)) return;
      event.preventDefault();
      const form = button.form;
      const row = form.closest(".roll-row");
      const buttons = [...form.querySelectorAll("button[name=status]")];
      const before = buttons.map((b) => b.getAttribute("aria-pressed"));
      // Only the latest tap on a row decides what it shows (taps may answer out of order).
      const seq = String((Number(form.dataset.seq) || 0) + 1);
      form.dataset.seq = seq;
      buttons.forEach((b) => b.setAttribute("aria-pressed", b === button ? "true" : "false"));
      row.classList.add("is-saving");
      let message = "";
      try {
        const { ok, data } = await postForm(form, { status: button.value });
        if (!ok) throw new Error((data && data.error) || failed);
        if (form.dataset.seq === seq) {
          updateCounts(data.counts);
          // The trainee's rate over the class, rendered by the server (figures.py): never worked out here.
          const figure = row.querySelector(".att-fig");
          if (figure && data.figure_html) figure.outerHTML = data.figure_html;
        }
      } catch (error) {
        message = error.message && error.message !== "Failed to fetch" ? error.message : failed;
        if (form.dataset.seq === seq) buttons.forEach((b, i) => b.setAttribute("aria-pressed", before[i]));
      } finally {
        if (form.dataset.seq === seq) {
          row.classList.remove("is-saving");
          let note = row.querySelector(".roll-error");
          if (message && !note) {
            note = document.createElement("p");
            note.className = "roll-error";
            note.setAttribute("role", "alert");
            row.append(note);
          }
          if (note) { note.textContent = message; note.hidden = !message; }
        }
      }
    });
  }

  function rollSearch(input) {
    const rows = [...document.querySelectorAll(".roll-row")];
    const none = document.querySelector("[data-roll-none]");
    const filter = () => {
      const query = fold(input.value);
      let shown = 0;
      rows.forEach((row) => {
        const match = !query || (" " + row.dataset.name).includes(" " + query);
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (none) none.hidden = shown > 0 || rows.length === 0;
    };
    input.addEventListener("input", filter);
    // The list filters as you type: the Search button is for phones without JavaScript, and Enter closes the keyboard.
    input.form.classList.add("is-instant");
    input.form.addEventListener("submit", (event) => { event.preventDefault(); input.blur(); });
    if (input.value) filter();
  }

  // --- The check-in screen ---------------------------------------------------------------------
  function checkInScreen(root) {
    const qr = root.querySelector("[data-qr]");
    const code = root.querySelector("[data-code]");
    const open = root.querySelector("[data-open]");
    const closed = root.querySelector("[data-closed]");
    let timer = null;
    async function refresh() {
      clearTimeout(timer);
      let delay = 5;
      try {
        const response = await fetch(root.dataset.url, {
          headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
        });
        if (!response.ok) throw new Error(String(response.status));
        const state = await response.json();
        if (state.cancelled) { window.location.reload(); return; }
        if (open) open.hidden = !state.open;
        if (closed) closed.hidden = state.open;
        if (state.open && qr && code) {
          qr.src = state.qr;
          code.textContent = `${state.code.slice(0, 3)} ${state.code.slice(3)}`;
        }
        updateCounts(state.counts);
        // New codes right after they change; the count of checked-in trainees at least every 10 s.
        delay = Math.min(Math.max(1, state.refresh_in), 10);
      } catch (error) {
        delay = 5;
      }
      timer = setTimeout(refresh, delay * 1000);
    }
    timer = setTimeout(refresh, Math.min(Math.max(1, Number(root.dataset.refresh) || 5), 10) * 1000);
    // Keep the instructor's phone screen on while it shows the code.
    const keepAwake = () => navigator.wakeLock?.request("screen").catch(() => {});
    keepAwake();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") { keepAwake(); refresh(); }
    });
  }

  // --- Card scans --------------------------------------------------------------------------------
  function scanner(form) {
    const result = document.querySelector("[data-scan-result]");
    const input = form.querySelector("input[name=card]");
    const failed = form.dataset.errorText || "!";
    const recent = new Map();
    let busy = false;
    const show = (message, ok) => {
      if (!result) return;
      result.hidden = false;
      result.textContent = message;
      result.classList.toggle("is-ok", ok);
      result.classList.toggle("is-error", !ok);
    };
    async function send(value) {
      busy = true;
      try {
        const { data } = await postForm(form, { card: value });
        show((data && data.message) || failed, Boolean(data && data.ok));
        if (data) updateCounts(data.counts);
        if (data && data.ok && navigator.vibrate) navigator.vibrate(80);
      } catch (error) {
        show(failed, false);
      } finally {
        busy = false;
      }
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = input.value.trim();
      input.value = "";
      input.focus();
      if (value) send(value);
    });

    const box = document.querySelector("[data-scanner]");
    if (!box || !("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) return;
    const video = box.querySelector("[data-camera-video]");
    const start = box.querySelector("[data-camera-start]");
    const stop = box.querySelector("[data-camera-stop]");
    let detector = null;
    let stream = null;
    let timer = null;
    Promise.resolve(window.BarcodeDetector.getSupportedFormats?.() || ["qr_code"]).then((formats) => {
      if (!formats.includes("qr_code")) return;
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      box.hidden = false;
    }).catch(() => {});
    const stopCamera = () => {
      clearInterval(timer);
      stream?.getTracks().forEach((track) => track.stop());
      stream = null;
      video.hidden = true;
      stop.hidden = true;
      start.hidden = false;
    };
    start.addEventListener("click", async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      } catch (error) {
        show(box.dataset.cameraError || failed, false);
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      await video.play().catch(() => {});
      timer = setInterval(async () => {
        if (busy || video.readyState < 2) return;
        try {
          const found = await detector.detect(video);
          const value = found.length ? found[0].rawValue.trim() : "";
          // The same card stays in view for a while: send it once every few seconds at most.
          if (!value || Date.now() - (recent.get(value) || 0) < 4000) return;
          recent.set(value, Date.now());
          send(value);
        } catch (error) { /* a frame the detector could not read */ }
      }, 300);
    });
    stop.addEventListener("click", stopCamera);
    window.addEventListener("pagehide", stopCamera);
  }

  // --- Checking in by typed code while offline --------------------------------------------------
  // The code waits in the outbox (outbox.js) with the moment it was typed; the server checks it on
  // sync against the code its screen showed then, so a late network does not make the trainee late.
  function offlineCheckIn(form) {
    const pending = document.querySelector("[data-check-in-pending]");
    const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000".replace(/[018]/g,
      (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));
    form.addEventListener("submit", (e) => {
      const code = form.querySelector("[name=code]").value.trim();
      if (navigator.onLine || !window.LmsOutbox || !code) return;  // online: the form checks in at once
      e.preventDefault();
      window.LmsOutbox.add("check-in", form.dataset.offlineUrl, { id: uuid(), code, typed_at: new Date().toISOString() });
      form.reset();
      if (pending) { pending.hidden = false; pending.textContent = pending.dataset.msgPending; }
    });
    window.LmsOutbox?.subscribe(({ items }) => {
      if (pending && !items.some((item) => item.kind === "check-in" && item.status === "waiting")) pending.hidden = true;
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-offline-check-in]").forEach(offlineCheckIn);
    document.querySelectorAll("[data-roll-call]").forEach(rollCall);
    document.querySelectorAll("[data-roll-search]").forEach(rollSearch);
    document.querySelectorAll("[data-check-in-screen]").forEach(checkInScreen);
    document.querySelectorAll("[data-scan-form]").forEach(scanner);
  });
})();
