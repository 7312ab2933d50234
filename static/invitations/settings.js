/*
 * /settings/: the invite dialog and htmx glue. Everything here is an enhancement: without JavaScript the
 * "Invite members" link opens the dialog server-side (?invite=1) and every button is a plain POST form.
 *
 * - The invite dialog is a <dialog> opened with showModal(): focus moves into it (the email field), Tab stays
 *   inside, Esc and the close/Cancel controls close it, and focus returns to the button that opened it.
 * - A live count of the addresses typed so far ("3 addresses · 1 looks wrong"), so the admin sees what is sent.
 * - htmx (static/vendor/htmx.min.js) posts the forms; error responses marked X-Partial are ours (a row or the
 *   dialog with the error in it) and are swapped in like any other; any other failure (403, 429, 500, offline)
 *   shows a message at the top of the page instead of failing silently.
 * - The workspace switcher submits on change.
 */
(function () {
  "use strict";

  var EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;

  function pageAlert(text) {
    var box = document.getElementById("page-alert");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
    if (text) box.scrollIntoView({ block: "nearest" });
  }

  // ------------------------------------------------------------------------------------------- the dialog
  function initDialog(dialog) {
    var opener = null;

    function focusFirstField() {
      var field = dialog.querySelector("textarea, input:not([type=hidden]), select");
      if (field) field.focus();
    }

    function open(from) {
      opener = from || document.activeElement;
      if (!dialog.open) dialog.showModal();
      focusFirstField();
    }

    dialog.addEventListener("close", function () {
      if (opener && document.body.contains(opener)) opener.focus();
    });

    // A click on the backdrop (the dialog element itself, outside its box) closes it too.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();
    });

    document.addEventListener("click", function (event) {
      var trigger = event.target.closest("[data-dialog-open]");
      if (trigger && trigger.getAttribute("data-dialog-open") === dialog.id) {
        event.preventDefault();
        open(trigger);
        return;
      }
      var closer = event.target.closest("[data-dialog-close]");
      if (closer && dialog.contains(closer)) {
        event.preventDefault();
        dialog.close();
      }
    });

    // Opened by the server (no-JS fallback, or ?invite=1): make it modal.
    if (dialog.hasAttribute("open")) {
      dialog.close();
      open(document.getElementById("invite-open"));
    }
  }

  // ------------------------------------------------------------------------------------------- address count
  function updateCount(textarea) {
    var out = textarea.form && textarea.form.querySelector("[data-email-count]");
    if (!out) return;
    var words = textarea.value.split(/[\s,;]+/).filter(Boolean);
    var unique = Array.from(new Set(words.map(function (w) { return w.toLowerCase(); })));
    var wrong = unique.filter(function (w) { return !EMAIL.test(w); }).length;
    if (!unique.length) {
      out.textContent = "";
      return;
    }
    var text = unique.length + (unique.length === 1 ? " address" : " addresses");
    if (wrong) text += " · " + wrong + (wrong === 1 ? " looks wrong" : " look wrong");
    if (unique.length > 100) text += " · too many (100 at most)";
    out.textContent = text;
    out.classList.toggle("is-warning", Boolean(wrong) || unique.length > 100);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("#invite-emails")) updateCount(event.target);
  });

  // ------------------------------------------------------------------------------------------- htmx glue
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-Partial")) {
      event.detail.shouldSwap = true; // our own partial, with the error message inside
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", function () {
    pageAlert("");
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var retry = xhr.getResponseHeader("Retry-After");
    if (xhr.status === 429) {
      pageAlert("Too many requests. Wait " + (retry || "a few") + " seconds, then try again.");
    } else if (xhr.status === 403) {
      pageAlert("You don't have permission to do that, or the page is out of date. Reload the page and try again.");
    } else {
      pageAlert("Something went wrong (" + xhr.status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    pageAlert("The server could not be reached. Check your connection and try again.");
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "invite-body") {
      // New results or errors in the dialog (swapped outerHTML, so look the new body up): move focus to the
      // field that needs attention, else to the results so a screen reader reads them.
      var body = document.getElementById("invite-body");
      if (!body) return;
      var focusable = body.querySelector("[aria-invalid=true]") || body.querySelector(".results-summary, .alert");
      if (focusable) focusable.focus();
      var textarea = body.querySelector("#invite-emails");
      if (textarea) updateCount(textarea);
    } else if (target && target.classList.contains("invite-row")) {
      // A row replaced in place (outerHTML): keep keyboard focus on the new row rather than losing it.
      var row = document.getElementById(target.id);
      if (row) row.focus({ preventScroll: true });
    }
  });

  // ------------------------------------------------------------------------------------------- start
  function init() {
    var dialog = document.getElementById("invite-dialog");
    if (dialog && typeof dialog.showModal === "function") initDialog(dialog);
    document.querySelectorAll("[data-js-hide]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
