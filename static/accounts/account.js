/*
 * /account/: the signed-in person's name, password and phone number, through ClerkJS's user resource:
 *   Clerk.user.update({firstName, lastName})
 *   Clerk.user.updatePassword({currentPassword, newPassword})
 *   Clerk.user.createPhoneNumber({phoneNumber}) → phoneNumber.prepareVerification() → attemptVerification({code})
 *   → Clerk.user.update({primaryPhoneNumberId}) and the previous numbers removed (phoneNumber.destroy())
 * Clerk tells our database through its user.updated webhook.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-account]");
  if (!root) return;
  var AC = window.AppClerk;
  var nameForm = document.getElementById("account-name");
  var passwordForm = document.getElementById("account-password");
  var numberForm = document.getElementById("account-phone");
  var codeForm = document.getElementById("account-phone-code");
  var phone = null;

  function show(el, text) {
    if (!el) return;
    el.textContent = text || "";
    el.hidden = !text;
  }

  function flash(el) {
    el.hidden = false;
    window.setTimeout(function () { el.hidden = true; }, 4000);
  }

  function setFieldErrors(form, names, errors) {
    var focus = null;
    names.forEach(function (name) {
      var box = form.querySelector('[data-error-for="' + name + '"]');
      var input = form.elements[name];
      show(box, errors[name] || "");
      if (errors[name]) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (errors[name] && !focus) focus = input;
    });
    if (focus) focus.focus();
    return Boolean(focus);
  }

  function submitting(form, names, check, run) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      show(form.querySelector("[data-form-error]"), "");
      form.querySelector("[data-saved]").hidden = true;
      if (setFieldErrors(form, names, check())) return;
      AC.busy(button, true);
      AC.ready()
        .then(run)
        .then(function () { flash(form.querySelector("[data-saved]")); })
        .catch(function (err) {
          if (!setFieldErrors(form, names, AC.fieldErrors(err, names))) {
            show(form.querySelector("[data-form-error]"), AC.message(err));
          }
        })
        .then(function () { AC.busy(button, false); });
    });
  }

  function currentPhone(user) {
    var primary = user.primaryPhoneNumber;
    root.querySelector("[data-phone-current]").textContent = primary
      ? "Current number: " + primary.phoneNumber
      : "No phone number on your account yet.";
  }

  // ----------------------------------------------------------------------------------------- name
  submitting(nameForm, ["first_name", "last_name"], function () {
    var errors = {};
    if (!nameForm.elements.first_name.value.trim()) errors.first_name = "Enter your first name.";
    if (!nameForm.elements.last_name.value.trim()) errors.last_name = "Enter your last name.";
    return errors;
  }, function (clerk) {
    return clerk.user.update({
      firstName: nameForm.elements.first_name.value.trim(),
      lastName: nameForm.elements.last_name.value.trim(),
    });
  });

  // ----------------------------------------------------------------------------------------- password
  submitting(passwordForm, ["current_password", "new_password"], function () {
    var errors = {};
    if (!passwordForm.elements.current_password.value) errors.current_password = "Enter your current password.";
    if (passwordForm.elements.new_password.value.length < 8) errors.new_password = "Use at least 8 characters.";
    return errors;
  }, function (clerk) {
    return clerk.user
      .updatePassword({
        currentPassword: passwordForm.elements.current_password.value,
        newPassword: passwordForm.elements.new_password.value,
      })
      .then(function () { passwordForm.reset(); });
  });

  // ----------------------------------------------------------------------------------------- phone
  numberForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var errorBox = numberForm.querySelector("[data-error]");
    show(errorBox, "");
    root.querySelector("[data-phone-saved]").hidden = true;
    var value = numberForm.elements.phone_number.value.replace(/[\s()-]/g, "");
    if (!/^\+[0-9]{7,18}$/.test(value)) return show(errorBox, "Enter the number with + and the country code.");
    var button = numberForm.querySelector("button[type=submit]");
    AC.busy(button, true);
    AC.ready()
      .then(function (clerk) {
        var existing = clerk.user.phoneNumbers.find(function (p) { return p.phoneNumber === value; });
        return existing || clerk.user.createPhoneNumber({ phoneNumber: value });
      })
      .then(function (created) {
        phone = created;
        return phone.prepareVerification();
      })
      .then(function () {
        codeForm.querySelector("[data-sent-to]").textContent = value;
        codeForm.elements.code.value = "";
        show(codeForm.querySelector("[data-error]"), "");
        numberForm.hidden = true;
        codeForm.hidden = false;
        codeForm.elements.code.focus();
      })
      .catch(function (err) { show(errorBox, AC.message(err)); })
      .then(function () { AC.busy(button, false); });
  });

  codeForm.querySelector("[data-change-number]").addEventListener("click", function () {
    codeForm.hidden = true;
    numberForm.hidden = false;
    numberForm.elements.phone_number.focus();
  });

  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var errorBox = codeForm.querySelector("[data-error]");
    show(errorBox, "");
    var button = codeForm.querySelector("button[type=submit]");
    AC.busy(button, true);
    AC.ready()
      .then(function (clerk) {
        return phone
          .attemptVerification({ code: codeForm.elements.code.value.trim() })
          .then(function (verified) { return clerk.user.update({ primaryPhoneNumberId: verified.id }); })
          .then(function (user) {
            var others = user.phoneNumbers.filter(function (p) { return p.id !== phone.id; });
            return Promise.all(others.map(function (p) { return p.destroy(); }));
          })
          .then(function () { return clerk.user.reload(); })
          .then(function (user) {
            currentPhone(user);
            numberForm.reset();
            codeForm.hidden = true;
            numberForm.hidden = false;
            flash(root.querySelector("[data-phone-saved]"));
          });
      })
      .catch(function (err) { show(errorBox, AC.message(err)); })
      .then(function () { AC.busy(button, false); });
  });

  AC.ready()
    .then(function (clerk) {
      if (!clerk.user) throw new Error("Your session ended. Reload the page to sign in again.");
      currentPhone(clerk.user);
    })
    .catch(function (err) { show(root.querySelector("[data-load-error]"), AC.message(err)); });
})();
