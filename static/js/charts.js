/* Draws every chart of a reporting page: each <canvas data-chart="ID"> gets the
   Chart.js configuration in the JSON script element #ID (reporting/charts.py).
   Labels are drawn as text on the canvas; nothing in them is interpreted. */
(function () {
  "use strict";
  function draw() {
    if (typeof window.Chart === "undefined") {
      return;
    }
    if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      window.Chart.defaults.animation = false;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source || canvas.dataset.drawn) {
        return;
      }
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  // Charts loaded later into the page (an HTMX slot) are drawn once they arrive.
  document.body.addEventListener("htmx:afterSwap", draw);
})();
