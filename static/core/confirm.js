/*
 * The product's one confirmation dialog, instead of the browser's confirm(): any form with data-confirm="question"
 * asks first in a <dialog> (focus on Cancel, Esc or Cancel keeps everything as it was, focus back on the button),
 * and only then submits, by htmx or as a plain POST alike, with confirm=yes added so a view that asks on a page of
 * its own without JavaScript (the workspace revoke, member actions, the staff revoke) goes straight ahead.
 * Optional: data-confirm-title, data-confirm-label (the confirming button's text), data-confirm-tone ("danger", the
 * default, or "primary" for a change that takes nothing away). Without JavaScript the form simply submits.
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
      '<button type="submit" value="cancel" class="button" data-confirm-cancel>Cancel</button>' +
      '<button type="submit" value="ok" class="button" data-confirm-ok></button>' +
      "</div></form>";
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      var job = pending;
      pending = null;
      if (!job) return;
      if (dialog.returnValue === "ok") {
        var form = job.form;
        form.setAttribute("data-confirmed", "1");
        if (!form.querySelector('input[name="confirm"]')) {
          var marker = document.createElement("input");
          marker.type = "hidden";
          marker.name = "confirm";
          marker.value = "yes";
          form.appendChild(marker);
        }
        if (job.submitter && typeof form.requestSubmit === "function") form.requestSubmit(job.submitter);
        else if (typeof form.requestSubmit === "function") form.requestSubmit();
        else form.submit();
      } else if (job.submitter && document.body.contains(job.submitter)) {
        job.submitter.focus();
      }
    });
  }

  function ask(form, submitter) {
    if (!dialog) build();
    var ok = dialog.querySelector("[data-confirm-ok]");
    var primary = form.getAttribute("data-confirm-tone") === "primary";
    dialog.querySelector("#confirm-dialog-title").textContent = form.getAttribute("data-confirm-title") || "Are you sure?";
    dialog.querySelector("#confirm-dialog-text").textContent = form.getAttribute("data-confirm");
    ok.textContent = form.getAttribute("data-confirm-label") || "Confirm";
    ok.className = primary ? "button button-primary" : "button button-danger-solid";
    pending = { form: form, submitter: submitter };
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus();
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
