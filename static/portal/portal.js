// Tooltips and info bubbles live in the popover top layer, so no scroll box or
// table clips them (ARCHITECTURE 6). A trigger names its tip with
// aria-describedby; the tip has role="tooltip" and popover="manual". It opens
// on hover and on keyboard focus next to its trigger, inside the viewport, and
// closes on Escape or when pointer and focus have left. A click pins it open
// (touch screens); a click elsewhere unpins it. Any other popover opened by a
// popovertarget button (the dashboard's help) is placed next to its button.
(function () {
  "use strict";
  if (!HTMLElement.prototype.showPopover) return; // the CSS hover fallback shows them
  var GAP = 6;
  var MARGIN = 8;
  var HIDE_DELAY = 150; // ms: time to move the pointer from a trigger onto its tip
  var hideTimer = null;

  function tipFor(trigger) {
    var id = trigger.getAttribute("aria-describedby");
    var tip = id && document.getElementById(id);
    return tip && tip.getAttribute("role") === "tooltip" && tip.hasAttribute("popover") ? tip : null;
  }
  function triggerOf(node) {
    var trigger = node && node.closest && node.closest("[aria-describedby]");
    return trigger && tipFor(trigger) ? trigger : null;
  }
  function isOpen(tip) {
    return tip.matches(":popover-open");
  }
  function place(tip, anchor) {
    var view = document.documentElement;
    var box = anchor.getBoundingClientRect();
    var below = view.clientHeight - box.bottom - GAP - MARGIN;
    var above = box.top - GAP - MARGIN;
    tip.style.maxHeight = "none";
    tip.style.left = tip.style.top = "0px"; // measure it unwrapped by the edge
    var width = tip.offsetWidth;
    var height = tip.offsetHeight;
    // Below the anchor, left edges aligned; above when only above has room;
    // taller than both: on the roomier side, scrolling inside.
    var downwards = height <= below || (height > above && below >= above);
    if (height > Math.max(below, above)) {
      tip.style.maxHeight = Math.max(below, above) + "px";
      height = tip.offsetHeight;
    }
    var left = Math.min(Math.max(MARGIN, box.left), view.clientWidth - width - MARGIN);
    tip.style.left = Math.max(MARGIN, left) + "px";
    tip.style.top = (downwards ? box.bottom + GAP : box.top - GAP - height) + "px";
  }
  function hideAll(except) {
    document.querySelectorAll('[role="tooltip"][popover]').forEach(function (tip) {
      if (tip !== except && isOpen(tip)) {
        tip.hidePopover();
        delete tip.dataset.pinned;
      }
    });
  }
  function show(trigger) {
    var tip = tipFor(trigger);
    window.clearTimeout(hideTimer);
    hideAll(tip);
    if (!isOpen(tip)) tip.showPopover();
    place(tip, trigger);
  }
  function hideSoon() {
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(function () {
      document.querySelectorAll('[role="tooltip"][popover]').forEach(function (tip) {
        if (!isOpen(tip) || tip.dataset.pinned || tip.matches(":hover")) return;
        var trigger = document.querySelector('[aria-describedby="' + tip.id + '"]');
        if (trigger && (trigger.matches(":hover") || trigger === document.activeElement)) return;
        tip.hidePopover();
      });
    }, HIDE_DELAY);
  }

  document.addEventListener("mouseover", function (event) {
    var trigger = triggerOf(event.target);
    if (trigger) show(trigger);
    else if (!(event.target.closest && event.target.closest('[role="tooltip"]'))) hideSoon();
  });
  document.addEventListener("focusin", function (event) {
    var trigger = triggerOf(event.target);
    if (trigger) show(trigger);
  });
  document.addEventListener("focusout", hideSoon);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hideAll(null);
  });
  document.addEventListener("click", function (event) {
    var trigger = triggerOf(event.target);
    if (trigger && trigger.hasAttribute("popovertarget")) {
      event.preventDefault(); // the native toggle would close what focus just opened
      show(trigger);
      tipFor(trigger).dataset.pinned = "1";
    } else if (!(event.target.closest && event.target.closest('[role="tooltip"]'))) {
      hideAll(null);
    }
  });
  // A scroll (the page's or a table's) moves the anchor: the open tip follows.
  document.addEventListener(
    "scroll",
    function () {
      document.querySelectorAll('[role="tooltip"][popover]').forEach(function (tip) {
        var trigger = isOpen(tip) && document.querySelector('[aria-describedby="' + tip.id + '"]');
        if (trigger) place(tip, trigger);
      });
    },
    true
  );
  document.addEventListener(
    "toggle",
    function (event) {
      var pop = event.target;
      if (event.newState !== "open" || pop.getAttribute("role") === "tooltip") return;
      var invoker = document.querySelector('[popovertarget="' + pop.id + '"]');
      if (invoker) place(pop, invoker);
    },
    true
  );
})();

// A section marked data-refresh="N" (a running campaign's page, the dashboard's
// Bulk Sequences while a campaign runs) replaces its content with the server's
// every N seconds, until the server stops marking it. It waits while focus or
// an open tooltip is inside, so a keyboard user is never moved.
(function () {
  "use strict";
  document.querySelectorAll("[data-refresh][id]").forEach(function (section) {
    var delay = (Number(section.dataset.refresh) || 3) * 1000;
    function later(factor) {
      window.setTimeout(tick, delay * (factor || 1));
    }
    function busy() {
      var focused = document.activeElement;
      if (focused && focused !== document.body && section.contains(focused)) return true;
      try {
        return section.querySelector(":popover-open") !== null;
      } catch (error) {
        return false; // no popover support: nothing can be open
      }
    }
    function tick() {
      if (busy()) return later();
      fetch(window.location.href, { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (!fresh) return;
          if (busy()) return later(); // the user arrived while the page was fetched
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

// The reply box: characters and segments while you type, by the rule of
// messaging/segments.py (its GSM-7 characters come from the page).
(function () {
  "use strict";
  var facts = document.getElementById("reply-facts");
  var box = document.querySelector(".reply-form textarea");
  if (!facts || !box) return;
  var basic = facts.dataset.gsm7 || "";
  var extension = facts.dataset.gsm7Extension || "";
  var out = facts.querySelector(".reply-count");
  function count() {
    var text = box.value;
    var gsm = true;
    var units = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charAt(i);
      if (extension.indexOf(c) >= 0) units += 2;
      else if (basic.indexOf(c) >= 0) units += 1;
      else gsm = false;
    }
    if (!gsm) units = text.length; // UTF-16 code units, as providers count UCS-2
    var single = gsm ? 160 : 70;
    var part = gsm ? 153 : 67;
    var segments = units === 0 ? 0 : units <= single ? 1 : Math.ceil(units / part);
    out.textContent = text.length + " characters, " + segments + " segment" + (segments === 1 ? "" : "s") +
      " (" + (gsm ? "GSM-7" : "UCS-2: emoji or special characters") + ").";
  }
  box.addEventListener("input", count);
  count();
})();
