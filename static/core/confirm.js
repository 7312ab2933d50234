/*
 * The product's own confirmation dialog, instead of the browser's confirm(): any form with data-confirm="question"
 * asks first in a <dialog> (focus inside, Esc or Cancel keeps everything as it was, focus back on the button), and
 * only then submits, by htmx or as a plain POST alike. Optional: data-confirm-title, data-confirm-label (the
 * confirming button's text). Without JavaScript the form simply submits; pages that must ask anyway do it server-side
 * (the workspace revoke's confirmation page).
 */
(function () {
  "use strict";

  var dialog = null;
  var pending = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.setAttribute("aria-describedby", "confirm-dialog-text");
    dialog.innerHTML =
      '<form method="dialog" class="confirm-dialog-box">' +
      '<h2 id="confirm-dialog-title"></h2>' +
      '<p id="confirm-dialog-text"></p>' +
      '<div class="confirm-dialog-actions">' +
      '<button type="submit" value="cancel" class="button">Cancel</button>' +
      '<button type="submit" value="ok" class="button button-danger" data-confirm-ok></button>' +
      "</div></form>";
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      var job = pending;
      pending = null;
      if (!job) return;
      if (dialog.returnValue === "ok") {
        job.form.setAttribute("data-confirmed", "1");
        if (job.submitter && typeof job.form.requestSubmit === "function") job.form.requestSubmit(job.submitter);
        else if (typeof job.form.requestSubmit === "function") job.form.requestSubmit();
        else job.form.submit();
      } else if (job.submitter && document.body.contains(job.submitter)) {
        job.submitter.focus();
      }
    });
  }

  function ask(form, submitter) {
    if (!dialog) build();
    dialog.querySelector("#confirm-dialog-title").textContent = form.getAttribute("data-confirm-title") || "Are you sure?";
    dialog.querySelector("#confirm-dialog-text").textContent = form.getAttribute("data-confirm");
    dialog.querySelector("[data-confirm-ok]").textContent = form.getAttribute("data-confirm-label") || "Confirm";
    pending = { form: form, submitter: submitter };
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("[data-confirm-ok]").focus();
  }

  // Capture phase: before htmx's own submit handler on the form.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
      var submitter = event.submitter || null;
      if (submitter && submitter.hasAttribute("data-no-confirm")) return;
      if (form.getAttribute("data-confirmed") === "1") {
        form.removeAttribute("data-confirmed");
        return;
      }
      if (typeof HTMLDialogElement === "undefined") return; // no <dialog>: submit as without JavaScript
      event.preventDefault();
      event.stopImmediatePropagation();
      ask(form, submitter);
    },
    true
  );
})();
