// The calibration nine-box grid (templates/appraisals/calibration/session.html):
// drag a person ([data-move-url], draggable) onto a box ([data-ninebox-box]) to open
// the move form for that person and the box's performance third, loaded by htmx into
// #ninebox-move (a plain GET of the same form page without htmx). Without JavaScript
// every name has a "Move" link to that form. Forms marked [data-confirm] ask first.
(function () {
  "use strict";

  var dragged = null;

  function openMove(url, box) {
    var target = url + (url.indexOf("?") < 0 ? "?" : "&") + "box=" + encodeURIComponent(box);
    var panel = document.getElementById("ninebox-move");
    if (window.htmx && panel) {
      window.htmx.ajax("GET", target, { target: panel, swap: "innerHTML" }).then(function () {
        var field = panel.querySelector("input, textarea");
        panel.scrollIntoView({ block: "nearest" });
        if (field) {
          field.focus();
        }
      });
    } else {
      window.location.assign(target);
    }
  }

  document.addEventListener("dragstart", function (event) {
    var person = event.target.closest && event.target.closest("[data-move-url]");
    if (!person) {
      return;
    }
    dragged = person;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", person.getAttribute("data-move-url"));
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".ninebox-cell.is-target").forEach(function (cell) {
      cell.classList.remove("is-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var cell = dragged && event.target.closest && event.target.closest("[data-ninebox-box]");
    if (cell) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      cell.classList.add("is-target");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var cell = event.target.closest && event.target.closest("[data-ninebox-box]");
    if (cell && !cell.contains(event.relatedTarget)) {
      cell.classList.remove("is-target");
    }
  });

  document.addEventListener("drop", function (event) {
    var cell = dragged && event.target.closest && event.target.closest("[data-ninebox-box]");
    if (!cell) {
      return;
    }
    event.preventDefault();
    cell.classList.remove("is-target");
    openMove(dragged.getAttribute("data-move-url"), cell.getAttribute("data-ninebox-box"));
    dragged = null;
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
