// Admin portal: copy buttons for values shown once (passcodes, secrets),
// the print button of a new hire's handout, the time zone of a pass's
// start,
// a name filter for the policy pages' group lists, and the target lists
// shown only when a policy applies to chosen users and groups.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        button.textContent = "Copied";
      } catch {
        // No clipboard permission: select the text so Ctrl+C works.
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.textContent = "Press Ctrl+C to copy";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }

  // The print button of a handout (hidden without script: the browser's
  // own print prints the same handout).
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }

  // A start time typed in the browser's zone: the form says which, and
  // sends the offset (minutes east of UTC) so the server reads it right.
  for (const offset of document.querySelectorAll("input[data-zone-offset]")) {
    const minutes = -new Date().getTimezoneOffset();
    offset.value = String(minutes);
    const hint = offset.form?.querySelector("[data-zone-hint]");
    if (hint) {
      const sign = minutes < 0 ? "-" : "+";
      const abs = Math.abs(minutes);
      const hh = String(Math.floor(abs / 60)).padStart(2, "0");
      const mm = String(abs % 60).padStart(2, "0");
      hint.textContent = `Start time in your time zone (UTC${sign}${hh}:${mm}).`;
    }
  }

  // A search box above each group list: hides the groups whose name does
  // not contain what is typed (checked ones stay, so a choice never hides).
  let n = 0;
  for (const list of document.querySelectorAll(".picklist[data-filter]")) {
    n += 1;
    const label = document.createElement("label");
    label.htmlFor = `picklist-filter-${n}`;
    label.textContent = list.dataset.filter;
    label.className = "small";
    const input = document.createElement("input");
    input.type = "search";
    input.id = label.htmlFor;
    input.autocomplete = "off";
    list.before(label, input);
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      for (const item of list.querySelectorAll("label")) {
        const box = item.querySelector("input");
        const match = !needle || item.textContent.toLowerCase().includes(needle);
        item.hidden = !match && !box.checked;
      }
    });
  }

  // <div data-when="include_all=no">: shown only while that radio is chosen.
  for (const part of document.querySelectorAll("[data-when]")) {
    const [name, value] = part.dataset.when.split("=");
    const form = part.closest("form");
    if (!form) continue;
    const radios = form.querySelectorAll(`input[type=radio][name="${name}"]`);
    const update = () => {
      const chosen = [...radios].find((r) => r.checked);
      part.hidden = !chosen || chosen.value !== value;
    };
    for (const r of radios) r.addEventListener("change", update);
    update();
  }
});
