/*
 * Searchable pickers (organizations/pickers.py).
 *
 * Every <select data-picker-url> holds only the current choice. This turns it into a
 * Tom Select box that asks the picker endpoint for 20 rows at a time as the member
 * types or scrolls ({"results": [{"value", "text"}], "more": bool}), and removes the
 * "Or type ..." box that stands in for the search without JavaScript. It runs on the
 * page and again on every piece HTMX swaps in (htmx:load). No inline script or style:
 * the page's CSP forbids them.
 */
(function () {
  "use strict";

  function pageUrl(base, query, page) {
    var url = new URL(base, window.location.href);
    url.searchParams.set("q", query);
    url.searchParams.set("page", String(page));
    return url.toString();
  }

  function message(css, text) {
    return function (data, escape) {
      return '<div class="' + css + '">' + escape(text) + "</div>";
    };
  }

  function enhance(select) {
    if (select.tomselect || typeof window.TomSelect !== "function") {
      return;
    }
    var data = select.dataset;
    var base = data.pickerUrl;
    var failed = false;
    var plugins = ["virtual_scroll"];
    if (select.multiple) {
      plugins.push("remove_button");
    } else if (select.querySelector('option[value=""]')) {
      plugins.push("clear_button");
    }
    new window.TomSelect(select, {
      plugins: plugins,
      valueField: "value",
      labelField: "text",
      searchField: [],
      // The endpoint searches; every row it sends matches.
      score: function () {
        return function () {
          return 1;
        };
      },
      maxOptions: null,
      preload: "focus",
      loadThrottle: 250,
      placeholder: data.pickerPlaceholder,
      hidePlaceholder: false,
      shouldLoad: function () {
        return true;
      },
      firstUrl: function (query) {
        return pageUrl(base, query, 1);
      },
      load: function (query, callback) {
        var self = this;
        var url = self.getUrl(query);
        failed = false;
        window
          .fetch(url, {
            credentials: "same-origin",
            headers: { Accept: "application/json" },
          })
          .then(function (response) {
            if (!response.ok) {
              throw new Error(String(response.status));
            }
            return response.json();
          })
          .then(function (json) {
            if (json.more) {
              var next = new URL(url);
              next.searchParams.set("page", String(Number(next.searchParams.get("page")) + 1));
              self.setNextUrl(query, next.toString());
            }
            callback(json.results);
          })
          .catch(function () {
            failed = true;
            callback();
          });
      },
      render: {
        no_results: function (item, escape) {
          var text = failed ? data.pickerFailed : data.pickerEmpty;
          return message("no-results", text)(item, escape);
        },
        loading_more: message("loading-more-results", data.pickerLoading),
        no_more_results: function () {
          return "";
        },
      },
    });
    var find = data.pickerFind && document.getElementById(data.pickerFind);
    if (find) {
      find.remove();
    }
  }

  function enhanceWithin(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("select[data-picker-url]")) {
      enhance(scope);
    }
    scope.querySelectorAll("select[data-picker-url]").forEach(enhance);
  }

  if (window.htmx) {
    window.htmx.onLoad(enhanceWithin);
  } else {
    document.addEventListener("DOMContentLoaded", function () {
      enhanceWithin(document);
    });
  }
})();
