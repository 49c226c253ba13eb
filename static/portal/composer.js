// The campaign composer: while you type, the server's check (counts, cost, a
// sample, warnings) replaces the panel beside the form, debounced. Without
// this script the "Preview" button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("composer-form");
  var panel = document.getElementById("composer-check");
  if (!form || !panel || !form.dataset.checkUrl) return;
  var DELAY = 300; // ms after the last keystroke
  var timer = null;
  var asked = 0;
  form.querySelectorAll("[data-no-js-only]").forEach(function (el) {
    el.hidden = true;
  });
  function refresh() {
    var mine = ++asked;
    panel.setAttribute("aria-busy", "true");
    fetch(form.dataset.checkUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (mine === asked) panel.innerHTML = html; // a slower, older answer never wins
      })
      .catch(function () {})
      .then(function () {
        if (mine === asked) panel.removeAttribute("aria-busy");
      });
  }
  function later(event) {
    if (event.target && event.target.name === "test_phone") return;
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, DELAY);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  var body = form.querySelector("#id_body");
  form.querySelectorAll("[data-insert]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!body) return;
      var text = button.dataset.insert;
      var start = body.selectionStart, end = body.selectionEnd;
      body.value = body.value.slice(0, start) + text + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + text.length;
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
  });
  // Enter in the test number sends the test, not the form's first button (Save).
  var phone = form.querySelector("#id_test_phone");
  var test = form.querySelector("button[name=_test]");
  if (phone && test) {
    phone.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        test.click();
      }
    });
  }
})();
