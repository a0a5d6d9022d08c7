// The announcement body's editor (Quill, vendored in admin/static/vendor/; loaded by announcements/form.html
// only). Progressive enhancement: the <textarea data-editor> stays the form field. This script mounts the
// editor over it and copies the editor's HTML back into it when the form is sent; without the script the
// textarea takes HTML as before. Either way the server sanitises what arrives
// (backend/announcements/sanitize.py), so nothing here is a safety measure.
(function () {
  "use strict";

  var textarea = document.querySelector("textarea[data-editor]");
  if (!textarea || typeof window.Quill === "undefined") {
    return;
  }

  // Quill has no tables: mounting it over a body with one would silently drop the table on save.
  if (/<table\b/i.test(textarea.value)) {
    note(textarea, "正文里有表格，编辑器无法保留表格，所以这里直接编辑 HTML。");
    return;
  }

  // What the sanitiser keeps (p, h2–h4, strong, em, u, lists, blockquote, links, https images): offering
  // more (colours, fonts) would only be stripped on save.
  var FORMATS = ["header", "bold", "italic", "underline", "list", "blockquote", "link", "image"];
  var TOOLBAR = [
    [{ header: [2, 3, false] }],
    ["bold", "italic", "underline"],
    [{ list: "ordered" }, { list: "bullet" }],
    ["blockquote", "link"],
    ["clean"],
  ];
  // The toolbar's buttons are icons: say in Chinese what each does (screen readers and tooltips).
  var LABELS = {
    "ql-header": "标题级别",
    "ql-bold": "加粗",
    "ql-italic": "倾斜",
    "ql-underline": "下划线",
    "ql-list ordered": "编号列表",
    "ql-list bullet": "项目符号列表",
    "ql-blockquote": "引用",
    "ql-link": "链接",
    "ql-clean": "清除格式",
  };

  var holder = document.createElement("div");
  holder.className = "rich-editor";
  var area = document.createElement("div");
  holder.appendChild(area);
  textarea.parentNode.insertBefore(holder, textarea);

  var quill = new window.Quill(area, {
    theme: "snow",
    formats: FORMATS,
    placeholder: "在这里输入正文……",
    modules: {
      toolbar: TOOLBAR,
      // Tab leaves the editor (keyboard users must get out of it); lists still indent with Tab.
      keyboard: { bindings: { tab: false } },
    },
  });
  quill.setContents(quill.clipboard.convert({ html: textarea.value }), "silent");
  quill.history.clear();

  var editor = quill.root;
  editor.setAttribute("role", "textbox");
  editor.setAttribute("aria-multiline", "true");
  var label = document.querySelector('label[for="' + textarea.id + '"]');
  if (label) {
    label.id = label.id || textarea.id + "-label";
    editor.setAttribute("aria-labelledby", label.id);
    label.addEventListener("click", function () {
      quill.focus();
    });
  }
  if (textarea.getAttribute("aria-invalid") === "true" || textarea.closest(".has-error")) {
    editor.setAttribute("aria-invalid", "true");
  }
  var controls = holder.querySelectorAll(".ql-toolbar button, .ql-toolbar .ql-picker");
  for (var i = 0; i < controls.length; i++) {
    var control = controls[i];
    for (var key in LABELS) {
      var parts = key.split(" ");
      if (control.classList.contains(parts[0]) && (!parts[1] || control.value === parts[1])) {
        var target = control.querySelector(".ql-picker-label") || control;
        target.setAttribute("title", LABELS[key]);
        target.setAttribute("aria-label", LABELS[key]);
      }
    }
  }

  var linkInput = holder.querySelector(".ql-tooltip input[data-link]");
  if (linkInput) {
    linkInput.setAttribute("data-link", "https://");  // the theme's placeholder is its own website
  }

  textarea.hidden = true;
  toggleHints(true);

  var mounted = true;
  var source = document.createElement("button");
  source.type = "button";
  source.className = "btn small editor-source";
  source.textContent = "改为直接编辑 HTML";
  source.addEventListener("click", function () {
    textarea.value = html();
    mounted = false;
    holder.parentNode.removeChild(holder);
    source.parentNode.removeChild(source);
    textarea.hidden = false;
    toggleHints(false);
    textarea.focus();
  });
  holder.parentNode.insertBefore(source, textarea);

  textarea.form.addEventListener("submit", function () {
    if (mounted) {
      textarea.value = html();
    }
  });

  function html() {
    if (quill.getText().trim() === "" && !editor.querySelector("img")) {
      return "";
    }
    // Quill 2.0.3 writes every space as &nbsp; (quill issue #4509): that would stop lines wrapping
    // on a phone.
    return quill.getSemanticHTML().replace(/&nbsp;/g, " ");
  }

  function toggleHints(editing) {
    var hints = textarea.parentNode.querySelectorAll("[data-hint]");
    for (var i = 0; i < hints.length; i++) {
      hints[i].hidden = (hints[i].getAttribute("data-hint") === "editor") !== editing;
    }
  }

  function note(field, text) {
    var hint = document.createElement("div");
    hint.className = "hint";
    hint.textContent = text;
    field.parentNode.insertBefore(hint, field.nextSibling);
  }
})();
