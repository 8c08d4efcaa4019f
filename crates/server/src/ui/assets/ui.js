// Flotilla dashboard: follow the event stream and fetch the page's live part again when
// something happened (at most one fetch at a time, none while a field of it is being edited).
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var timer = null, busy = false, again = false;

  function editing() {
    var el = document.activeElement;
    return el && live.contains(el) && (el.tagName === "INPUT" || el.tagName === "SELECT");
  }

  function refresh() {
    if (busy || editing()) { again = true; return; }
    busy = true;
    fetch(location.pathname + location.search, { headers: { "X-Flotilla-Fragment": "1" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.redirected || r.status === 401) { location.reload(); throw new Error("signed out"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        live.innerHTML = html;
        document.body.setAttribute("data-refreshed", String(Date.now()));
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  live.addEventListener("focusout", function () { if (again) { again = false; schedule(); } });
  var source = new EventSource("/ui/stream");
  source.addEventListener("flotilla", schedule);
  // Once the stream is open (and after each reconnect), fetch the page once: what changed
  // between the page's render and the subscription sent no event this page heard.
  source.addEventListener("open", function () { document.body.setAttribute("data-stream", "open"); schedule(); });
  // Leaving the page closes its stream at once: a browser keeps six connections per server, and
  // streams of pages left behind (torn down late on a busy machine) held them, so the next page's
  // request waited for one.
  // A page the browser kept and shows again (back or forward) loads afresh, with a stream.
  window.addEventListener("pagehide", function () { source.close(); });
  window.addEventListener("pageshow", function (e) { if (e.persisted) { location.reload(); } });
})();
