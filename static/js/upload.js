// Làng Số resumable uploads: a small tus 1.0 client (creation, PATCH, HEAD, termination).
// Survives dropped connections and page reloads (the upload address is remembered per file,
// so picking the same file again continues from the server's offset). A failed request is
// tried again after an exponential, jittered pause (1 s, 2 s, 4 s … at most 30 s), a bounded
// number of times (`data-retry-max`, 8 by default); then the upload stops with a message and
// the Continue button starts a fresh round of tries (so does the network coming back).
//
// Multiple mode (`data-multiple` on the widget or on its target input): several files are
// picked at once and uploaded one after the other; each finished file's media id is added
// to the target input as a comma-separated list and shown as a small removable item, in the
// element named by the target's `data-list` (or a list made inside the widget). `data-max`
// caps the number of files. A form with `data-wait-uploads` is not sent while a file of one
// of its widgets is still uploading.
"use strict";

(() => {
  const CHUNK = 5 * 1024 * 1024;
  const TUS = "1.0.0";
  const RETRY_MAX = 8;
  const RETRY_BASE_MS = 1000;
  const RETRY_CAP_MS = 30000;
  // Answers worth asking again after a pause: the server restarting, busy, or finishing the file.
  const TRANSIENT = new Set([408, 423, 425, 429, 500, 502, 503, 504]);
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  const b64 = (text) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  const sizeText = (bytes) => {
    const units = [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]];
    for (const [unit, factor] of units) {
      if (bytes >= factor) return `${(bytes / factor).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 })} ${unit}`;
    }
    return `${bytes} B`;
  };
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");

  function request(method, url, headers = {}, body = null, onProgress = null) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", TUS);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      if (onProgress && xhr.upload) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => resolve(xhr);
      xhr.onerror = () => reject(new Error("network"));
      xhr.ontimeout = () => reject(new Error("network"));
      xhr.timeout = 120000;
      xhr.send(body);
    });
  }

  const uploads = [];
  const splitIds = (value) => (value || "").split(",").map((v) => v.trim()).filter(Boolean);

  const serverMessage = (xhr) => {
    try { const body = JSON.parse(xhr.responseText); return body.detail || body.error || xhr.statusText; } catch { return xhr.statusText || String(xhr.status); }
  };

  class Upload {
    constructor(root) {
      this.root = root;
      this.d = root.dataset;
      this.input = root.querySelector("[data-upload-input]");
      this.progressBox = root.querySelector("[data-upload-progress]");
      this.bar = root.querySelector("progress");
      this.numbers = root.querySelector("[data-upload-numbers]");
      this.message = root.querySelector("[data-upload-message]");
      this.pauseButton = root.querySelector("[data-upload-pause]");
      this.resumeButton = root.querySelector("[data-upload-resume]");
      this.cancelButton = root.querySelector("[data-upload-cancel]");
      this.target = document.getElementById(this.d.target);
      this.multiple = "multiple" in this.d || Boolean(this.target && "multiple" in this.target.dataset);
      if (this.multiple) {
        this.setUpMultiple();
      } else {
        this.input.addEventListener("change", () => this.input.files[0] && this.start(this.input.files[0]));
      }
      this.pauseButton.addEventListener("click", () => this.pause());
      this.resumeButton.addEventListener("click", () => this.resume());
      this.cancelButton.addEventListener("click", () => this.cancel());
      window.addEventListener("online", () => (this.waiting || this.stalled) && this.resume());
      window.addEventListener("beforeunload", (e) => { if (this.running) { e.preventDefault(); e.returnValue = ""; } });
    }

    setUpMultiple() {
      const options = this.target ? this.target.dataset : {};
      this.queue = [];
      this.max = Number(options.max || this.d.max || 0);
      this.input.multiple = true;
      this.list = (options.list && document.getElementById(options.list)) || null;
      if (!this.list) {
        this.list = document.createElement("ul");
        this.list.className = "upload-items";
        this.root.appendChild(this.list);
      }
      this.removeLabel = options.msgRemove || this.d.msgRemove || "×";
      this.maxMessage = options.msgMax || this.d.msgMax || "";
      this.list.addEventListener("click", (event) => {
        const button = event.target.closest("[data-upload-remove]");
        if (button && this.list.contains(button)) this.removeItem(button.closest("li"), button.dataset.uploadRemove);
      });
      this.input.addEventListener("change", () => {
        const files = Array.from(this.input.files || []);
        this.input.value = "";
        this.enqueue(files);
      });
    }

    ids() {
      return this.target ? splitIds(this.target.value) : [];
    }

    enqueue(files) {
      let room = this.max > 0 ? this.max - this.ids().length - this.queue.length - (this.running ? 1 : 0) : files.length;
      if (files.length > room) this.say(this.maxMessage, true);
      for (const file of files) {
        if (room-- <= 0) break;
        this.queue.push({ file, item: this.addItem(file) });
      }
      // A paused file keeps its turn; the queue moves on when it finishes.
      if (!this.running && !(this.paused && !this.cancelled)) this.next();
    }

    next() {
      // Called from inside run(): start the next file once that loop has let go.
      if (this.active) return void setTimeout(() => this.next(), 0);
      const entry = this.queue.shift();
      if (!entry) return;
      this.item = entry.item;
      this.start(entry.file);
    }

    addItem(file) {
      const li = document.createElement("li");
      li.className = "pending";
      if (file.type.startsWith("image/")) {
        const img = document.createElement("img");
        img.alt = "";
        img.src = URL.createObjectURL(file);
        img.onload = () => URL.revokeObjectURL(img.src);
        img.onerror = () => img.remove();  // e.g. HEIC, which few browsers show
        li.appendChild(img);
      } else {
        const icon = document.createElement("span");
        icon.className = "upload-item-icon";
        icon.setAttribute("aria-hidden", "true");
        icon.textContent = "▶";
        li.appendChild(icon);
      }
      const name = document.createElement("span");
      name.textContent = file.name;
      const status = document.createElement("small");
      status.className = "upload-item-status";
      li.append(name, status);
      this.list.appendChild(li);
      return li;
    }

    itemSay(li, text, isError = false) {
      const status = li && li.querySelector(".upload-item-status");
      if (!status) return;
      status.textContent = text;
      li.classList.toggle("error", isError);
    }

    finishItem(li, mediaId) {
      if (!li) return;
      li.classList.remove("pending");
      li.dataset.mediaId = mediaId || "";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "icon-button";
      button.dataset.uploadRemove = mediaId || "";
      button.setAttribute("aria-label", `${this.removeLabel}: ${li.querySelector("span:not(.upload-item-icon)")?.textContent || ""}`);
      button.textContent = "×";
      li.appendChild(button);
    }

    removeItem(li, mediaId) {
      if (mediaId && this.target) this.target.value = this.ids().filter((id) => id !== mediaId).join(",");
      if (li) li.remove();
      this.say("");
    }

    busy() {
      return Boolean(this.running || (this.queue && this.queue.length));
    }

    say(text, isError = false) {
      this.message.textContent = text;
      this.message.classList.toggle("error", isError);
    }

    key(file) {
      return `lms-tus:${this.d.course}:${this.d.purpose}:${file.name}:${file.size}:${file.lastModified}`;
    }

    async start(file) {
      this.file = file;
      this.paused = false;
      this.cancelled = false;
      this.attempt = 0;
      const max = Number(this.d.maxBytes);
      if (file.size > max) {
        this.say(fill(this.d.msgTooLarge, { size: sizeText(file.size) }), true);
        this.input.value = "";
        if (this.multiple) this.skip(fill(this.d.msgTooLarge, { size: sizeText(file.size) }));
        return;
      }
      this.progressBox.hidden = false;
      this.say("");
      this.url = localStorage.getItem(this.key(file));
      this.running = true;
      await this.run();
    }

    async run() {
      if (this.active) return;  // one loop at a time, whatever the buttons and events say
      this.active = true;
      try {
        if (this.url) {
          const head = await request("HEAD", this.url);
          if (head.status === 200) {
            this.offset = Number(head.getResponseHeader("Upload-Offset"));
            const finished = head.getResponseHeader("Lms-Media-Id");
            if (finished) return this.done(finished);
            if (this.offset > 0) this.say(fill(this.d.msgResumed, { percent: `${Math.floor((100 * this.offset) / this.file.size)}%` }));
          } else if (head.status === 401) {
            return this.fail(serverMessage(head));
          } else if (TRANSIENT.has(head.status)) {
            return this.retryLater(head);
          } else {
            this.url = null;  // expired or gone: start over
          }
        }
        if (!this.url) {
          const meta = [["filename", this.file.name], ["filetype", this.file.type || ""], ["course", this.d.course], ["purpose", this.d.purpose]]
            .map(([k, v]) => `${k} ${b64(v)}`).join(",");
          const created = await request("POST", this.d.endpoint, { "Upload-Length": String(this.file.size), "Upload-Metadata": meta });
          if (TRANSIENT.has(created.status)) return this.retryLater(created);
          if (created.status !== 201) return this.fail(serverMessage(created));
          this.url = new URL(created.getResponseHeader("Location"), location.href).href;
          localStorage.setItem(this.key(this.file), this.url);
          this.offset = 0;
        }
        // Until the server names the stored file; at the end an empty PATCH asks it to finish.
        for (;;) {
          if (this.paused) { this.running = false; return; }
          const end = Math.min(this.offset + CHUNK, this.file.size);
          const base = this.offset;
          const patch = await request("PATCH", this.url,
            { "Upload-Offset": String(base), "Content-Type": "application/offset+octet-stream" },
            this.file.slice(base, end), (loaded) => this.show(base + loaded));
          if (patch.status === 204) {
            this.offset = Number(patch.getResponseHeader("Upload-Offset"));
            this.show(this.offset);
            const mediaId = patch.getResponseHeader("Lms-Media-Id");
            if (mediaId) return this.done(mediaId);
            if (this.offset <= base) return this.retryLater(patch);  // nothing was taken: pause, then ask again
            this.attempt = 0;
          } else if (patch.status === 409) {
            // The server says where its file ends: carry on from there. Saying it again and
            // again without progress counts as a failed try, so this can never spin.
            const told = patch.getResponseHeader("Upload-Offset");
            if (told === null || Number(told) === base) return this.retryLater(patch);
            this.offset = Number(told);
            if (this.attempt++ >= this.retryMax()) return this.giveUp();
          } else if (TRANSIENT.has(patch.status)) {
            return this.retryLater(patch);
          } else {
            return this.fail(serverMessage(patch));
          }
        }
      } catch (error) {
        this.retryLater();
      } finally {
        this.active = false;
      }
    }

    retryMax() {
      return Number(this.d.retryMax || RETRY_MAX);
    }

    // Wait, then try again: exponential with jitter (half the step fixed, half random), or the
    // server's Retry-After if longer. After retryMax() failed tries in a row, stop.
    retryLater(response = null) {
      if (this.attempt >= this.retryMax()) return this.giveUp();
      this.attempt += 1;
      this.waiting = true;
      this.say(response ? this.d.msgRetrying : this.d.msgOffline, true);
      const step = Math.min(RETRY_CAP_MS, Number(this.d.retryBaseMs || RETRY_BASE_MS) * 2 ** (this.attempt - 1));
      const told = response ? Number(response.getResponseHeader("Retry-After")) * 1000 : 0;
      const delay = Math.max(step / 2 + Math.random() * (step / 2), Number.isFinite(told) ? Math.min(told, RETRY_CAP_MS) : 0);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.resume({ fresh: false }), delay);
    }

    giveUp() {
      clearTimeout(this.timer);
      this.waiting = false;
      this.stalled = true;  // still unfinished: forms keep waiting, Continue starts again
      this.pauseButton.hidden = true;
      this.resumeButton.hidden = false;
      this.say(fill(this.d.msgGaveUp, { tries: String(this.attempt + 1) }), true);
      this.attempt = 0;
    }

    resume({ fresh = true } = {}) {
      clearTimeout(this.timer);
      if (fresh) this.attempt = 0;  // a person (or the network coming back) asks again: a new round
      this.waiting = false;
      this.stalled = false;
      this.paused = false;
      this.pauseButton.hidden = false;
      this.resumeButton.hidden = true;
      if (fresh) this.say("");
      if (this.file) { this.running = true; this.run(); }
    }

    pause() {
      clearTimeout(this.timer);  // a pending automatic try must not undo the pause
      this.waiting = false;
      this.paused = true;
      this.pauseButton.hidden = true;
      this.resumeButton.hidden = false;
    }

    async cancel() {
      this.paused = true;
      this.cancelled = true;
      this.running = false;
      clearTimeout(this.timer);
      if (this.url) {
        try { await request("DELETE", this.url); } catch { /* offline: it expires by itself */ }
      }
      if (this.file) localStorage.removeItem(this.key(this.file));
      this.url = null;
      this.progressBox.hidden = true;
      this.input.value = "";
      this.say("");
      if (this.multiple) {
        for (const entry of [{ item: this.item }, ...this.queue]) entry.item?.remove();
        this.queue = [];
        this.item = null;
      }
    }

    show(sent) {
      const percent = this.file.size ? Math.floor((100 * sent) / this.file.size) : 100;
      this.bar.value = percent;
      this.numbers.textContent = `${sizeText(sent)} / ${sizeText(this.file.size)} · ${percent}%`;
    }

    fail(reason) {
      this.running = false;
      localStorage.removeItem(this.key(this.file));
      this.progressBox.hidden = true;
      this.input.value = "";
      this.say(fill(this.d.msgFailed, { reason }), true);
      if (this.multiple) this.skip(fill(this.d.msgFailed, { reason }));
    }

    skip(message) {
      this.itemSay(this.item, message, true);
      this.finishItem(this.item, "");
      this.item = null;
      this.next();
    }

    done(mediaId) {
      this.running = false;
      localStorage.removeItem(this.key(this.file));
      this.progressBox.hidden = true;
      if (this.multiple) {
        if (this.target) this.target.value = [...this.ids().filter((id) => id !== mediaId), mediaId].join(",");
        const item = this.item;
        this.item = null;
        this.finishItem(item, mediaId);
        this.itemSay(item, this.d.msgDone);
        this.say("");
        this.poll(mediaId, (text, isError) => this.itemSay(item, text, isError));
        this.next();
        return;
      }
      if (this.target) {
        this.target.value = mediaId;
        const insertInto = this.target.dataset.insertInto && document.getElementById(this.target.dataset.insertInto);
        if (insertInto) {
          const snippet = `\n![${this.file.name.replace(/[\[\]]/g, "")}](/media/${mediaId}/original)\n`;
          const at = insertInto.selectionStart ?? insertInto.value.length;
          insertInto.value = insertInto.value.slice(0, at) + snippet + insertInto.value.slice(at);
        }
      }
      this.say(this.d.msgDone);
      this.poll(mediaId);
    }

    async poll(mediaId, report = (text, isError) => this.say(text, isError)) {
      const url = this.d.statusUrl.replace("ID", mediaId);
      for (let i = 0; i < 600; i++) {
        try {
          const response = await fetch(url, { headers: { Accept: "application/json" } });
          if (response.ok) {
            const media = await response.json();
            if (media.status === "ready") return report(`${media.filename} · ${this.d.msgReady}`);
            if (media.status === "failed") return report(`${media.filename} · ${media.status_label}: ${media.failure}`, true);
            const pct = media.status === "processing" ? ` ${Math.round(media.progress * 100)}%` : "";
            report(`${media.filename} · ${media.status_label}${pct}${media.note ? ` · ${media.note}` : ""}`);
          }
        } catch { /* offline for a moment: keep polling */ }
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-upload]").forEach((root) => {
      if (root.dataset.uploadReady) return;  // the script may be on a page twice
      root.dataset.uploadReady = "1";
      const upload = new Upload(root);
      uploads.push(upload);
      // A file still being processed when the page opened: follow it (a restart after a dead worker shows too).
      if (root.dataset.poll) upload.poll(root.dataset.poll);
    });
    document.querySelectorAll("form[data-wait-uploads]").forEach((form) => {
      if (form.dataset.waitReady) return;
      form.dataset.waitReady = "1";
      form.addEventListener("submit", (event) => {
        if (!uploads.some((upload) => form.contains(upload.root) && upload.busy())) return;
        event.preventDefault();
        const message = form.querySelector("[data-wait-message]");
        if (message) {
          message.textContent = form.dataset.msgWait || "";
          message.hidden = false;
          message.scrollIntoView({ block: "center" });
        }
      });
    });
  });
})();
