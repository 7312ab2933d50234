/*
 * /internal/accept-invite/: a staff invitation's ticket sign-up, with documented ClerkJS calls only:
 *   Clerk.client.signUp.create({strategy: "ticket", ticket, password, firstName, lastName, phoneNumber})
 *   Clerk.setActive({session}) → /internal/
 * No SMS code: the ticket proves the email, and staff skip phone verification. Clerk's ticket errors become
 * explanations (expired, revoked, used); its field errors show next to the field (error.meta.paramName).
 * The ticket is read from this page's URL and sent to Clerk only.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-staff-accept]");
  if (!root) return;
  document.body.removeAttribute("data-clerk-session");

  var ticket = new URLSearchParams(window.location.search).get("__clerk_ticket") || "";
  var status = root.getAttribute("data-status") || "sign_up";
  var next = root.getAttribute("data-next") || "/internal/";
  var form = document.getElementById("staff-sign-up");
  var FIELDS = ["first_name", "last_name", "phone_number", "password"];
  var PROBLEMS = { ticket_expired_code: "expired", revoked_invitation: "revoked", ticket_invalid_code: "used" };

  function clerkReady() {
    return new Promise(function (resolve, reject) {
      function start() {
        if (!window.Clerk) return reject(new Error("The sign-in service could not be reached. Reload the page."));
        window.Clerk.load().then(function () { resolve(window.Clerk); }, reject);
      }
      if (window.Clerk || document.readyState === "complete") start();
      else window.addEventListener("load", start, { once: true });
    });
  }

  function panel(name) {
    root.querySelectorAll("[data-panel]").forEach(function (el) {
      el.hidden = el.getAttribute("data-panel") !== name;
    });
    var shown = root.querySelector('[data-panel="' + name + '"]');
    var target = name === "sign-up" ? form.elements.first_name : shown && shown.querySelector("h1");
    if (target) target.focus();
  }

  function firstError(err) { return (err && err.errors && err.errors[0]) || null; }

  function messageOf(err) {
    var first = firstError(err);
    if (first) return first.longMessage || first.message || "Clerk refused the request.";
    return (err && err.message) || "Something went wrong. Try again.";
  }

  function showError(err) {
    var first = firstError(err);
    if (first && PROBLEMS[first.code]) return panel(PROBLEMS[first.code]);
    root.querySelector("[data-error-text]").textContent = messageOf(err);
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
    if (!/^\+[0-9][0-9 ()-]{6,20}$/.test(v.phoneNumber)) errors.phone_number = "Enter the number with + and the country code, e.g. +1 415 555 0100.";
    if (!v.password) errors.password = "Choose a password.";
    else if (v.password.length < 8) errors.password = "Use at least 8 characters.";
    return errors;
  }

  function busy(button, on) {
    if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.textContent);
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? button.getAttribute("data-busy-label") : button.getAttribute("data-label");
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
    busy(button, true);
    clerkReady()
      .then(function (clerk) {
        return clerk.client.signUp
          .create({
            strategy: "ticket", ticket: ticket, password: values.password,
            firstName: values.firstName, lastName: values.lastName, phoneNumber: values.phoneNumber,
          })
          .then(function (signUp) {
            if (signUp.status !== "complete" || !signUp.createdSessionId) {
              throw new Error("Your account needs a step this page does not support. Sign in to continue.");
            }
            panel("done");
            return clerk.setActive({ session: signUp.createdSessionId }).then(function () { window.location.assign(next); });
          });
      })
      .catch(function (err) {
        busy(button, false);
        var first = firstError(err);
        if (first && PROBLEMS[first.code] && !(first.meta && FIELDS.indexOf(first.meta.paramName) >= 0)) return panel(PROBLEMS[first.code]);
        if (first && first.code === "form_identifier_exists" && first.meta && first.meta.paramName === "email_address") return panel("has-account");
        var errors = {};
        (err && err.errors ? err.errors : []).forEach(function (e) {
          var name = e.meta && e.meta.paramName;
          if (FIELDS.indexOf(name) >= 0 && !errors[name]) errors[name] = e.longMessage || e.message;
        });
        if (!showFieldErrors(errors)) setFormError(messageOf(err));
      });
  }

  function init() {
    if (root.getAttribute("data-state") !== "ready") return;
    if (!ticket) return panel("missing");
    form.addEventListener("submit", submit);
    form.addEventListener("input", function (event) { if (FIELDS.indexOf(event.target.name) >= 0) setFieldError(event.target.name, ""); });
    clerkReady()
      .then(function (clerk) {
        if (status === "sign_in") return panel("has-account");
        if (clerk.user) return clerk.signOut().then(function () { panel("sign-up"); });
        panel("sign-up");
      })
      .catch(showError);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
