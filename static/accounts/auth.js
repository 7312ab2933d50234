/*
 * ClerkJS on the account pages, through static/core/clerk.js (AppClerk):
 *
 * - Signed-in pages (<body data-clerk-session>, and /api/docs/): load ClerkJS, which keeps the `__session` cookie fresh.
 * - The sign-in form ([data-clerk-sign-in]): Clerk.client.signIn.create({identifier, password}), then
 *   Clerk.setActive({session}) and `next`.
 * - The sign-out page ([data-clerk-sign-out]): end the Clerk session (staying on our page), then the sign-in page.
 * - "Forgot password?" ([data-clerk-reset]): Clerk's reset_password_email_code flow: signIn.create({strategy,
 *   identifier}) mails a code; signIn.attemptFirstFactor({strategy, code, password}) sets the new password and
 *   signs in.
 */
(function () {
  "use strict";

  var RESUME_KEY = "auth:resumed-at";
  var AC = window.AppClerk;

  function show(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  function activate(clerk, attempt, next) {
    if (attempt.status !== "complete" || !attempt.createdSessionId) {
      throw new Error("This account needs another sign-in step that this page does not support yet. Contact your administrator.");
    }
    return clerk.setActive({ session: attempt.createdSessionId }).then(function () {
      window.sessionStorage.setItem(RESUME_KEY, String(Date.now()));
      window.location.assign(next);
    });
  }

  function initSignIn(form) {
    var next = form.getAttribute("data-next") || "/dashboard/";
    var button = form.querySelector("button[type=submit]");
    var errorBox = document.getElementById("sign-in-error");
    var statusBox = document.getElementById("sign-in-status");

    // Already signed in to Clerk (the 60-second session token in our cookie had run out): refresh it and go on.
    // Only once in a short while, so a session this app refuses cannot bounce the browser back and forth.
    AC.ready().then(function (clerk) {
      if (!clerk.session) return null;
      var last = Number(window.sessionStorage.getItem(RESUME_KEY) || 0);
      if (Date.now() - last < 15000) {
        show(errorBox, "This app did not accept your session. Sign in again; if this keeps happening, contact your administrator.");
        return AC.signOut(clerk);
      }
      window.sessionStorage.setItem(RESUME_KEY, String(Date.now()));
      show(statusBox, "You are already signed in. Taking you back…");
      AC.busy(button, true);
      return clerk.session.getToken().then(function () { window.location.replace(next); });
    }).catch(function (err) {
      show(errorBox, AC.message(err));
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(errorBox, "");
      var identifier = form.elements.email.value.trim();
      var password = form.elements.password.value;
      if (!identifier || !password) {
        show(errorBox, "Enter your email address and password.");
        (identifier ? form.elements.password : form.elements.email).focus();
        return;
      }
      AC.busy(button, true);
      AC.ready()
        .then(function (clerk) {
          return clerk.client.signIn
            .create({ identifier: identifier, password: password })
            .then(function (signIn) { return activate(clerk, signIn, next); });
        })
        .catch(function (err) {
          AC.busy(button, false);
          show(errorBox, AC.message(err, "Sign-in failed."));
          form.elements.password.select();
        });
    });
  }

  function initReset(root) {
    var next = root.getAttribute("data-next") || "/dashboard/";
    var emailForm = root.querySelector('[data-step="email"]');
    var codeForm = root.querySelector('[data-step="code"]');
    var signIn = null;

    function setError(form, text) { show(form.querySelector("[data-error]"), text); }

    function sendCode(clerk, identifier) {
      return clerk.client.signIn
        .create({ strategy: "reset_password_email_code", identifier: identifier })
        .then(function (created) { signIn = created; });
    }

    emailForm.addEventListener("submit", function (event) {
      event.preventDefault();
      setError(emailForm, "");
      var identifier = emailForm.elements.email.value.trim();
      if (!identifier || identifier.indexOf("@") < 1) {
        setError(emailForm, "Enter the email address of your account.");
        emailForm.elements.email.focus();
        return;
      }
      var button = emailForm.querySelector("button[type=submit]");
      AC.busy(button, true);
      AC.ready()
        .then(function (clerk) { return sendCode(clerk, identifier); })
        .then(function () {
          codeForm.querySelector("[data-sent-to]").textContent = identifier;
          emailForm.hidden = true;
          codeForm.hidden = false;
          codeForm.elements.code.focus();
        })
        .catch(function (err) { setError(emailForm, AC.message(err)); })
        .then(function () { AC.busy(button, false); });
    });

    codeForm.querySelector("[data-change-email]").addEventListener("click", function () {
      codeForm.hidden = true;
      emailForm.hidden = false;
      emailForm.elements.email.focus();
    });

    codeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      setError(codeForm, "");
      var code = codeForm.elements.code.value.trim();
      var password = codeForm.elements.password.value;
      if (!code) return setError(codeForm, "Enter the code from the email.");
      if (password.length < 8) return setError(codeForm, "Choose a new password of at least 8 characters.");
      var button = codeForm.querySelector("button[type=submit]");
      AC.busy(button, true);
      AC.ready()
        .then(function (clerk) {
          return signIn
            .attemptFirstFactor({ strategy: "reset_password_email_code", code: code, password: password })
            .then(function (attempt) { return activate(clerk, attempt, next); });
        })
        .catch(function (err) {
          AC.busy(button, false);
          setError(codeForm, AC.message(err));
        });
    });
  }

  function initSignOut(el) {
    var target = el.getAttribute("data-redirect") || "/sign-in/";
    window.sessionStorage.removeItem(RESUME_KEY);
    AC.ready()
      .then(function (clerk) { return clerk.session || clerk.user ? AC.signOut(clerk) : null; })
      .catch(function () { /* our cookie is gone either way; the sign-in page starts clean */ })
      .then(function () {
        AC.clearSessionCookie();
        window.location.replace(target);
      });
  }

  function init() {
    var signIn = document.querySelector("[data-clerk-sign-in]");
    var signOut = document.querySelector("[data-clerk-sign-out]");
    var reset = document.querySelector("[data-clerk-reset]");
    if (signOut) initSignOut(signOut);
    else if (signIn) initSignIn(signIn);
    else if (reset) initReset(reset);
    else if (document.querySelector("[data-clerk-session]")) {
      AC.ready().catch(function () { /* the page works without it until the session token runs out */ });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
