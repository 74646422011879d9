// Gatehouse console: progressive enhancement only; every page works
// without this script. No inline script anywhere (CSP script-src 'self').
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // The org switcher switches on change as well as with its button.
  var sw = document.getElementById("org-switch");
  if (sw) {
    sw.addEventListener("change", function () { sw.form.submit(); });
  }
});

// The policy editor checks the text as it is typed: the server lints it
// (like POST /v1/orgs/{org}/policy/validate) and answers the rendered
// check section, which replaces the old one.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("policy-form");
  var text = document.getElementById("policy-text");
  var out = document.getElementById("lint");
  if (!form || !text || !out) { return; }
  var timer = null, seq = 0;
  function check() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("csrf", form.elements.csrf.value);
    body.set("text", text.value);
    fetch(form.dataset.lint, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null && mine === seq) { out.innerHTML = html; } })
      .catch(function () {});
  }
  text.addEventListener("input", function () {
    // An impact shown is the checked text's: say so once the text moves on.
    var entries = document.getElementById("impact-summary");
    if (entries) { entries.textContent = "The text changed since this impact was computed: press Check again."; var tb = document.getElementById("impact-entries"); if (tb) { tb.remove(); } }
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
});
