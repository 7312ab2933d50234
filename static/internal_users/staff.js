/*
 * Staff list: htmx glue and small touches. Everything here is an enhancement: without JavaScript each action is a
 * plain POST form and each filter or page link a plain GET.
 *
 * - `hx-boost` on #staff posts the forms and follows the links with htmx, swapping only #staff. htmx leaves error
 *   responses unswapped; the list's own refusals (a form re-rendered with its error, marked X-Staff-Page) are swapped
 *   in like any page, and any other failure (403, 404, 429, 500, offline) shows its message at the top of the list
 *   instead of failing silently.
 * - After a swap, focus goes to the first field with an error.
 * - A profile photo that cannot load is dropped so the initials under it show.
 */
(function () {
  "use strict";

  function pageAlert(text) {
    var box = document.getElementById("page-alert");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
    if (text) box.scrollIntoView({ block: "nearest" });
  }

  function messageOf(xhr) {
    var fallback = "Something went wrong (" + xhr.status + "). Reload the page and try again.";
    try {
      var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var card = doc.querySelector(".status-card");
      if (!card) return fallback;
      var title = card.querySelector("h1");
      var detail = card.querySelector(".muted");
      return [title && title.textContent.trim(), detail && detail.textContent.trim()].filter(Boolean).join(": ");
    } catch (e) {
      return fallback;
    }
  }

  function tidy(root) {
    root.querySelectorAll(".avatar-photo img").forEach(function (img) {
      if (img.complete && !img.naturalWidth) img.remove();
      else img.addEventListener("error", function () { img.remove(); }, { once: true });
    });
  }

  document.addEventListener("htmx:beforeRequest", function () { pageAlert(""); });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status < 400) return;
    if (xhr.getResponseHeader("X-Staff-Page")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    event.detail.shouldSwap = false;
    pageAlert(messageOf(xhr));
  });

  document.addEventListener("htmx:sendError", function () {
    pageAlert("The server could not be reached. Check your connection and try again.");
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var invalid = document.querySelector('#staff [aria-invalid="true"]');
    if (invalid) invalid.focus();
    tidy(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () { tidy(document); });
})();
