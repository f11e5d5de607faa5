// The dashboard's only script (served from the binary, CSP script-src 'self'). Every page
// works without it; it adds copy buttons, JSON checks in editors, the branding preview and
// the live log tail.
"use strict";

function copyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      await navigator.clipboard.writeText(source.textContent.trim());
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
}

// The skip link's target takes focus, so screen readers follow it too (without the script the
// browser still starts the next Tab there).
function skipTarget() {
  const main = document.getElementById("main");
  if (main && !main.hasAttribute("tabindex")) main.tabIndex = -1;
}

function jsonEditors() {
  for (const area of document.querySelectorAll("textarea.json")) {
    const note = document.createElement("p");
    note.className = "hint";
    note.setAttribute("aria-live", "polite");
    area.after(note);
    const check = () => {
      try {
        if (area.value.trim()) JSON.parse(area.value);
        note.textContent = "";
        area.setCustomValidity("");
      } catch (e) {
        note.textContent = "Not valid JSON: " + e.message;
        area.setCustomValidity("Not valid JSON");
      }
    };
    area.addEventListener("input", check);
    check();
  }
}

function brandingPreview() {
  const preview = document.getElementById("preview");
  if (!preview) return;
  for (const input of document.querySelectorAll("[data-preview]")) {
    const apply = () => {
      const target = preview.querySelectorAll("[data-role='" + input.dataset.preview + "']");
      for (const node of target) {
        if (node.tagName === "text") node.textContent = input.value;
        else if (/^#[0-9a-fA-F]{3,8}$/.test(input.value)) node.setAttribute("fill", input.value);
      }
    };
    input.addEventListener("input", apply);
  }
}

function liveTail() {
  const toggle = document.getElementById("tail");
  const body = document.getElementById("log-rows");
  if (!toggle || !body) return;
  toggle.hidden = false;
  let timer = null;
  let newest = body.dataset.newest || "";
  const poll = async () => {
    const url = "/admin/logs/feed" + (newest ? "?from=" + encodeURIComponent(newest) : "");
    const answer = await fetch(url, { credentials: "same-origin" });
    if (!answer.ok) return;
    const events = await answer.json();
    for (const e of events) {
      const row = document.createElement("tr");
      for (const value of [e.date, e.type, e.description, e.user, e.client]) {
        const cell = document.createElement("td");
        cell.textContent = value || "";
        row.appendChild(cell);
      }
      body.prepend(row);
      newest = e.log_id;
    }
  };
  toggle.addEventListener("click", () => {
    if (timer) {
      clearInterval(timer);
      timer = null;
      toggle.textContent = "Start live tail";
      toggle.setAttribute("aria-pressed", "false");
    } else {
      poll();
      timer = setInterval(poll, 2000);
      toggle.textContent = "Stop live tail";
      toggle.setAttribute("aria-pressed", "true");
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  skipTarget();
  copyButtons();
  jsonEditors();
  brandingPreview();
  liveTail();
});
