/*
 * The login of LibFed's pages: the `login` mutation of the public API, the
 * token kept in this tab's sessionStorage (gone when the tab closes) until it
 * expires. Every page that calls the API sends it as `Authorization: Bearer`.
 */
(function () {
  'use strict';
  var KEY = 'libfed.session';
  var LOGIN =
    'mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { token expiresAt role branch { id } } }';

  function current() {
    try {
      var s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
      if (s && Date.parse(s.expiresAt) > Date.now()) return s;
    } catch (e) {
      /* a damaged entry counts as logged out */
    }
    sessionStorage.removeItem(KEY);
    return null;
  }

  /** POSTs one operation to the gateway, with the token when logged in; resolves to the GraphQL answer. */
  function query(graphqlPath, text, variables) {
    var headers = { 'content-type': 'application/json' };
    var s = current();
    if (s) headers.authorization = 'Bearer ' + s.token;
    return fetch(graphqlPath, { method: 'POST', headers: headers, body: JSON.stringify({ query: text, variables: variables || {} }) }).then(function (r) {
      return r.json();
    });
  }

  function describeErrors(errors) {
    return errors
      .map(function (e) {
        return (e.extensions && e.extensions.code ? e.extensions.code + ': ' : '') + e.message;
      })
      .join('; ');
  }

  function login(graphqlPath, username, password) {
    sessionStorage.removeItem(KEY);
    return query(graphqlPath, LOGIN, { username: username, password: password }).then(function (answer) {
      var l = answer.data && answer.data.login;
      if (!l) throw new Error(answer.errors ? describeErrors(answer.errors) : 'the gateway gave no token');
      var s = { username: username, token: l.token, expiresAt: l.expiresAt, role: l.role, branch: l.branch ? l.branch.id : null };
      sessionStorage.setItem(KEY, JSON.stringify(s));
      return s;
    });
  }

  /**
   * Wires a login form (inputs `username`, `password`), a status element and a
   * log-out button; `onChange(session|null)` runs after each change and once at start.
   */
  function mount(graphqlPath, form, status, logout, onChange) {
    function show(s, message) {
      form.hidden = !!s;
      logout.hidden = !s;
      status.textContent = message || (s ? 'Logged in as ' + s.username + ' (' + s.role + (s.branch ? ', ' + s.branch : '') + ')' : 'Not logged in: most operations need a login.');
      status.classList.toggle('error', !!message);
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var button = form.querySelector('button');
      button.disabled = true;
      login(graphqlPath, form.elements.username.value, form.elements.password.value)
        .then(function (s) {
          form.elements.password.value = '';
          show(s);
          onChange(s);
        })
        .catch(function (error) {
          show(null, 'Login failed: ' + error.message);
          onChange(null);
        })
        .then(function () {
          button.disabled = false;
        });
    });
    logout.addEventListener('click', function () {
      sessionStorage.removeItem(KEY);
      show(null);
      onChange(null);
    });
    var s = current();
    show(s);
    onChange(s);
  }

  function config() {
    return JSON.parse(document.getElementById('libfed-config').textContent);
  }

  window.LibFedSession = { current: current, query: query, login: login, mount: mount, config: config, describeErrors: describeErrors };
})();
