// The class page's "select all on this page": ticks every trainee's box. Without this file the
// server reads the same box as "every trainee the page showed", so the page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-select-all]").forEach((all) => {
    const boxes = [...all.form.querySelectorAll("input[type=checkbox][name=member]")];
    all.addEventListener("change", () => {
      for (const box of boxes) box.checked = all.checked;
    });
    for (const box of boxes) {
      box.addEventListener("change", () => {
        all.checked = boxes.every((each) => each.checked);
      });
    }
  });
});
