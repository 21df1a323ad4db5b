/*
 * GraphiQL, served by the gateway itself: React, ReactDOM and GraphiQL are the
 * UMD builds of their packages, loaded from /explorer/, so the page works with
 * no network but the gateway's. It opens with one tab per README example.
 */
(function () {
  'use strict';
  var session = window.LibFedSession;
  var config = session.config();
  var base = GraphiQL.createFetcher({ url: config.graphqlPath });

  // The login's token goes with every tab's request, unless that tab's headers name their own Authorization.
  function fetcher(params, options) {
    var headers = Object.assign({}, options && options.headers);
    var s = session.current();
    var named = Object.keys(headers).some(function (k) {
      return k.toLowerCase() === 'authorization';
    });
    if (s && !named) headers.Authorization = 'Bearer ' + s.token;
    return base(withOperationName(params), Object.assign({}, options, { headers: headers }));
  }

  // Right after a tab switch GraphiQL may still send the previous tab's operation name, which the
  // gateway refuses (OPERATION_RESOLUTION_FAILURE): a document of one operation names it itself.
  function withOperationName(params) {
    var names;
    try {
      names = GraphiQL.GraphQL.parse(params.query).definitions
        .filter(function (d) {
          return d.kind === 'OperationDefinition';
        })
        .map(function (d) {
          return d.name ? d.name.value : null;
        });
    } catch (e) {
      return params; // not GraphQL: the gateway says what is wrong
    }
    if (names.length !== 1 || names.indexOf(params.operationName) === 0) return params;
    return Object.assign({}, params, { operationName: names[0] || undefined });
  }

  var tabs = config.examples.map(function (e) {
    return { query: '# ' + e.title + '\n' + e.query, variables: e.variables ? JSON.stringify(e.variables, null, 2) : undefined };
  });

  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: tabs,
      // null: ask for no schema (introspection is off, and asking would only show an error).
      schema: config.introspection ? undefined : null,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );

  session.mount(config.graphqlPath, document.getElementById('login'), document.getElementById('who'), document.getElementById('logout'), function () {});
})();
