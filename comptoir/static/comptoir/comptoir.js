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

  // Global search (header): arrow keys move through the drop-down's results, Enter opens one, Escape closes.
  function searchHits(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-search-hit]"));
  }
  function searchSelect(form, index) {
    var input = form.querySelector("input[name='q']");
    var hits = searchHits(form);
    hits.forEach(function (hit, position) {
      hit.classList.toggle("active", position === index);
      hit.setAttribute("aria-selected", position === index ? "true" : "false");
    });
    if (hits[index]) input.setAttribute("aria-activedescendant", hits[index].id);
    else input.removeAttribute("aria-activedescendant");
    form.dataset.selected = String(index);
  }
  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("[data-global-search]");
    if (!form || event.target.name !== "q") return;
    var hits = searchHits(form);
    var selected = parseInt(form.dataset.selected || "-1", 10);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!hits.length) return;
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      searchSelect(form, (selected + step + hits.length) % hits.length);
    } else if (event.key === "Enter" && hits[selected]) {
      event.preventDefault();
      window.location.href = hits[selected].href;
    } else if (event.key === "Escape") {
      form.querySelector("#global-search-results").innerHTML = "";
      event.target.setAttribute("aria-expanded", "false");
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "global-search-results") return;
    var form = event.detail.target.closest("[data-global-search]");
    form.dataset.selected = "-1";
    form.querySelector("input[name='q']").setAttribute("aria-expanded", searchHits(form).length ? "true" : "false");
  });
  document.addEventListener("click", function (event) {
    var form = document.querySelector("[data-global-search]");
    if (form && !form.contains(event.target)) {
      form.querySelector("#global-search-results").innerHTML = "";
      form.querySelector("input[name='q']").setAttribute("aria-expanded", "false");
    }
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
