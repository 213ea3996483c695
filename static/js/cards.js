// Tables as cards on a phone (the CSS is in app.css, "Tables as cards"). Each cell of a
// <table class="cards"> is labelled with its column's header (data-label, read by the CSS), and
// the table is marked "as-cards". Without this script a table stays a table that scrolls sideways.
// A table htmx swaps in later (the dashboard's sections) is labelled when it arrives.
(function () {
  "use strict";

  function headerText(th) {
    if (th.dataset.label !== undefined) return th.dataset.label;
    // A sortable header carries its arrow (▲▼) after the name.
    return th.textContent.replace(/[▲▼]/g, "").replace(/\s+/g, " ").trim();
  }

  function label(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) return;
    var names = [];
    for (var i = 0; i < head.cells.length; i++) {
      for (var span = 0; span < head.cells[i].colSpan; span++) names.push(headerText(head.cells[i]));
    }
    for (var b = 0; b < table.tBodies.length; b++) {
      var rows = table.tBodies[b].rows;
      for (var r = 0; r < rows.length; r++) {
        var column = 0;
        for (var c = 0; c < rows[r].cells.length; c++) {
          var cell = rows[r].cells[c];
          // A cell across several columns ("暂无变更。") and a row's own header carry no label.
          if (cell.tagName === "TD" && cell.colSpan === 1 && names[column] && !cell.hasAttribute("data-label")) {
            cell.setAttribute("data-label", names[column]);
          }
          column += cell.colSpan;
        }
      }
    }
    table.classList.add("as-cards");
  }

  function labelAll(root) {
    if (root.matches && root.matches("table.cards")) label(root);
    if (root.querySelectorAll) root.querySelectorAll("table.cards").forEach(label);
  }

  labelAll(document);
  document.addEventListener("htmx:load", function (event) {
    labelAll(event.detail.elt);
  });
})();
