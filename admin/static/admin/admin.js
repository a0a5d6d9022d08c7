// Destructive buttons ask first: <form data-confirm="确定删除吗？">.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// File inputs with data-max-total="<bytes>" stop the form before the server refuses a body that is
// too big (the typed text would be lost with the refusal): the hint next to the field says why.
document.addEventListener("submit", function (event) {
  var inputs = event.target.querySelectorAll("input[type=file][data-max-total]");
  for (var i = 0; i < inputs.length; i++) {
    var input = inputs[i];
    var total = 0;
    for (var j = 0; j < input.files.length; j++) {
      total += input.files[j].size;
    }
    if (total > Number(input.getAttribute("data-max-total"))) {
      event.preventDefault();
      var note = input.parentNode.querySelector(".too-big");
      note.hidden = false;
      input.focus();
      return;
    }
  }
});

// 「返回上一页」 on error pages: <a data-back>. The admin's Content-Security-Policy allows no inline
// script, and a javascript: link is inline script.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("[data-back]") : null;
  if (link) {
    event.preventDefault();
    window.history.back();
  }
});

// Phone width: the menu button opens and closes the navigation and the account row (admin.css).
document.addEventListener("click", function (event) {
  var button = event.target.closest(".menu-toggle");
  if (!button) {
    return;
  }
  var open = document.body.classList.toggle("menu-open");
  button.setAttribute("aria-expanded", open ? "true" : "false");
});

// A refused form: the cursor goes to the first field to fix (the server marks it autofocus too, for
// when this script is not run), and the error summary's links move the cursor to their field.
function focusField(id, centre) {
  var target = document.getElementById(id);
  if (!target) {
    return false;
  }
  if (centre) {
    (target.closest(".field") || target).scrollIntoView({ block: "center" });
  }
  // Without centring, the page scrolls only if the field is out of sight: the summary stays in view.
  target.focus({ preventScroll: Boolean(centre) });
  return true;
}

document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (!summary) {
    return;
  }
  var first = summary.querySelector("a[href^='#']");
  if (!first || !focusField(first.getAttribute("href").slice(1), false)) {
    summary.focus();
  }
});

document.addEventListener("click", function (event) {
  var link = event.target.closest(".error-summary a[href^='#']");
  if (link && focusField(link.getAttribute("href").slice(1), true)) {
    event.preventDefault();
  }
});
