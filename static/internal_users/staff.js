/* Staff list: a profile photo that cannot load is dropped so the initials under it show (also after htmx swaps). */
(function () {
  "use strict";
  function tidy(root) {
    root.querySelectorAll(".avatar-photo img").forEach(function (img) {
      if (img.complete && !img.naturalWidth) img.remove();
      else img.addEventListener("error", function () { img.remove(); }, { once: true });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tidy(document); });
  document.addEventListener("htmx:afterSwap", function (event) { tidy(event.target); });
})();
