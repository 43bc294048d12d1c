// A form marked data-complete-enables keeps its submit button disabled until every required
// field has something in it (001: the "register" button becomes active once the form is
// filled). Without JavaScript the button simply stays enabled and the server checks.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-complete-enables]").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var fields = form.querySelectorAll("input[required], select[required], textarea[required]");
    function update() {
      var complete = Array.prototype.every.call(fields, function (f) {
        return f.value.trim() !== "";
      });
      button.disabled = !complete;
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  });
});
