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
