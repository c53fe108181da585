/* Comptoir back office: small progressive enhancements (the pages work without them). */
(function () {
  "use strict";

  // Forms carrying data-confirm ask before submitting (revoke a token...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Copy buttons: <button data-copy="#input-id" data-copied-label="Copié">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    source.select();
    var done = function () {
      var original = button.innerHTML;
      button.textContent = button.dataset.copiedLabel || "✓";
      window.setTimeout(function () { button.innerHTML = original; }, 2000);
    };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Opening hours: "Ajouter une plage" clones the formset's empty form and updates TOTAL_FORMS.
  function refreshClosedLabel(fieldset) {
    var label = fieldset.querySelector(".closed-label");
    if (!label) return;
    var open = Array.prototype.some.call(fieldset.querySelectorAll(".interval-row"), function (row) {
      var opens = row.querySelector("input[name$='-opens_at']");
      var removed = row.querySelector("input[name$='-DELETE']");
      return opens && opens.value && !(removed && removed.checked);
    });
    label.hidden = open;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-interval]");
    if (!button) return;
    var fieldset = button.closest("[data-formset]");
    var prefix = fieldset.dataset.prefix;
    var total = fieldset.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var template = fieldset.querySelector("template[data-empty-form]");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    fieldset.querySelector("[data-intervals]").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = fieldset.querySelector("input[name='" + prefix + "-" + index + "-opens_at']");
    if (first) first.focus();
  });
  document.addEventListener("change", function (event) {
    var fieldset = event.target.closest && event.target.closest("[data-formset]");
    if (fieldset) refreshClosedLabel(fieldset);
  });

  // After an invalid submit, put the keyboard focus on the first field in error.
  document.addEventListener("DOMContentLoaded", function () {
    var invalid = document.querySelector("main [aria-invalid='true'], main .field-invalid input, main .field-invalid select, main .field-invalid textarea");
    if (invalid) invalid.focus();
  });

  // HTMX: keep aria-busy in sync on the list results, and restore the focus on the search box.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var results = document.getElementById("list-results");
    if (results && event.detail.target === results) results.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterSettle", function () {
    var results = document.getElementById("list-results");
    if (results) results.setAttribute("aria-busy", "false");
  });
})();
