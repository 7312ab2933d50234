/*
 * /settings/ members: the row actions after htmx swapped the members card in.
 *
 * Every row action is a plain POST form with data-confirm: static/core/confirm.js asks first (without JavaScript
 * the server asks on a confirmation page), then htmx posts it and swaps the card in place (the count and every
 * row's actions follow). Here: error cards marked X-Partial (last admin, Clerk refused) are ours and are swapped in
 * like any other, and the focus goes to the changed row or the removal note.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-Partial")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    // Only after the members card itself was swapped: other swaps (a timeline in the history) keep their focus.
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "members") return;
    var card = document.getElementById("members");
    var changed = card && card.querySelector("[data-focus-after-swap]");
    if (changed) changed.focus({ preventScroll: true });
  });
})();
