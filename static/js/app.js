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

  // Close the menu when tapping outside it.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
});
