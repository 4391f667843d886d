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
