// Relay's small page script: progressive enhancements only; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Forms that ask before they act (data-confirm="..."): a second chance for a destructive click.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // A file input that fills a text box (data-fills="id"): the browser reads the file, the form
  // sends its text (a CSV of labels), so the page needs no upload endpoint.
  for (const input of document.querySelectorAll("input[type=file][data-fills]")) {
    input.addEventListener("change", async () => {
      const file = input.files && input.files[0];
      if (file) document.getElementById(input.dataset.fills).value = await file.text();
    });
  }
  // "Select all" boxes for a group of checkboxes (data-select-all="name").
  for (const box of document.querySelectorAll("input[data-select-all]")) {
    box.addEventListener("change", () => {
      for (const other of document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`)) {
        other.checked = box.checked;
      }
    });
  }
});
// Legend swatches take their run's colour from data-color (no inline style attributes: CSP).
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-color]")) el.style.color = el.dataset.color;
});
// Live panels (data-live="url"): fetched again every 30 s while the page is visible, replaced
// in place; a failed fetch leaves the last numbers and says so (a signed-out session included).
document.addEventListener("DOMContentLoaded", () => {
  for (const panel of document.querySelectorAll("[data-live]")) {
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const response = await fetch(panel.dataset.live, { credentials: "same-origin", redirect: "error" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        panel.innerHTML = await response.text();
      } catch (error) {
        let note = panel.querySelector(".live-stale");
        if (!note) {
          note = document.createElement("p");
          note.className = "warning live-stale";
          panel.prepend(note);
        }
        note.textContent = "Could not refresh (" + error.message + "); these are the last numbers read. Reload the page to sign in again if your session ended.";
      }
    };
    window.setInterval(refresh, 30000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  }
});
