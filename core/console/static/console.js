/* EchoDepth console: what every page needs. No inline scripts anywhere (CSP script-src 'self'). */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // htmx sends the session's CSRF token with every request it makes.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
  });

  // After a swap that replaces the page's content, move focus there so keyboard and screen-reader users follow.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "main") {
      event.detail.target.focus();
    }
  });

  window.EchoDepth = window.EchoDepth || {
    csrfToken: csrfToken,
    // Media this tab uploaded, by job id: the server deletes media after analysis, so the Result page plays
    // the user's own file from memory (a blob: URL), only while this tab lives.
    localMedia: new Map()
  };
})();
