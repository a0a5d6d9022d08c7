// The activity form's 报名信息项 (loaded by activities/form.html only): a row editor over the textarea.
// Progressive enhancement: the textarea stays the form field, one item per line as
// 名称|类型|必填|选项 (admin/views/activities_forms.py parses it); this script hides it, shows one row
// per item (name, type, required, choices) and writes the same text back on every change. Without
// the script the textarea is edited by hand as before; the server checks whatever arrives.
(function () {
  "use strict";

  var textarea = document.querySelector("textarea[name=form_fields]");
  if (!textarea) {
    return;
  }
  var TYPES = ["文字", "数字", "单选"];

  function parse(text) {
    return text
      .split(/\r?\n/)
      .map(function (line) { return line.trim(); })
      .filter(function (line) { return line; })
      .map(function (line) {
        var parts = line.replace(/｜/g, "|").split("|").map(function (p) { return p.trim(); });
        return {
          label: parts[0] || "",
          kind: TYPES.indexOf(parts[1]) >= 0 ? parts[1] : (parts[1] ? parts[1] : "文字"),
          required: parts[2] === "必填",
          choices: parts[3] || "",
        };
      });
  }

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  var editor = element("div", { "class": "form-fields-editor" });
  var table = element("table", { "class": "grid" });
  var head = element("tr");
  ["名称", "类型", "必填", "选项（单选用，逗号分隔）", ""].forEach(function (title) {
    head.appendChild(element("th", {}, title));
  });
  table.appendChild(element("thead")).appendChild(head);
  var body = table.appendChild(element("tbody"));
  var add = element("button", { "type": "button", "class": "btn small" }, "添加一项");
  editor.appendChild(element("div", { "class": "table-scroll" })).appendChild(table);
  editor.appendChild(add);

  function write() {
    var lines = [];
    body.querySelectorAll("tr").forEach(function (row) {
      var label = row.querySelector("[data-part=label]").value.trim();
      var kind = row.querySelector("[data-part=kind]").value;
      var required = row.querySelector("[data-part=required]").checked ? "必填" : "选填";
      var choices = row.querySelector("[data-part=choices]").value.trim();
      if (!label && !choices) {
        return;
      }
      var parts = [label.replace(/[|｜]/g, " "), kind, required];
      if (kind === "单选" && choices) {
        parts.push(choices.replace(/[|｜]/g, " "));
      }
      lines.push(parts.join("|"));
    });
    textarea.value = lines.join("\n");
  }

  function addRow(item) {
    var row = element("tr");
    var label = element("input", { "type": "text", "data-part": "label", "maxlength": "50", "aria-label": "名称" });
    label.value = item.label;
    var kind = element("select", { "data-part": "kind", "aria-label": "类型" });
    var kinds = TYPES.indexOf(item.kind) >= 0 ? TYPES : TYPES.concat([item.kind]);
    kinds.forEach(function (name) {
      var option = element("option", { "value": name }, name);
      option.selected = name === item.kind;
      kind.appendChild(option);
    });
    var required = element("input", { "type": "checkbox", "data-part": "required", "aria-label": "必填" });
    required.checked = item.required;
    var choices = element("input", { "type": "text", "data-part": "choices", "aria-label": "选项" });
    choices.value = item.choices;
    var remove = element("button", { "type": "button", "class": "btn small" }, "删除");
    remove.addEventListener("click", function () {
      row.remove();
      write();
    });
    [label, kind, required, choices, remove].forEach(function (node) {
      row.appendChild(element("td")).appendChild(node);
    });
    body.appendChild(row);
    return label;
  }

  parse(textarea.value).forEach(addRow);
  add.addEventListener("click", function () {
    addRow({ label: "", kind: "文字", required: false, choices: "" }).focus();
  });
  editor.addEventListener("input", write);
  editor.addEventListener("change", write);
  textarea.hidden = true;
  textarea.parentNode.insertBefore(editor, textarea.nextSibling);
})();
