// Casefile's only script, loaded by every page (no inline script, so the
// CSP stays 'self'). Everything works without it; it only adds comfort.
"use strict";

document.addEventListener("click", (ev) => {
  // Wellness: reveal (or veil again) one evidence item.
  const btn = ev.target.closest("button[data-reveal]");
  if (!btn) return;
  const media = document.getElementById(btn.dataset.reveal);
  if (!media) return;
  const veiled = media.classList.toggle("veiled");
  btn.textContent = veiled ? "Reveal" : "Hide again";
  btn.setAttribute("aria-pressed", String(!veiled));
});

// Keyboard shortcuts declared by the page: <button data-key="a">. They
// never fire while typing in a field.
document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  const el = document.querySelector(`[data-key="${CSS.escape(ev.key)}"]`);
  if (!el) return;
  ev.preventDefault();
  if (el.tagName === "INPUT" && (el.type === "radio" || el.type === "checkbox")) {
    el.checked = true;
    el.focus();
  } else {
    el.click();
  }
});
