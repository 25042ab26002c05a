// Ceremony page: reload when the batch's public state changes (e.g. the draw was made).
(function () {
  "use strict";
  var box = document.getElementById("live-state");
  if (!box || !window.fetch) return;
  var shown = box.getAttribute("data-state");
  var url = box.getAttribute("data-url");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.state && data.state !== shown) window.location.reload();
      })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 5000);
})();
