/*
 * /internal/accept-invite/: a staff invitation's ticket sign-up on Clerk's own ClerkJS (via static/core/clerk.js):
 *   Clerk.client.signUp.create({strategy: "ticket", ticket, password, firstName, lastName, phoneNumber})
 *   → "complete": Clerk.setActive({session}) → /internal/
 *   → "missing_requirements" for the phone (an instance that verifies phones at sign-up): the SMS code step in
 *     place (static/accounts/sign_up_phone.js), then the same.
 * The instance docs/deployment.md describes collects the phone at sign-up without verifying it: the ticket proves
 * the email, and staff need no SMS code. Clerk's ticket errors become explanations (expired, revoked, already accepted, invalid); its
 * field errors show next to the field (error.meta.paramName). The ticket is read from this page's URL and sent to
 * Clerk only.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-staff-accept]");
  if (!root) return;
  document.body.removeAttribute("data-clerk-session");
  var AC = window.AppClerk;

  var ticket = new URLSearchParams(window.location.search).get("__clerk_ticket") || "";
  var status = root.getAttribute("data-status") || "sign_up";
  var next = root.getAttribute("data-next") || "/internal/";
  var form = document.getElementById("staff-sign-up");
  var FIELDS = ["first_name", "last_name", "phone_number", "password"];

  function panel(name) {
    root.querySelectorAll("[data-panel]").forEach(function (el) {
      el.hidden = el.getAttribute("data-panel") !== name;
    });
    var shown = root.querySelector('[data-panel="' + name + '"]');
    var target = name === "sign-up" ? form.elements.first_name : shown && shown.querySelector("h1");
    if (target) target.focus();
  }

  // A link Clerk refuses names nobody: the greeting goes with the form.
  function showProblem(problem) {
    document.querySelectorAll("[data-invite-context]").forEach(function (el) { el.hidden = true; });
    panel(problem);
  }

  function showError(err) {
    var problem = AC.ticketProblem(err);
    if (problem) return showProblem(problem);
    root.querySelector("[data-error-text]").textContent = AC.message(err);
    panel("error");
  }

  function setFieldError(name, text) {
    var box = form.querySelector('[data-error-for="' + name + '"]');
    if (box) { box.textContent = text || ""; box.hidden = !text; }
    var input = form.elements[name];
    if (input) { if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid"); }
  }

  function setFormError(text) {
    var box = form.querySelector("[data-form-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function showFieldErrors(errors) {
    var focus = null;
    FIELDS.forEach(function (name) {
      setFieldError(name, errors[name] || "");
      if (errors[name] && !focus) focus = form.elements[name];
    });
    if (focus) focus.focus();
    return Boolean(focus);
  }

  function localErrors(v) {
    var errors = {};
    if (!v.firstName) errors.first_name = "Enter your first name.";
    if (!v.lastName) errors.last_name = "Enter your last name.";
    if (!/^\+[0-9]{7,18}$/.test(v.phoneNumber)) errors.phone_number = "Enter the number with + and the country code, e.g. +1 415 555 0100.";
    if (!v.password) errors.password = "Choose a password.";
    else if (v.password.length < 8) errors.password = "Use at least 8 characters.";
    return errors;
  }

  function complete(clerk, signUp) {
    if (window.SignUpPhone.applies(signUp)) {
      return window.SignUpPhone.finish(root, signUp).then(function (done) { return complete(clerk, done); });
    }
    if (signUp.status !== "complete" || !signUp.createdSessionId) {
      throw new Error("Your account needs a step this page does not support. Sign in to continue.");
    }
    panel("done");
    return clerk.setActive({ session: signUp.createdSessionId }).then(function () { window.location.assign(next); });
  }

  function submit(event) {
    event.preventDefault();
    setFormError("");
    var button = form.querySelector("button[type=submit]");
    var values = {
      firstName: form.elements.first_name.value.trim(),
      lastName: form.elements.last_name.value.trim(),
      phoneNumber: form.elements.phone_number.value.replace(/[\s()-]/g, ""),
      password: form.elements.password.value,
    };
    if (showFieldErrors(localErrors(values))) return;
    AC.busy(button, true);
    AC.ready()
      .then(function (clerk) {
        return clerk.client.signUp
          .create({
            strategy: "ticket", ticket: ticket, password: values.password,
            firstName: values.firstName, lastName: values.lastName, phoneNumber: values.phoneNumber,
          })
          .then(function (signUp) { return complete(clerk, signUp); }, function (err) {
            AC.busy(button, false);
            var first = AC.firstError(err);
            var field = first && first.meta && first.meta.paramName;
            if (AC.ticketProblem(err) && FIELDS.indexOf(field) < 0) return showProblem(AC.ticketProblem(err));
            if (first && first.code === "form_identifier_exists" && field === "email_address") return panel("has-account");
            if (!showFieldErrors(AC.fieldErrors(err, FIELDS))) setFormError(AC.message(err));
            return null;
          });
      })
      .catch(function (err) { AC.busy(button, false); showError(err); });
  }

  function init() {
    if (root.getAttribute("data-state") !== "ready") return;
    if (!ticket) return panel("missing");
    form.addEventListener("submit", submit);
    form.addEventListener("input", function (event) { if (FIELDS.indexOf(event.target.name) >= 0) setFieldError(event.target.name, ""); });
    AC.ready()
      .then(function (clerk) {
        if (status === "sign_in") return panel("has-account");
        // Someone else's session in this browser: end it (staying here) so the new account starts clean.
        if (clerk.user) return AC.signOut(clerk).then(function () { panel("sign-up"); });
        panel("sign-up");
        return null;
      })
      .catch(showError);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
