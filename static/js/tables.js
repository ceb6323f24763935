// Scroll cue for wide tables: wraps every .table-responsive in .table-scroll with a
// hint ("Scroll sideways for more columns", translated in base.html) and keeps the
// classes is-overflowing / more-start / more-end up to date; app.css shows the hint
// and the edge shadows below 576 px. Tables swapped in by htmx are handled too.
(function () {
  "use strict";

  function hintText() {
    var source = document.getElementById("table-scroll-hint-text");
    return source ? source.textContent.trim() : "";
  }

  function update(wrapper) {
    var scroller = wrapper.querySelector(":scope > .table-responsive");
    if (!scroller) {
      return;
    }
    var overflow = scroller.scrollWidth - scroller.clientWidth > 1;
    wrapper.classList.toggle("is-overflowing", overflow);
    wrapper.classList.toggle("more-start", overflow && scroller.scrollLeft > 1);
    wrapper.classList.toggle(
      "more-end",
      overflow && scroller.scrollLeft + scroller.clientWidth < scroller.scrollWidth - 1
    );
  }

  function enhance(scroller) {
    var wrapper = scroller.parentElement;
    if (!wrapper || !wrapper.classList.contains("table-scroll")) {
      wrapper = document.createElement("div");
      wrapper.className = "table-scroll";
      scroller.parentNode.insertBefore(wrapper, scroller);
      var hint = document.createElement("p");
      hint.className = "table-scroll-hint small text-body-secondary mb-1";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "\u2194 " + hintText();
      wrapper.appendChild(hint);
      wrapper.appendChild(scroller);
    }
    if (!scroller.dataset.scrollCue) {
      scroller.dataset.scrollCue = "1";
      scroller.addEventListener("scroll", function () { update(wrapper); }, { passive: true });
    }
    update(wrapper);
  }

  function enhanceAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    scope.querySelectorAll(".table-responsive").forEach(enhance);
    if (scope.classList && scope.classList.contains("table-responsive")) {
      enhance(scope);
    }
  }

  function refresh() {
    document.querySelectorAll(".table-scroll").forEach(update);
  }

  document.addEventListener("DOMContentLoaded", function () { enhanceAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhanceAll(event.target); });
  // A table inside a folded section measures 0 wide until it is shown.
  document.addEventListener("shown.bs.collapse", refresh);
  document.addEventListener("toggle", refresh, true);
  window.addEventListener("resize", refresh);
})();
