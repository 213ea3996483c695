// Obligation page: show only the evidence fields that match the chosen kind.
(function () {
  "use strict";
  var fieldsFor = { file: ["file"], link: ["url"], document: ["document_number"] };
  document.querySelectorAll("[data-evidence-form]").forEach(function (form) {
    var kind = form.querySelector("select[name='evidence-kind']");
    if (!kind) return;
    function sync() {
      ["file", "url", "document_number"].forEach(function (name) {
        var input = form.querySelector("[name='evidence-" + name + "']");
        if (!input) return;
        var box = input.closest(".field");
        var shown = (fieldsFor[kind.value] || []).indexOf(name) !== -1;
        if (box) box.hidden = !shown;
      });
    }
    kind.addEventListener("change", sync);
    sync();
  });
})();

// "到“佐证材料”处上传" beside a 提交核验 that still lacks evidence: open the upload form too.
(function () {
  "use strict";
  document.querySelectorAll("a[href='#evidence']").forEach(function (link) {
    link.addEventListener("click", function () {
      var form = document.querySelector("#evidence details");
      if (form) form.open = true;
    });
  });
})();
