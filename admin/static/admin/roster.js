// The roster import's progress page (admin/templates/admin/roster/import.html), loaded only there.
// It polls <div data-import-status="<status url>"> every second, moves the <progress> bar and the
// sentence beside it, and reloads the page once the import has finished: the server renders the report.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-status]");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-import-status");
  var text = box.querySelector(".roster-progress-text");
  var failures = 0;

  function show(status) {
    var bar = box.querySelector("progress");
    if (status.total) {
      bar.max = status.total;
      bar.value = status.done;
      bar.textContent = status.percent + "%";
    }
    text.textContent = status.text;
  }

  function poll() {
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status >= 500) {
          throw new Error("status " + response.status);
        }
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || response.redirected || !json) {
          // Signed out meanwhile, or the import is not ours to see: let the page say so.
          window.location.reload();
          return null;
        }
        return response.json();
      })
      .then(function (status) {
        if (status === null) {
          return;
        }
        failures = 0;
        show(status);
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        // The network or a web machine hiccuped: try again, more slowly each time.
        failures += 1;
        window.setTimeout(poll, Math.min(1000 * Math.pow(2, failures), 30000));
      });
  }

  window.setTimeout(poll, 1000);
})();
