/*
 * /onboarding/phone/: add a phone number and verify it with the SMS code, through Clerk's ClerkJS
 * (Clerk.user.createPhoneNumber, phoneNumber.prepareVerification() — it takes no arguments and always sends an
 * SMS code — and phoneNumber.attemptVerification({code})); then the page posts to the server, which checks with
 * Clerk itself.
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
  var AC = window.AppClerk;

  // An error is marked on its field: aria-invalid, and the message joins the field's description (after its
  // hint), so a screen reader reads it with the field; focus goes back to the field to fix it.
  function setError(form, text) {
    var box = form.querySelector("[data-error]");
    var field = form.querySelector("input:not([type=hidden])");
    box.textContent = text || "";
    box.hidden = !text;
    if (!field) return;
    var described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== box.id;
    });
    if (text) {
      described.push(box.id);
      field.setAttribute("aria-invalid", "true");
      field.focus();
    } else {
      field.removeAttribute("aria-invalid");
    }
    field.setAttribute("aria-describedby", described.join(" "));
  }

  if (!numberForm.hidden) numberForm.elements.phone_number.focus();

  numberForm.addEventListener("submit", function (event) {
    event.preventDefault();
    setError(numberForm, "");
    var value = numberForm.elements.phone_number.value.replace(/[\s()-]/g, "");
    if (!/^\+[0-9]{7,18}$/.test(value)) return setError(numberForm, "Enter the number with + and the country code.");
    var button = numberForm.querySelector("button");
    AC.busy(button, true);
    AC.ready()
      .then(function (clerk) {
        var existing = clerk.user.phoneNumbers.find(function (p) { return p.phoneNumber === value; });
        return existing ? existing : clerk.user.createPhoneNumber({ phoneNumber: value });
      })
      .then(function (created) {
        phone = created;
        // Verified already (the page was left before the server heard of it): the server checks with Clerk.
        if (phone.verification && phone.verification.status === "verified") return "verified";
        return phone.prepareVerification();
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
      .catch(function (err) { setError(numberForm, AC.message(err)); })
      .then(function () { AC.busy(button, false); });
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
    AC.busy(button, true);
    phone
      .attemptVerification({ code: codeForm.elements.code.value.trim() })
      .then(function () { confirmForm.submit(); })
      .catch(function (err) { AC.busy(button, false); setError(codeForm, AC.message(err)); });
  });
})();
