/*
 * The navigation's search box (organizations/search.py, templates/partials/navbar.html).
 *
 * Without JavaScript the box is a GET form to the results page. With it:
 *  - "/" anywhere on the page focuses the box, unless the member is typing in a field
 *    (or holds Ctrl, Alt or Meta);
 *  - HTMX asks the search view for the live results as the member types (hx-trigger
 *    on the input, debounced) and puts them in the listbox under the box; this script
 *    opens the listbox when results arrive and closes it when the box is emptied;
 *  - ArrowDown / ArrowUp move through the results (the box keeps the focus and names
 *    the current one with aria-activedescendant), Enter opens the current one (or,
 *    with none chosen, submits the form to the results page), Escape closes the list
 *    and a second Escape leaves the box; a click outside closes it.
 * No inline script or style: the page's CSP forbids them.
 */
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !(target instanceof Element)) {
      return false;
    }
    if (target.isContentEditable) {
      return true;
    }
    return /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  function setUp(form) {
    var input = form.querySelector('input[name="q"]');
    var list = form.querySelector('[role="listbox"]');
    if (!input || !list) {
      return;
    }
    var current = -1;

    function options() {
      return Array.prototype.slice.call(list.querySelectorAll('[role="option"]'));
    }

    function highlight(index) {
      var all = options();
      all.forEach(function (option) {
        option.classList.remove("active");
        option.setAttribute("aria-selected", "false");
      });
      current = index;
      if (index < 0 || index >= all.length) {
        current = -1;
        input.removeAttribute("aria-activedescendant");
        return;
      }
      var option = all[index];
      option.classList.add("active");
      option.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }

    function open() {
      list.classList.add("show");
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.classList.remove("show");
      input.setAttribute("aria-expanded", "false");
      highlight(-1);
    }

    function isOpen() {
      return list.classList.contains("show");
    }

    // HTMX swapped new results in: show them, none chosen yet.
    form.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail && event.detail.target !== list) {
        return;
      }
      current = -1;
      input.removeAttribute("aria-activedescendant");
      if (list.textContent.trim() && input.value.trim() && document.activeElement === input) {
        open();
      } else {
        close();
      }
    });

    input.addEventListener("input", function () {
      if (!input.value.trim()) {
        close();
        list.replaceChildren();
      }
    });

    input.addEventListener("keydown", function (event) {
      var all = options();
      if (event.key === "ArrowDown") {
        if (!all.length) {
          return;
        }
        event.preventDefault();
        open();
        highlight(current + 1 >= all.length ? 0 : current + 1);
      } else if (event.key === "ArrowUp") {
        if (!all.length) {
          return;
        }
        event.preventDefault();
        open();
        highlight(current <= 0 ? all.length - 1 : current - 1);
      } else if (event.key === "Enter") {
        if (isOpen() && current >= 0 && all[current]) {
          event.preventDefault();
          window.location.assign(all[current].href);
        }
        // Otherwise the form submits to the results page.
      } else if (event.key === "Escape") {
        if (isOpen()) {
          event.preventDefault();
          close();
        } else {
          input.blur();
        }
      }
    });

    input.addEventListener("focus", function () {
      if (input.value.trim() && options().length) {
        open();
      }
    });

    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) {
        close();
      }
    });

    // Tab leaves the box for the next link: the list closes behind it.
    form.addEventListener("focusout", function (event) {
      if (!form.contains(event.relatedTarget)) {
        close();
      }
    });
  }

  function init() {
    var form = document.querySelector("form[data-nav-search]");
    if (!form) {
      return;
    }
    setUp(form);
    var input = form.querySelector('input[name="q"]');
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.altKey || event.metaKey) {
        return;
      }
      if (isTyping(event.target) || event.defaultPrevented) {
        return;
      }
      event.preventDefault();
      // Below the xl breakpoint the box sits in the collapsed menu: open it first.
      var collapse = form.closest(".navbar-collapse");
      if (collapse && !collapse.classList.contains("show") && window.bootstrap) {
        window.bootstrap.Collapse.getOrCreateInstance(collapse).show();
      }
      input.focus();
      input.select();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
