/*
 * The invitation history and timelines (templates/invitations/_history.html, _timeline.html): enhancements only.
 * - "Copy link" copies the invite link shown once (the Clipboard API, or selecting the text where it is missing)
 *   and says so in a status line.
 * - A timeline loaded into the panel by htmx gets the focus, so keyboard and screen reader users land on it.
 */
(function () {
  "use strict";

  function say(button, text) {
    var box = button.closest(".invite-link-box");
    var status = box && box.querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-button]");
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-button"));
    if (!field) return;
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { say(button, "Copied. Paste it into a message to the invitee."); },
        function () { say(button, "Could not copy: the link is selected, press Ctrl+C (⌘C on a Mac)."); }
      );
    } else {
      var copied = false;
      try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
      say(button, copied ? "Copied. Paste it into a message to the invitee." : "The link is selected: press Ctrl+C (⌘C on a Mac).");
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target) return;
    var card = target.id === "timeline-panel" ? target.querySelector(".timeline-card") : null;
    if (!card && target.classList && target.classList.contains("timeline-card")) card = target;
    if (card) card.focus();
  });
})();
