/*
 * Apollo Sandbox, the same embed Apollo Server's landing page makes, preloaded
 * with the README examples and the login's token. It needs Apollo's servers:
 * when the script cannot be loaded, the page says so and links the offline explorer.
 */
(function () {
  'use strict';
  var SANDBOX = 'https://embeddable-sandbox.cdn.apollographql.com/_latest/embeddable-sandbox.umd.production.min.js';
  var session = window.LibFedSession;
  var config = session.config();
  var fallback = document.getElementById('fallback');
  var started = false;

  function unavailable() {
    if (started) return;
    fallback.textContent = 'Apollo Sandbox could not be loaded: this browser cannot reach Apollo\u2019s servers (offline?). ';
    var link = document.createElement('a');
    link.href = '/explorer/';
    link.textContent = 'Open the offline explorer (GraphiQL, served by this gateway)';
    fallback.appendChild(link);
    fallback.classList.add('error');
  }

  function start(s) {
    started = true;
    fallback.hidden = true;
    new window.EmbeddedSandbox({
      target: '#sandbox',
      initialEndpoint: location.origin + config.graphqlPath,
      initialState: {
        document: config.examples
          .map(function (e) {
            return '# ' + e.title + '\n' + e.query;
          })
          .join('\n\n'),
        variables: {},
        headers: s ? { Authorization: 'Bearer ' + s.token } : {},
        includeCookies: false,
      },
      endpointIsEditable: false,
      hideCookieToggle: true,
      runTelemetry: false,
    });
  }

  var first = true;
  session.mount(config.graphqlPath, document.getElementById('login'), document.getElementById('who'), document.getElementById('logout'), function (s) {
    // Sandbox takes its headers when it starts: a new login starts it again.
    if (!first) return location.reload();
    first = false;
    var script = document.createElement('script');
    script.src = SANDBOX;
    script.onload = function () {
      if (window.EmbeddedSandbox) start(s);
      else unavailable();
    };
    script.onerror = unavailable;
    setTimeout(unavailable, 15000);
    document.head.appendChild(script);
  });
})();
