// Presentation mode: arrow keys, Page Up/Down and the space bar advance the steps (a remote
// clicker sends these); F toggles full screen. The page works without this script too.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT")) return;
    var go = null;
    if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === " ") go = "present-next";
    if (event.key === "ArrowLeft" || event.key === "PageUp") go = "present-prev";
    if (go) {
      var link = document.getElementById(go);
      if (link) { event.preventDefault(); window.location.href = link.href; }
    }
    if (event.key === "f" || event.key === "F") {
      if (document.fullscreenElement) document.exitFullscreen();
      else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
    }
  });
})();
