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
