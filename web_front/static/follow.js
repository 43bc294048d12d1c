// Follows a changing part of a page: an element with data-follow="<url>" re-fetches that
// server-rendered fragment every 1.5 s and shows it when it changed, until the fragment says
// data-final (a payment's result, an order's saga outcome, a credited top-up).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-follow]").forEach(function (box) {
    var url = box.getAttribute("data-follow");
    var last = box.innerHTML;
    var rounds = 0;
    function finished() {
      return box.querySelector("[data-final]") !== null || rounds > 800;
    }
    function tick() {
      if (finished()) return;
      rounds += 1;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) {
            last = html;
            box.innerHTML = html;
          }
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { window.setTimeout(tick, 1500); });
    }
    window.setTimeout(tick, 1500);
  });
});
