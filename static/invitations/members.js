/*
 * /settings/ members: the product's own confirmation before a role change, a removal or leaving.
 *
 * Every row action is a plain POST form (without JavaScript the server asks on a confirmation page). Here a submit
 * opens the #member-confirm <dialog> (showModal: focus inside, Esc and Cancel close it, focus returns to the
 * button); "Confirm" fires the form's htmx trigger ("confirmed"), htmx posts it and swaps the members card in
 * place (the count and every row's actions follow), focusing the changed row or the removal note.
 * Error rows marked X-Partial (last admin, Clerk refused) are ours and are swapped in like any other.
 */
(function () {
  "use strict";

  var pending = null;
  var opener = null;

  function dialog() {
    return document.getElementById("member-confirm");
  }

  function ask(form, button) {
    var box = dialog();
    if (!box || typeof box.showModal !== "function" || !window.htmx) return false;
    pending = form;
    opener = button || document.activeElement;
    box.querySelector("#member-confirm-title").textContent = form.getAttribute("data-confirm-title") || "Are you sure?";
    box.querySelector("#member-confirm-text").textContent = form.getAttribute("data-confirm-text") || "";
    var confirm = box.querySelector("[data-member-confirm]");
    confirm.textContent = form.getAttribute("data-confirm-action") || "Confirm";
    var danger = form.getAttribute("data-confirm-tone") === "danger";
    confirm.classList.toggle("button-danger-solid", danger);
    confirm.classList.toggle("button-primary", !danger);
    box.showModal();
    box.querySelector("[data-member-cancel]").focus();
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm-title]")) return;
    if (ask(form, event.submitter)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var box = dialog();
    if (!box || !box.open) return;
    if (event.target.closest("[data-member-cancel]") || event.target === box) {
      pending = null;
      box.close();
    } else if (event.target.closest("[data-member-confirm]")) {
      var form = pending;
      pending = null;
      opener = null; // the card is replaced: focus goes to the changed row once it is swapped in
      box.close();
      if (form) window.htmx.trigger(form, "confirmed");
    }
  });

  document.addEventListener("close", function (event) {
    if (event.target !== dialog()) return;
    if (opener && document.body.contains(opener)) opener.focus();
  }, true);

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status >= 400 && xhr.getResponseHeader("X-Partial")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSwap", function () {
    var card = document.getElementById("members");
    var changed = card && card.querySelector("[data-focus-after-swap]");
    if (changed) changed.focus({ preventScroll: true });
  });
})();
