// Send page: show only the chosen template's fields. Without this script every template's
// fields show, and only the chosen template's are read.
(function () {
  "use strict";
  var select = document.getElementById("template");
  if (!select) { return; }
  function show() {
    var sets = document.querySelectorAll(".template-fields");
    for (var i = 0; i < sets.length; i += 1) {
      sets[i].hidden = sets[i].getAttribute("data-template") !== select.value;
    }
  }
  select.addEventListener("change", show);
  show();
}());
