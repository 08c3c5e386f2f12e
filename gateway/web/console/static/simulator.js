// The patient simulator works without this file. With it: the conversation scrolls to the
// newest text, and refreshes itself while a message is still queued or being sent.
(function () {
  "use strict";
  var tries = 0;
  function scroll() {
    var screen = document.getElementById("screen");
    if (screen) { screen.scrollTop = screen.scrollHeight; }
  }
  function poll() {
    var thread = document.getElementById("thread");
    if (!thread || thread.dataset.moving !== "true" || tries >= 30) { return; }
    tries += 1;
    window.setTimeout(function () {
      fetch(thread.dataset.refresh, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          thread.outerHTML = html;
          scroll();
          poll();
        })
        .catch(function () { /* the next page load shows it */ });
    }, 2000);
  }
  scroll();
  poll();
})();
