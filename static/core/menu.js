/*
 * The account menu (<details class="usermenu"> in templates/base.html): Escape closes it and gives focus back to
 * its button; a click outside closes it. Without JavaScript it still opens and closes with its button.
 */
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.usermenu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();
