// The header on a phone: the navigation and the account line fold behind the 菜单 button (a
// disclosure button: aria-expanded, aria-controls). Loaded right after the header, so the header
// is folded before the page is first drawn; without this script everything stays shown.
(function () {
  "use strict";
  var button = document.querySelector(".topbar .menu-button");
  var menu = document.getElementById("site-menu");
  if (!button || !menu) return;
  var header = button.closest(".topbar");

  function show(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    header.classList.toggle("menu-open", open);
  }

  header.classList.add("has-menu");
  button.hidden = false;
  show(false);
  button.addEventListener("click", function () {
    show(button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the open menu and gives focus back to its button.
  header.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      show(false);
      button.focus();
    }
  });
})();
