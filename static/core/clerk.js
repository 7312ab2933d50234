/*
 * window.AppClerk: what every page script shares about Clerk's own ClerkJS (loaded by the {% clerk_js %} tag).
 *
 *   AppClerk.ready()            → Promise<Clerk> once Clerk.load() resolved (one load per page)
 *   AppClerk.signOut(clerk)     → ends the Clerk session and stays on this page (ClerkJS would otherwise navigate
 *                                 to afterSignOutUrl); resolves when done
 *   AppClerk.errorCode(err)     → Clerk's error code (err.errors[0].code), or ""
 *   AppClerk.ticketProblem(err) → "expired" | "revoked" | "accepted" | "invalid" for Clerk's ticket errors, else ""
 *   AppClerk.message(err)       → a sentence for a person (Clerk's longMessage / message, or ours)
 *   AppClerk.fieldErrors(err, names) → {name: message} from Clerk's field errors (meta.paramName = our input name)
 *   AppClerk.busy(button, on)   → disables a button and shows its data-busy-label while on
 *   AppClerk.clearSessionCookie()
 *
 * Only documented ClerkJS calls are used anywhere (tests/test_page_scripts.py checks the names against the
 * vendored bundle), so pages run the same on real Clerk and on the Clerk emulator.
 */
(function () {
  "use strict";

  var UNREACHABLE = "The sign-in service could not be reached. Check your connection and reload the page.";

  // Clerk's ticket errors (sign-in or sign-up with strategy "ticket") → the accept page panel that explains them.
  // The codes are Clerk's Frontend API error index (docs/clerk-emulator.md, "Ticket errors"): organization
  // invitations (workspaces) and application invitations (staff) have their own codes for revoked and accepted.
  // Clerk cannot tell a link replaced by a resend from a revoked one; the server can, and says so before ClerkJS runs.
  var TICKET_PROBLEMS = {
    ticket_expired_code: "expired",
    ticket_invalid_code: "invalid",
    organization_invitation_revoked_code: "revoked",
    revoked_invitation: "revoked",
    organization_invitation_already_accepted: "accepted",
    invitation_already_accepted: "accepted",
  };

  var loading = null;

  function ready() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      function start() {
        var clerk = window.Clerk;
        if (!clerk || typeof clerk.load !== "function") {
          reject(new Error(UNREACHABLE));
          return;
        }
        clerk.load().then(function () {
          // Clerk.load() resolves even when every Frontend API call failed; a loaded ClerkJS has a client.
          if (!clerk.loaded || !clerk.client) reject(new Error(UNREACHABLE));
          else resolve(clerk);
        }, function () { reject(new Error(UNREACHABLE)); });
      }
      if (window.Clerk || document.readyState === "complete") start();
      else window.addEventListener("load", start, { once: true });
    });
    return loading;
  }

  function signOut(clerk) {
    // With a callback ClerkJS ends the session, clears its cookies and calls us instead of navigating away.
    return clerk.signOut(function () { return null; });
  }

  function firstError(err) {
    return (err && err.errors && err.errors[0]) || null;
  }

  function errorCode(err) {
    var first = firstError(err);
    return (first && first.code) || (err && typeof err.code === "string" ? err.code : "");
  }

  function ticketProblem(err) {
    var first = firstError(err);
    if (!first || !TICKET_PROBLEMS[first.code]) return "";
    return TICKET_PROBLEMS[first.code];
  }

  // Clerk's words for a state we name differently: a deactivated person is "banned" in Clerk (we ban on deactivate).
  var OUR_WORDS = {
    user_banned:
      "Your account has been deactivated, so you cannot sign in. If you think this is a mistake, ask an " +
      "administrator of your organization to reactivate it.",
  };

  function message(err, fallback) {
    var first = firstError(err);
    if (first && OUR_WORDS[first.code]) return OUR_WORDS[first.code];
    if (first) return first.longMessage || first.message || fallback || "Clerk refused the request.";
    if (err && err.code === "network_error") return UNREACHABLE;
    return (err && err.message) || fallback || "Something went wrong. Try again.";
  }

  function fieldErrors(err, names) {
    var errors = {};
    ((err && err.errors) || []).forEach(function (e) {
      var name = e.meta && e.meta.paramName;
      if (names.indexOf(name) >= 0 && !errors[name]) errors[name] = e.longMessage || e.message;
    });
    return errors;
  }

  function busy(button, on) {
    if (!button) return;
    if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.textContent);
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    button.textContent = on ? button.getAttribute("data-busy-label") || button.getAttribute("data-label") : button.getAttribute("data-label");
  }

  function clearSessionCookie() {
    document.cookie = "__session=; Max-Age=0; path=/; SameSite=Lax";
  }

  window.AppClerk = {
    ready: ready,
    signOut: signOut,
    firstError: firstError,
    errorCode: errorCode,
    ticketProblem: ticketProblem,
    message: message,
    fieldErrors: fieldErrors,
    busy: busy,
    clearSessionCookie: clearSessionCookie,
  };
})();
