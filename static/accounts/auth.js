/*
 * ClerkJS on our pages. Uses only documented ClerkJS calls, so it runs the same against real Clerk and against the
 * Clerk emulator: Clerk.load(), Clerk.session / Clerk.session.getToken(), Clerk.client.signIn.create(),
 * Clerk.setActive() and Clerk.signOut().
 *
 * - Signed-in pages (<body data-clerk-session>): load ClerkJS, which keeps the `__session` cookie fresh.
 * - The sign-in form ([data-clerk-sign-in]): email + password to Clerk, activate the session, go to `next`.
 * - The sign-out page ([data-clerk-sign-out]): end the Clerk session, then go to the sign-in page.
 */
(function () {
  "use strict";

  var RESUME_KEY = "auth:resumed-at";
  var loading = null;

  function clerkReady() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      function start() {
        if (!window.Clerk) {
          reject(new Error("The sign-in service could not be reached. Check your connection and reload the page."));
          return;
        }
        window.Clerk.load().then(function () { resolve(window.Clerk); }, reject);
      }
      if (window.Clerk || document.readyState === "complete") start();
      else window.addEventListener("load", start, { once: true });
    });
    return loading;
  }

  function messageOf(err) {
    var first = err && err.errors && err.errors[0];
    if (first) return first.longMessage || first.message || "Sign-in failed.";
    return (err && err.message) || "Something went wrong. Try again.";
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  function clearSessionCookie() {
    document.cookie = "__session=; Max-Age=0; path=/; SameSite=Lax";
  }

  function initSignIn(form) {
    var next = form.getAttribute("data-next") || "/dashboard/";
    var button = form.querySelector("button[type=submit]");
    var label = button ? button.textContent : "";
    var errorBox = document.getElementById("sign-in-error");
    var statusBox = document.getElementById("sign-in-status");

    function busy(on) {
      if (!button) return;
      button.disabled = on;
      button.setAttribute("aria-busy", on ? "true" : "false");
      button.textContent = on ? button.getAttribute("data-busy-label") || label : label;
    }

    // Already signed in to Clerk (the 60-second session token in our cookie had run out): refresh it and go on.
    // Only once in a short while, so a session this app refuses cannot bounce the browser back and forth.
    clerkReady().then(function (clerk) {
      if (!clerk.session) return;
      var last = Number(window.sessionStorage.getItem(RESUME_KEY) || 0);
      if (Date.now() - last < 15000) {
        show(errorBox, "This app did not accept your session. Sign in again; if this keeps happening, contact your administrator.");
        return clerk.signOut();
      }
      window.sessionStorage.setItem(RESUME_KEY, String(Date.now()));
      show(statusBox, "You are already signed in. Taking you back…");
      busy(true);
      return clerk.session.getToken().then(function () { window.location.replace(next); });
    }).catch(function (err) {
      show(errorBox, messageOf(err));
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
      busy(true);
      clerkReady()
        .then(function (clerk) {
          return clerk.client.signIn.create({ identifier: identifier, password: password }).then(function (signIn) {
            if (signIn.status !== "complete") {
              throw new Error("This account needs another sign-in step that this page does not support yet.");
            }
            return clerk.setActive({ session: signIn.createdSessionId });
          });
        })
        .then(function () {
          window.sessionStorage.setItem(RESUME_KEY, String(Date.now()));
          window.location.assign(next);
        })
        .catch(function (err) {
          busy(false);
          show(errorBox, messageOf(err));
          form.elements.password.select();
        });
    });
  }

  function initSignOut(el) {
    var target = el.getAttribute("data-redirect") || "/sign-in/";
    window.sessionStorage.removeItem(RESUME_KEY);
    clerkReady()
      .then(function (clerk) { return clerk.session || clerk.user ? clerk.signOut() : null; })
      .catch(function () { /* our cookie is gone either way; the sign-in page starts clean */ })
      .then(function () {
        clearSessionCookie();
        window.location.replace(target);
      });
  }

  function init() {
    var signIn = document.querySelector("[data-clerk-sign-in]");
    var signOut = document.querySelector("[data-clerk-sign-out]");
    if (signOut) initSignOut(signOut);
    else if (signIn) initSignIn(signIn);
    else if (document.body.hasAttribute("data-clerk-session")) {
      clerkReady().catch(function () { /* the page works without it until the session token runs out */ });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
