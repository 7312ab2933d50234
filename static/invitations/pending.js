/*
 * /settings/ pending list: selecting rows for a bulk action. "Select this page" ticks every row shown; "All N
 * matching" acts on the whole search result (the server applies the filter, not the page), so the row boxes are
 * ticked and locked while it is on. A live count says what the buttons will act on. Without JavaScript the row
 * boxes and the "All matching" box work as plain form fields.
 */
(function () {
  "use strict";

  function rows(card) { return Array.from(card.querySelectorAll("[data-bulk-select]")); }

  function update(card) {
    var all = card.querySelector("[data-bulk-all]");
    var page = card.querySelector("[data-bulk-page]");
    var out = card.querySelector("[data-bulk-count]");
    var boxes = rows(card);
    var everything = all && all.checked;
    boxes.forEach(function (box) {
      box.disabled = everything;
      if (everything) box.checked = true;
    });
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    if (page) page.checked = boxes.length > 0 && chosen === boxes.length;
    if (out) {
      out.textContent = everything
        ? "All matching invitations are selected"
        : chosen ? chosen + " selected" : "";
    }
    card.querySelectorAll(".bulk-buttons button").forEach(function (button) {
      button.disabled = !everything && !chosen;
    });
  }

  document.addEventListener("change", function (event) {
    var card = event.target.closest && event.target.closest("#pending");
    if (!card) return;
    if (event.target.matches("[data-bulk-page]")) {
      rows(card).forEach(function (box) { box.checked = event.target.checked; });
    }
    update(card);
  });

  function init() {
    var card = document.getElementById("pending");
    if (card) update(card);
  }
  document.addEventListener("htmx:afterSettle", init);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
