/*
 * /onboarding/phone/: add a phone number and verify it with the SMS code, through ClerkJS
 * (Clerk.user.createPhoneNumber, phoneNumber.prepareVerification({strategy: "phone_code"}),
 * phoneNumber.attemptVerification({code})); then the page posts to the server, which checks with Clerk itself.
 * "Use another number or send a new code" goes back to the number (the same number again sends a new code).
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-phone-onboarding]");
  if (!root) return;
  var numberForm = root.querySelector('[data-step="number"]');
  var codeForm = root.querySelector('[data-step="code"]');
  var confirmForm = root.querySelector('[data-step="confirm"]');
  var phone = null;

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

  function messageOf(err) {
    var first = err && err.errors && err.errors[0];
    return (first && (first.longMessage || first.message)) || (err && err.message) || "Something went wrong. Try again.";
  }

  function setError(form, text) {
    var box = form.querySelector("[data-error]");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function busy(button, on) {
    if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.textContent);
    button.disabled = on;
    button.textContent = on ? button.getAttribute("data-busy-label") : button.getAttribute("data-label");
  }

  numberForm.addEventListener("submit", function (event) {
    event.preventDefault();
    setError(numberForm, "");
    var value = numberForm.elements.phone_number.value.replace(/[\s()-]/g, "");
    if (!/^\+[0-9]{7,18}$/.test(value)) return setError(numberForm, "Enter the number with + and the country code.");
    var button = numberForm.querySelector("button");
    busy(button, true);
    clerkReady()
      .then(function (clerk) {
        var existing = (clerk.user.phoneNumbers || []).find(function (p) { return p.phoneNumber === value; });
        return existing ? existing : clerk.user.createPhoneNumber({ phoneNumber: value });
      })
      .then(function (created) {
        phone = created;
        // Verified already (the page was left before the server heard of it): the server checks with Clerk.
        if (phone.verification && phone.verification.status === "verified") return "verified";
        return phone.prepareVerification({ strategy: "phone_code" });
      })
      .then(function (result) {
        if (result === "verified") return confirmForm.submit();
        codeForm.querySelector("[data-sent-to]").textContent = value;
        setError(codeForm, "");
        codeForm.elements.code.value = "";
        numberForm.hidden = true;
        codeForm.hidden = false;
        codeForm.elements.code.focus();
      })
      .catch(function (err) { setError(numberForm, messageOf(err)); })
      .then(function () { busy(button, false); });
  });

  codeForm.querySelector("[data-change-number]").addEventListener("click", function () {
    codeForm.hidden = true;
    numberForm.hidden = false;
    numberForm.elements.phone_number.focus();
  });

  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    setError(codeForm, "");
    var button = codeForm.querySelector("button");
    busy(button, true);
    phone
      .attemptVerification({ code: codeForm.elements.code.value.trim() })
      .then(function () { confirmForm.submit(); })
      .catch(function (err) { busy(button, false); setError(codeForm, messageOf(err)); });
  });
})();
