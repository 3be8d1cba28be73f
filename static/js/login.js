// Làng Số login and activation forms that ride out a busy server.
//
// When a whole class logs in at once the server may answer 503 with Retry-After ("many people
// are logging in, try again in N seconds"). The form is sent in the background so that what
// was typed, the password too, stays in the page: the wait is counted down on screen and the
// form is sent again by itself, a bounded number of times, then the person decides. Any other
// answer is shown as a normal submission would show it: a redirect opens the next page, a form
// with errors replaces the page's content. Without this script the form posts as usual and the
// server's 503 page keeps the typed phone.
"use strict";

(() => {
  //: Automatic tries after the first 503; then the button is the way to try again.
  const AUTOMATIC_TRIES = 5;
  const fill = (template, seconds) => template.replace("{seconds}", String(seconds));

  // Where the server sends a successful login: the same rule as its _safe_next().
  function nextPage() {
    const next = new URLSearchParams(location.search).get("next");
    if (next && next.startsWith("/") && !next.startsWith("//") && !next.includes("\\")) return next;
    return "/";
  }

  function retryAfter(response) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    return Number.isFinite(seconds) ? Math.min(120, Math.max(1, seconds)) : 5;
  }

  function setUp(form) {
    if (form.dataset.busyReady) return;
    form.dataset.busyReady = "1";
    const message = form.querySelector("[data-busy-message]");
    const button = form.querySelector("button[type=submit]");
    let tries = 0;
    let timer = null;
    let sending = false;

    const say = (text) => {
      message.textContent = text;
      message.hidden = !text;
    };

    const ready = () => Array.from(form.querySelectorAll("input[required], input[type=password], input[type=tel]"))
      .every((input) => input.value.trim() !== "");

    function countDown(seconds, then) {
      clearInterval(timer);
      let left = seconds;
      say(fill(form.dataset.msgBusy, left));
      timer = setInterval(() => {
        left -= 1;
        if (left > 0) return say(fill(form.dataset.msgBusy, left));
        clearInterval(timer);
        timer = null;
        // Up to a second more, so a class turned away together does not come back together.
        setTimeout(then, Math.random() * 1000);
      }, 1000);
    }

    function busy(seconds) {
      tries += 1;
      if (tries > AUTOMATIC_TRIES) {
        tries = 0;
        say(form.dataset.msgBusyStop);
        return;
      }
      countDown(seconds, send);
    }

    function showPage(html) {
      const page = new DOMParser().parseFromString(html, "text/html");
      const main = page.querySelector("main");
      if (!main) return void form.submit();
      document.title = page.title;
      const current = document.querySelector("main");
      current.innerHTML = main.innerHTML;
      current.querySelectorAll("form[data-busy-retry]").forEach(setUp);
      current.focus();  // the button that had focus is gone; the new message is read from here
    }

    async function send() {
      if (sending) return;
      clearInterval(timer);
      timer = null;
      sending = true;
      button.disabled = true;
      let response;
      try {
        response = await fetch(form.action, {
          method: "POST",
          body: new URLSearchParams(new FormData(form)),
          credentials: "same-origin",
          redirect: "manual",
          headers: { Accept: "text/html" },
        });
      } catch {
        // No answer at all (offline, a proxy in the way): let the browser send it and say why.
        form.submit();
        return;
      } finally {
        sending = false;
        button.disabled = false;
      }
      if (response.type === "opaqueredirect") return void location.replace(nextPage());
      if (response.status === 503) return void busy(retryAfter(response));
      tries = 0;
      showPage(await response.text());
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });

    // The server's own 503 page (this script missed the first answer): count down, then send
    // again by itself if the password is still there (the browser's password manager may fill it).
    const waited = Number(form.dataset.busyRetryAfter || 0);
    if (waited > 0) countDown(waited, () => (ready() ? send() : say("")));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-busy-retry]").forEach(setUp);
  });
})();
