// The patient simulator works without this file (reload the page to see what changed).
// With it: the conversation scrolls to the newest text, and while the page is open and
// visible it fetches the conversation and the consent again — every 1.5 s while a message
// is still queued or being sent, else every 4 s — until nothing has changed for 5 minutes.
// Each fetch is a read, in the access log as dev:simulator like the page itself.
(function () {
  "use strict";
  var QUIET_FOR = 5 * 60 * 1000;
  var lastChange = Date.now();
  var waiting = false; // a refresh is scheduled or on its way

  function screen() { return document.getElementById("screen"); }
  function scrollDown() {
    var s = screen();
    if (s) { s.scrollTop = s.scrollHeight; }
  }
  function nearBottom() {
    var s = screen();
    return !s || s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }
  function swap(fresh, id) {
    var now = document.getElementById(id);
    var next = fresh.getElementById(id);
    if (!now || !next || now.outerHTML === next.outerHTML) { return false; }
    now.replaceWith(next);
    return true;
  }
  function schedule() {
    var thread = document.getElementById("thread");
    waiting = Boolean(thread) && Date.now() - lastChange <= QUIET_FOR;
    if (waiting) {
      window.setTimeout(refresh, thread.dataset.moving === "true" ? 1500 : 4000);
    }
  }
  function refresh() {
    var thread = document.getElementById("thread");
    if (document.visibilityState !== "visible") { schedule(); return; }
    var stay = nearBottom();
    fetch(thread.dataset.refresh, { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.text() : null; })
      .then(function (html) {
        if (html !== null) {
          var fresh = new DOMParser().parseFromString(html, "text/html");
          var changed = swap(fresh, "thread");
          changed = swap(fresh, "consent") || changed;
          if (changed) {
            lastChange = Date.now();
            if (stay) { scrollDown(); }
          }
        }
        schedule();
      })
      .catch(schedule);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") { return; }
    lastChange = Date.now(); // looked at again: keep it current for another while
    if (!waiting) { schedule(); }
  });
  scrollDown();
  schedule();
})();
