/*
 * /accept-invite/: Clerk's invitation ticket flow on Clerk's own ClerkJS (through static/core/clerk.js), so the page
 * works the same against real Clerk and against the Clerk emulator.
 *
 *   __clerk_status=sign_up  → a form; Clerk.client.signUp.create({strategy: "ticket", ticket, firstName, lastName,
 *                              password})
 *   __clerk_status=sign_in  → a "Join" button, then Clerk.client.signIn.create({strategy: "ticket", ticket})
 *                             (never on load: an email link scanner that runs scripts must not accept for them)
 *   __clerk_status=complete → already a member: on to the dashboard
 * then Clerk.setActive({session}) and the dashboard. A sign-up Clerk answers "missing_requirements" for its phone
 * number (an instance that requires or verifies phones at sign-up) finishes the phone step in place
 * (static/accounts/sign_up_phone.js); our own /onboarding/phone/ follows for everyone else.
 *
 * Someone signed in as ANOTHER account is offered "Sign out and continue" (signed out, staying here) instead of a ticket
 * that silently does nothing (clerk/javascript#8044). Someone signed in as the invited account is signed out
 * quietly and joins with the ticket. Clerk's ticket errors become clear messages (expired, revoked, already accepted, invalid),
 * and its field errors show beside the fields (error.meta.paramName).
 *
 * The ticket is read from this page's URL and sent to Clerk only: never stored, logged or put in the page.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-accept-invite]");
  if (!root) return;

  // This page loads ClerkJS itself. Deferred in <head>, this runs before static/accounts/auth.js, which would
  // otherwise load ClerkJS a second time for a visitor who is already signed in.
  document.body.removeAttribute("data-clerk-session");

  var ticket = new URLSearchParams(window.location.search).get("__clerk_ticket") || "";
  var status = root.getAttribute("data-status") || "sign_up";
  var inviteEmail = (root.getAttribute("data-email") || "").toLowerCase();
  var next = root.getAttribute("data-next") || "/dashboard/";
  var form = document.getElementById("accept-sign-up");
  var AC = window.AppClerk;

  var FORM_FIELDS = ["first_name", "last_name", "password"]; // Clerk's meta.paramName = our input's name
  var MEMBERSHIP_WAIT_MS = 8000;

  // ------------------------------------------------------------------------------------------- helpers
  function panel(name) {
    var shown = null;
    root.querySelectorAll("[data-panel]").forEach(function (el) {
      var match = el.getAttribute("data-panel") === name;
      el.hidden = !match;
      if (match) shown = el;
    });
    if (!shown) return;
    var target = name === "sign-up" ? form.elements.first_name : shown.querySelector("h1");
    if (target) target.focus();
  }

  function primaryEmail(user) {
    var address = user && user.primaryEmailAddress;
    return String((address && (address.emailAddress || address)) || "").toLowerCase();
  }

  // A link Clerk refuses names nobody: the greeting and the "ask …" note go with the form.
  function showProblem(problem) {
    document.querySelectorAll("[data-invite-context]").forEach(function (el) { el.hidden = true; });
    panel(problem);
  }

  function showError(err) {
    var problem = AC.ticketProblem(err);
    if (problem) {
      showProblem(problem);
      return;
    }
    root.querySelector("[data-error-text]").textContent = AC.message(err);
    panel("error");
  }

  // ------------------------------------------------------------------------------------------- the flow
  function finish(clerk, attempt) {
    if (window.SignUpPhone.applies(attempt)) {
      return window.SignUpPhone.finish(root, attempt).then(function (done) { return finish(clerk, done); });
    }
    if (attempt.status !== "complete" || !attempt.createdSessionId) {
      throw new Error("Your account needs another step that this page does not support yet. Sign in to continue.");
    }
    panel("done");
    return clerk
      .setActive({ session: attempt.createdSessionId })
      .then(waitForMembership)
      .then(function () { window.location.assign(next); });
  }

  // Clerk made us a member at once; our database learns it from Clerk's webhook a moment later. Wait for it (a
  // few seconds at most) so the dashboard shows the new workspace; go on regardless after that.
  function waitForMembership() {
    var invitation = root.getAttribute("data-invitation");
    var url = root.getAttribute("data-joined-url");
    if (!invitation || !url) return null;
    var deadline = Date.now() + MEMBERSHIP_WAIT_MS;
    function poll() {
      return fetch(url + "?invitation=" + encodeURIComponent(invitation), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      })
        .then(function (response) { return response.ok ? response.json() : { joined: false }; })
        .catch(function () { return { joined: false }; })
        .then(function (body) {
          if (body.joined || Date.now() > deadline) return null;
          return new Promise(function (resolve) { window.setTimeout(resolve, 300); }).then(poll);
        });
    }
    return poll();
  }

  function join(clerk) {
    panel("joining");
    return clerk.client.signIn
      .create({ strategy: "ticket", ticket: ticket })
      .then(function (signIn) { return finish(clerk, signIn); })
      .catch(showError);
  }

  function offerSwitch(clerk) {
    root.querySelector("[data-current-email]").textContent = primaryEmail(clerk.user) || "another account";
    panel("switch");
  }

  function confirmJoin(clerk) {
    panel("confirm-join");
    var button = root.querySelector('[data-action="join"]');
    button.addEventListener("click", function () { join(clerk); }, { once: true });
    return null;
  }

  function proceed(clerk) {
    if (status === "sign_in") return confirmJoin(clerk);
    panel("sign-up");
    return null;
  }

  function start(clerk) {
    if (status === "complete") {
      if (!clerk.session) return panel("sign-in-needed");
      panel("done");
      return window.location.assign(next);
    }
    if (clerk.user) {
      if (inviteEmail && primaryEmail(clerk.user) === inviteEmail) {
        // Already signed in as the invited account: a ticket sign-in over an active session may do nothing.
        return AC.signOut(clerk).then(function () { return confirmJoin(clerk); });
      }
      return offerSwitch(clerk);
    }
    return proceed(clerk);
  }

  // ------------------------------------------------------------------------------------------- sign-up form
  function setFieldError(name, text) {
    var box = form.querySelector('[data-error-for="' + name + '"]');
    var input = form.elements[name];
    if (box) {
      box.textContent = text || "";
      box.hidden = !text;
    }
    if (input) {
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  function setFormError(text) {
    var box = form.querySelector("[data-form-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function showFieldErrors(errors) {
    var firstField = null;
    FORM_FIELDS.forEach(function (name) {
      var text = errors[name] || "";
      setFieldError(name, text);
      if (text && !firstField) firstField = form.elements[name];
    });
    if (firstField) firstField.focus();
    return Boolean(firstField);
  }

  function localErrors(values) {
    var errors = {};
    if (!values.firstName) errors.first_name = "Enter your first name.";
    if (!values.lastName) errors.last_name = "Enter your last name.";
    if (!values.password) errors.password = "Choose a password.";
    else if (values.password.length < 8) errors.password = "Use at least 8 characters.";
    return errors;
  }

  function initForm() {
    var button = form.querySelector("button[type=submit]");
    var toggle = form.querySelector(".password-toggle");

    toggle.addEventListener("click", function () {
      var input = document.getElementById(toggle.getAttribute("aria-controls"));
      var reveal = input.type === "password";
      input.type = reveal ? "text" : "password";
      // A toggle button: its name stays "Show password" (what it shows), its state is aria-pressed.
      toggle.setAttribute("aria-pressed", reveal ? "true" : "false");
    });

    // An error goes away as soon as its field is edited.
    form.addEventListener("input", function (event) {
      var name = event.target.name;
      if (FORM_FIELDS.indexOf(name) >= 0) setFieldError(name, "");
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      setFormError("");
      var values = {
        firstName: form.elements.first_name.value.trim(),
        lastName: form.elements.last_name.value.trim(),
        password: form.elements.password.value,
      };
      if (showFieldErrors(localErrors(values))) return;
      AC.busy(button, true);
      AC.ready()
        .then(function (clerk) {
          var params = { strategy: "ticket", ticket: ticket, firstName: values.firstName, lastName: values.lastName, password: values.password };
          return clerk.client.signUp.create(params).then(
            function (signUp) { return finish(clerk, signUp); },
            function (err) {
              var first = AC.firstError(err);
              // The email has an account after all (made since the link was sent): join by signing in instead.
              if (first && first.code === "form_identifier_exists" && first.meta && first.meta.paramName === "email_address") {
                return join(clerk);
              }
              throw err;
            }
          );
        })
        .catch(function (err) {
          AC.busy(button, false);
          var first = AC.firstError(err);
          if (AC.ticketProblem(err) && !(first.meta && FORM_FIELDS.indexOf(first.meta.paramName) >= 0)) {
            showProblem(AC.ticketProblem(err));
            return;
          }
          if (!showFieldErrors(AC.fieldErrors(err, FORM_FIELDS))) setFormError(AC.message(err));
        });
    });
  }

  // ------------------------------------------------------------------------------------------- start
  function init() {
    if (root.getAttribute("data-state") !== "ready") return; // the server already explained the problem
    if (!ticket) return panel("missing");
    initForm();
    root.querySelector('[data-action="switch-account"]').addEventListener("click", function (event) {
      var button = event.currentTarget;
      AC.busy(button, true);
      AC.ready()
        .then(function (clerk) {
          // The click on "Sign out and continue" is the person's consent: an existing account joins right away.
          return AC.signOut(clerk).then(function () { return status === "sign_in" ? join(clerk) : proceed(clerk); });
        })
        .catch(showError)
        .then(function () { AC.busy(button, false); });
    });
    AC.ready().then(start).catch(showError);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
