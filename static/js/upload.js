// Làng Số resumable uploads: a small tus 1.0 client (creation, PATCH, HEAD, termination).
// Survives dropped connections (retries with back-off, resumes on "online") and page
// reloads (the upload address is remembered per file, so picking the same file again
// continues from the server's offset).
"use strict";

(() => {
  const CHUNK = 5 * 1024 * 1024;
  const TUS = "1.0.0";
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

  const serverMessage = (xhr) => {
    try { return JSON.parse(xhr.responseText).error || xhr.statusText; } catch { return xhr.statusText || String(xhr.status); }
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
      this.input.addEventListener("change", () => this.input.files[0] && this.start(this.input.files[0]));
      this.pauseButton.addEventListener("click", () => this.pause());
      this.resumeButton.addEventListener("click", () => this.resume());
      this.cancelButton.addEventListener("click", () => this.cancel());
      window.addEventListener("online", () => this.waiting && this.resume());
      window.addEventListener("beforeunload", (e) => { if (this.running) { e.preventDefault(); e.returnValue = ""; } });
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
      this.attempt = 0;
      const max = Number(this.d.maxBytes);
      if (file.size > max) {
        this.say(fill(this.d.msgTooLarge, { size: sizeText(file.size) }), true);
        this.input.value = "";
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
            if (this.offset > 0) this.say(fill(this.d.msgResumed, { percent: `${Math.floor((100 * this.offset) / this.file.size)}%` }));
          } else if ([401].includes(head.status)) {
            return this.fail(serverMessage(head));
          } else {
            this.url = null;  // expired or gone: start over
          }
        }
        if (!this.url) {
          const meta = [["filename", this.file.name], ["filetype", this.file.type || ""], ["course", this.d.course], ["purpose", this.d.purpose]]
            .map(([k, v]) => `${k} ${b64(v)}`).join(",");
          const created = await request("POST", this.d.endpoint, { "Upload-Length": String(this.file.size), "Upload-Metadata": meta });
          if (created.status !== 201) return this.fail(serverMessage(created));
          this.url = new URL(created.getResponseHeader("Location"), location.href).href;
          localStorage.setItem(this.key(this.file), this.url);
          this.offset = 0;
        }
        while (this.offset < this.file.size) {
          if (this.paused) { this.running = false; return; }
          const end = Math.min(this.offset + CHUNK, this.file.size);
          const base = this.offset;
          const patch = await request("PATCH", this.url,
            { "Upload-Offset": String(base), "Content-Type": "application/offset+octet-stream" },
            this.file.slice(base, end), (loaded) => this.show(base + loaded));
          if (patch.status === 204) {
            this.offset = Number(patch.getResponseHeader("Upload-Offset"));
            this.attempt = 0;
            this.show(this.offset);
            const mediaId = patch.getResponseHeader("Lms-Media-Id");
            if (mediaId) return this.done(mediaId);
          } else if (patch.status === 409) {
            const head = await request("HEAD", this.url);
            this.offset = Number(head.getResponseHeader("Upload-Offset"));
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

    retryLater() {
      this.waiting = true;
      this.say(this.d.msgOffline, true);
      const delay = Math.min(30000, 1000 * 2 ** this.attempt++);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.resume(), delay);
    }

    resume() {
      clearTimeout(this.timer);
      this.waiting = false;
      this.paused = false;
      this.pauseButton.hidden = false;
      this.resumeButton.hidden = true;
      this.say("");
      if (this.file) { this.running = true; this.run(); }
    }

    pause() {
      this.paused = true;
      this.pauseButton.hidden = true;
      this.resumeButton.hidden = false;
    }

    async cancel() {
      this.paused = true;
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
    }

    done(mediaId) {
      this.running = false;
      localStorage.removeItem(this.key(this.file));
      this.progressBox.hidden = true;
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

    async poll(mediaId) {
      const url = this.d.statusUrl.replace("ID", mediaId);
      for (let i = 0; i < 600; i++) {
        try {
          const response = await fetch(url, { headers: { Accept: "application/json" } });
          if (response.ok) {
            const media = await response.json();
            if (media.status === "ready") return this.say(`${media.filename} · ${this.d.msgReady}`);
            if (media.status === "failed") return this.say(`${media.filename} · ${media.status_label}: ${media.failure}`, true);
            const pct = media.status === "processing" ? ` ${Math.round(media.progress * 100)}%` : "";
            this.say(`${media.filename} · ${media.status_label}${pct}`);
          }
        } catch { /* offline for a moment: keep polling */ }
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-upload]").forEach((root) => new Upload(root));
  });
})();
