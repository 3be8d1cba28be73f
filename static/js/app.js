// Làng Số: small progressive enhancements; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Province → commune picker: reload the commune list when the province changes.
  document.querySelectorAll(".place-picker").forEach((picker) => {
    const province = picker.querySelector("[data-role=province]");
    const commune = picker.querySelector("[data-role=commune]");
    if (!province || !commune) return;
    const urlTemplate = picker.dataset.communesUrl;
    province.addEventListener("change", async () => {
      const url = urlTemplate.replace(/\/0\/communes$/, `/${province.value}/communes`);
      commune.disabled = true;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(response.statusText);
        const communes = await response.json();
        const placeholder = commune.options[0];
        commune.replaceChildren(placeholder);
        for (const item of communes) commune.add(new Option(item.name, item.code));
        commune.value = "0";
      } catch (error) {
        // Keep the old list; the server checks the pair and explains a mismatch.
      } finally {
        commune.disabled = false;
      }
    });
  });

  // After an action the page comes back at the part that changed (#anchor), below the top where the
  // messages are: show them there too, where the eye is.
  const flashes = [...document.querySelectorAll("main > .flash")];
  const target = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  if (flashes.length && target && target !== document.getElementById("main")) {
    target.prepend(...flashes);
    target.scrollIntoView({ block: "start" });
  }

  // The offline banner: filled while the phone has no network, emptied when it is back. It stays in
  // the page (empty) so that screen readers announce it as a live region when it fills. The offline
  // page is proof enough: a signal that says "connected" but carries nothing leaves onLine true.
  const banner = document.querySelector("[data-offline-banner]");
  const offlinePage = document.querySelector("[data-offline-page]");
  if (banner) {
    const showConnection = () => { banner.textContent = navigator.onLine && !offlinePage ? "" : banner.dataset.message; };
    window.addEventListener("offline", showConnection);
    window.addEventListener("online", showConnection);
    showConnection();
  }

  // The offline page stands in for the page that was asked for, at its address: trying again
  // (or the network coming back) loads that page. "online" can come before the site answers (the
  // phone has a signal, not yet a route): reload once a small request gets through, or the page
  // would only be the offline page again.
  if (offlinePage) {
    document.querySelectorAll("[data-retry]").forEach((button) => button.addEventListener("click", () => location.reload()));
    const reloadWhenReachable = async (tries) => {
      try {
        await fetch(offlinePage.dataset.probeUrl, { method: "HEAD", cache: "no-store" });
        location.reload();
      } catch {
        if (tries > 1) setTimeout(() => reloadWhenReachable(tries - 1), 2000);
      }
    };
    window.addEventListener("online", () => reloadWhenReachable(5));
  }

  // Close the menu when tapping outside it.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
});

// The service worker keeps the app shell and the offline page (templates/pwa/sw.js). Registered once
// the page has loaded, so that a first visit on a slow line spends it on the page first. Browsers
// without it, and plain-HTTP sites (no secure context), work as before.
if ("serviceWorker" in navigator && document.body.dataset.serviceWorker) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register(document.body.dataset.serviceWorker, { scope: "/" }).catch(() => {
      // Not installed (private mode, storage full): the site works as before, online only.
    });
  });
}
