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
