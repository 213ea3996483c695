// 我的任务: on a phone the filters fold away (unless a filter is in use), so the list is on the first screen.
(function () {
  "use strict";
  var box = document.querySelector("details[data-collapse-narrow]");
  if (!box || box.hasAttribute("data-active")) return;
  if (window.matchMedia("(max-width: 600px)").matches) box.open = false;
})();
