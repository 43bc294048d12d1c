// "Оформить заказ" (001 §1 scenario 5): only the chosen way of delivery is shown; the
// courier's price is asked for as soon as the address and the company are known; "Оплатить
// заказ" is enabled once a pickup point is chosen or the price is confirmed. Without
// JavaScript every section stays visible and the server checks the same rules.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("checkout");
  if (!form) { return; }
  var pay = document.getElementById("pay");
  var quote = document.getElementById("quote");
  var address = form.elements.namedItem("address");
  var company = form.elements.namedItem("courierCompany");
  var submitted = false;
  // what the shown price is for: a late "change" of an untouched field must not ask again
  // (and so uncheck the confirmation the person has just given)
  var quotedFor = form.querySelector("input[name=quoteId]") ? address.value.trim() + "|" + company.value : "";

  function chosen(name) {
    var checked = form.querySelector("input[name=" + name + "]:checked");
    return checked ? checked.value : "";
  }

  function ready() {
    var delivery = chosen("delivery");
    if (delivery === "pickup") { return chosen("pointId") !== ""; }
    if (delivery === "courier") {
      var confirm = form.querySelector("input[name=confirmCost]");
      return Boolean(form.querySelector("input[name=quoteId]") && confirm && confirm.checked);
    }
    return false;
  }

  function update() {
    var delivery = chosen("delivery");
    form.querySelectorAll("[data-delivery]").forEach(function (section) {
      section.hidden = section.getAttribute("data-delivery") !== delivery;
    });
    pay.disabled = submitted || !ready();
  }

  function askQuote() {
    var wanted = address.value.trim() + "|" + company.value;
    if (wanted === quotedFor) { return; }
    if (!address.value.trim() || !company.value) {
      quotedFor = "";
      quote.textContent = "";
      update();
      return;
    }
    quotedFor = wanted;
    var data = new FormData(form);
    data.delete("quoteId");
    data.delete("cost");
    data.delete("confirmCost");
    fetch("/checkout/quote", {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) { return response.text(); })
      .then(function (html) { quote.innerHTML = html; update(); })
      .catch(function () {
        quotedFor = "";
        quote.textContent = "Не удалось узнать стоимость: попробуйте ещё раз.";
      });
  }

  document.getElementById("ask-quote").addEventListener("click", function (event) {
    event.preventDefault();
    quotedFor = "";  // asked for on purpose: a fresh price
    askQuote();
  });
  address.addEventListener("change", askQuote);
  company.addEventListener("change", askQuote);
  form.addEventListener("change", update);
  form.addEventListener("submit", function (event) {
    if (submitted) { event.preventDefault(); return; }
    submitted = true;  // one order per click: the second click waits for the first
    window.setTimeout(update, 0);
  });
  update();
});
