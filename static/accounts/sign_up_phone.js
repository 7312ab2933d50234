/*
 * window.SignUpPhone: finish a ticket sign-up that Clerk answered with status "missing_requirements" because of
 * its phone number (an instance that requires or verifies phones at sign-up), in place, on both accept pages.
 *
 *   SignUpPhone.applies(signUp)          → true when the phone number is all that is missing or unverified
 *   SignUpPhone.finish(container, signUp) → Promise<signUp> once Clerk says "complete"; shows
 *                                            templates/accounts/_sign_up_phone.html inside `container`
 * Clerk calls: signUp.update({phoneNumber}), signUp.preparePhoneNumberVerification(),
 * signUp.attemptPhoneNumberVerification({code}).
 */
(function () {
  "use strict";

  var AC = window.AppClerk;
  var PHONE = "phone_number";

  function list(value) { return Array.isArray(value) ? value : []; }

  function applies(signUp) {
    if (!signUp || signUp.status !== "missing_requirements") return false;
    var missing = list(signUp.missingFields);
    var unverified = list(signUp.unverifiedFields);
    var others = missing.concat(unverified).filter(function (f) { return f !== PHONE; });
    return others.length === 0 && (missing.indexOf(PHONE) >= 0 || unverified.indexOf(PHONE) >= 0);
  }

  function show(el, text) {
    el.textContent = text || "";
    el.hidden = !text;
  }

  function finish(container, signUp) {
    var root = container.querySelector("[data-sign-up-phone]");
    var numberForm = root.querySelector('[data-phone-step="number"]');
    var codeForm = root.querySelector('[data-phone-step="code"]');
    container.querySelectorAll("[data-panel]").forEach(function (el) { el.hidden = el !== root; });

    return new Promise(function (resolve, reject) {
      function step(current) {
        signUp = current;
        if (signUp.status === "complete") return resolve(signUp);
        if (!applies(signUp)) return reject(new Error("Your account needs a step this page does not support. Contact your administrator."));
        if (list(signUp.missingFields).indexOf(PHONE) >= 0) return askNumber();
        return sendCode();
      }

      function askNumber() {
        codeForm.hidden = true;
        numberForm.hidden = false;
        numberForm.elements.phone_number.focus();
      }

      function sendCode(button) {
        AC.busy(button, true);
        return signUp.preparePhoneNumberVerification().then(function (prepared) {
          signUp = prepared;
          codeForm.querySelector("[data-sent-to]").textContent = signUp.phoneNumber || "";
          show(codeForm.querySelector("[data-error]"), "");
          numberForm.hidden = true;
          codeForm.hidden = false;
          codeForm.elements.code.value = "";
          codeForm.elements.code.focus();
        }).catch(function (err) {
          if (codeForm.hidden) askNumber();
          show((codeForm.hidden ? numberForm : codeForm).querySelector("[data-error]"), AC.message(err));
        }).then(function () { AC.busy(button, false); });
      }

      numberForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var box = numberForm.querySelector("[data-error]");
        show(box, "");
        var value = numberForm.elements.phone_number.value.replace(/[\s()-]/g, "");
        if (!/^\+[0-9]{7,18}$/.test(value)) return show(box, "Enter the number with + and the country code.");
        var button = numberForm.querySelector("button[type=submit]");
        AC.busy(button, true);
        signUp.update({ phoneNumber: value })
          .then(function (updated) {
            AC.busy(button, false);
            signUp = updated;
            if (updated.status === "complete" || !applies(updated)) return step(updated);
            return sendCode(button);
          })
          .catch(function (err) { AC.busy(button, false); show(box, AC.message(err)); });
      });

      codeForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var box = codeForm.querySelector("[data-error]");
        show(box, "");
        var code = codeForm.elements.code.value.trim();
        if (!code) return show(box, "Enter the code from the SMS.");
        var button = codeForm.querySelector("button[type=submit]");
        AC.busy(button, true);
        signUp.attemptPhoneNumberVerification({ code: code })
          .then(function (attempted) { step(attempted); })
          .catch(function (err) { AC.busy(button, false); show(box, AC.message(err)); });
      });

      root.querySelector("[data-resend]").addEventListener("click", function (event) { sendCode(event.currentTarget); });

      root.querySelector("h1").focus();
      step(signUp);
    });
  }

  window.SignUpPhone = { applies: applies, finish: finish };
})();
