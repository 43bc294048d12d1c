// The order page follows a running order: every 2 s it asks the server for the freshly drawn
// status part and puts it in place, until the order reaches a final status. Without
// JavaScript the page simply shows the status as it was when loaded.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var live = document.getElementById("live");
  if (!live || !live.getAttribute("data-live")) { return; }
  var url = live.getAttribute("data-live");
  function refresh() {
    if (live.contains(document.activeElement) && document.activeElement !== document.body) {
      window.setTimeout(refresh, 2000);  // never pull a focused button from under the keyboard
      return;
    }
    fetch(url, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) { live.innerHTML = html; }
        var part = live.querySelector("[data-final]");
        if (!part || part.getAttribute("data-final") !== "yes") { window.setTimeout(refresh, 2000); }
      })
      .catch(function () { window.setTimeout(refresh, 2000); });
  }
  window.setTimeout(refresh, 2000);
});
