// Tooltips show on hover and focus through CSS; this only adds Escape to dismiss them.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".tip-wrap:hover, .tip-wrap:focus-within").forEach(function (wrap) {
      wrap.classList.add("tip-dismissed");
    });
  });
  function reset(event) {
    var wrap = event.target.closest && event.target.closest(".tip-wrap");
    if (wrap) wrap.classList.remove("tip-dismissed");
  }
  document.addEventListener("focusin", reset);
  document.addEventListener("mouseover", function (event) {
    var wrap = event.target.closest && event.target.closest(".tip-wrap");
    if (wrap && !wrap.contains(event.relatedTarget)) wrap.classList.remove("tip-dismissed");
  });
  document.addEventListener("focusout", reset);
})();

// A section marked data-refresh="N" (a running campaign's page) replaces its
// content with the server's every N seconds, until the server stops marking it.
// It waits while focus is inside, so a keyboard user is never moved.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh][id]").forEach(function (section) {
    var delay = (Number(section.dataset.refresh) || 3) * 1000;
    function later(factor) {
      window.setTimeout(tick, delay * (factor || 1));
    }
    function tick() {
      if (section.contains(document.activeElement) && document.activeElement !== document.body) {
        return later();
      }
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (!fresh) return;
          section.innerHTML = fresh.innerHTML;
          if (fresh.hasAttribute("data-refresh")) later();
          else section.removeAttribute("data-refresh");
        })
        .catch(function () {
          later(4); // the server is busy or gone: ask again, less often
        });
    }
    later();
  });
})();
