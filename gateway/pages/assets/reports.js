/*
 * The managers' reports: each report is one entry of REPORTS below (the root
 * field, its arguments, the selection, how its answer becomes rows, the table
 * columns and the chart). The page asks the public GraphQL API only. A report
 * whose field the schema lacks is left out: the page reads the Query fields
 * and their arguments by introspection, and passes a report only the period
 * and branch arguments its field takes; with introspection off it sends each
 * report's declared arguments and leaves out one the gateway refuses with
 * GRAPHQL_VALIDATION_FAILED.
 */
(function () {
  'use strict';
  var session = window.LibFedSession;
  var config = session.config();

  function branchName(b) {
    return b ? b.name || b.id : '';
  }

  /** `circulation` grouped one way: the rows are the answer as it comes, one per group. */
  function circulationReport(groupBy, keyLabel, kind, title, about) {
    return {
      id: 'circulationBy' + keyLabel,
      title: title,
      about: about,
      field: 'circulation',
      args: { branchId: 'ID', from: 'DateTime', to: 'DateTime' },
      fixed: { groupBy: { enumValue: groupBy } },
      selection: 'key label opened returned',
      rows: function (list) {
        return list;
      },
      columns: [{ key: 'label', label: keyLabel }, { key: 'opened', label: 'Opened', number: true }, { key: 'returned', label: 'Returned', number: true }],
      chart: { kind: kind, label: 'label', values: ['opened', 'returned'] },
    };
  }

  /**
   * One entry per report. `args`: the arguments the report may take, with their
   * declared types (introspection gives the real ones); `fixed`: arguments it
   * always sends; `rows(answer)`: the field's answer as table rows;
   * `chart.label`: the row key of the chart's labels, `chart.values`: the keys
   * of its datasets (each a column).
   */
  var REPORTS = [
    {
      id: 'loanStats',
      title: 'Loans',
      about: 'Every loan slip, the open ones, and the open ones past their due date.',
      field: 'loanStats',
      args: { branchId: 'ID' },
      selection: 'total open overdue',
      rows: function (s) {
        return [
          { measure: 'All loans', count: s.total },
          { measure: 'Open', count: s.open },
          { measure: 'Overdue', count: s.overdue },
        ];
      },
      columns: [{ key: 'measure', label: 'Loans' }, { key: 'count', label: 'Count', number: true }],
      chart: { kind: 'bar', label: 'measure', values: ['count'] },
    },
    {
      id: 'topBooks',
      title: 'Most borrowed books',
      about: 'The ten titles lent most often.',
      field: 'topBooks',
      args: { branchId: 'ID', from: 'DateTime', to: 'DateTime' },
      fixed: { first: 10 },
      selection: 'book { isbn title } loans',
      rows: function (list) {
        return list.map(function (x) {
          return { title: x.book.title, loans: x.loans };
        });
      },
      columns: [{ key: 'title', label: 'Title' }, { key: 'loans', label: 'Loans', number: true }],
      chart: { kind: 'bar', label: 'title', values: ['loans'], horizontal: true },
    },
    {
      id: 'systemStats',
      title: 'Branches at a glance',
      about: 'Books, copies, readers and loans of each branch.',
      field: 'systemStats',
      args: { branchId: 'ID' },
      selection: 'perBranch { branch { id name } books copies availableCopies readers openLoans overdueLoans }',
      rows: function (s) {
        return s.perBranch.map(function (b) {
          return { branch: branchName(b.branch), copies: b.copies, availableCopies: b.availableCopies, readers: b.readers, openLoans: b.openLoans, overdueLoans: b.overdueLoans };
        });
      },
      columns: [
        { key: 'branch', label: 'Branch' },
        { key: 'copies', label: 'Copies', number: true },
        { key: 'availableCopies', label: 'Available', number: true },
        { key: 'readers', label: 'Readers', number: true },
        { key: 'openLoans', label: 'Open loans', number: true },
        { key: 'overdueLoans', label: 'Overdue', number: true },
      ],
      chart: { kind: 'bar', label: 'branch', values: ['openLoans', 'overdueLoans'] },
    },
    circulationReport('MONTH', 'Month', 'line', 'Circulation by month', 'Loans opened and returned each month of the period.'),
    circulationReport('BRANCH', 'Branch', 'bar', 'Circulation by branch', 'Loans opened and returned at each branch in the period.'),
    {
      id: 'borrowingMatrix',
      title: 'Who borrows where',
      about: 'Loans by the reader\u2019s home branch (rows) and the lending branch.',
      field: 'borrowingMatrix',
      args: { branchId: 'ID', from: 'DateTime', to: 'DateTime' },
      selection: 'homeBranch { id } lendingBranch { id } loans',
      rows: function (cells) {
        return cells.map(function (c) {
          return { pair: c.homeBranch.id + ' \u2192 ' + c.lendingBranch.id, loans: c.loans };
        });
      },
      columns: [{ key: 'pair', label: 'Home \u2192 lending branch' }, { key: 'loans', label: 'Loans', number: true }],
      chart: { kind: 'bar', label: 'pair', values: ['loans'] },
    },
    {
      id: 'overdueReport',
      title: 'Overdue loans',
      about: 'The open loans past their due date, longest overdue first.',
      field: 'overdueReport',
      args: { branchId: 'ID' },
      fixed: { first: 20 },
      selection: 'edges { node { daysOverdue loan { id reader { name } copy { book { title } } } } }',
      rows: function (c) {
        return c.edges.map(function (e) {
          return { loan: e.node.loan.id, reader: e.node.loan.reader.name, title: e.node.loan.copy.book.title, daysOverdue: e.node.daysOverdue };
        });
      },
      columns: [{ key: 'loan', label: 'Loan' }, { key: 'reader', label: 'Reader' }, { key: 'title', label: 'Title' }, { key: 'daysOverdue', label: 'Days overdue', number: true }],
      chart: { kind: 'bar', label: 'loan', values: ['daysOverdue'] },
    },
  ];

  var COLOURS = ['#0b6bcb', '#e8590c', '#2f9e44', '#ae3ec9', '#f59f00', '#1098ad'];
  var main = document.getElementById('reports');
  var filters = document.getElementById('filters');
  var notice = document.getElementById('notice');
  /** Query fields and their arguments' types (`{ field: { arg: 'ID' } }`), or null when introspection is off. */
  var schemaFields;
  var charts = [];
  var generation = 0;

  function typeName(t) {
    if (t.kind === 'NON_NULL') return typeName(t.ofType) + '!';
    if (t.kind === 'LIST') return '[' + typeName(t.ofType) + ']';
    return t.name;
  }

  function readSchema() {
    var q = '{ __type(name: "Query") { fields { name args { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }';
    return session.query(config.graphqlPath, q).then(function (answer) {
      if (!answer.data || !answer.data.__type) return null;
      var fields = {};
      answer.data.__type.fields.forEach(function (f) {
        fields[f.name] = {};
        f.args.forEach(function (a) {
          fields[f.name][a.name] = typeName(a.type);
        });
      });
      return fields;
    });
  }

  /** The arguments this report sends for the chosen period and branch, with their types. */
  function argumentsFor(report, chosen) {
    var known = schemaFields ? schemaFields[report.field] : report.args;
    var vars = {};
    var types = {};
    Object.keys(report.args).forEach(function (name) {
      if (!(name in known) || chosen[name] == null) return;
      vars[name] = chosen[name];
      // As the schema declares it: a value is sent only when chosen, so a required argument's `!` holds.
      types[name] = schemaFields ? known[name] : report.args[name];
    });
    return { vars: vars, types: types };
  }

  function operationFor(report, chosen) {
    var a = argumentsFor(report, chosen);
    var defs = Object.keys(a.types).map(function (n) {
      return '$' + n + ': ' + a.types[n];
    });
    var passed = Object.keys(a.vars).map(function (n) {
      return n + ': $' + n;
    });
    Object.keys(report.fixed || {}).forEach(function (n) {
      var v = report.fixed[n];
      passed.push(n + ': ' + (v && v.enumValue ? v.enumValue : JSON.stringify(v)));
    });
    var text = 'query Report' + (defs.length ? '(' + defs.join(', ') + ')' : '') + ' { ' + report.field + (passed.length ? '(' + passed.join(', ') + ')' : '') + ' { ' + report.selection + ' } }';
    return { text: text, vars: a.vars };
  }

  function chosenFilters() {
    var f = filters.elements;
    return {
      branchId: f.branch.value || null,
      from: f.from.value ? new Date(f.from.value + 'T00:00:00Z').toISOString() : null,
      // The whole last day: `to` is exclusive.
      to: f.to.value ? new Date(Date.parse(f.to.value + 'T00:00:00Z') + 86400000).toISOString() : null,
    };
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      e.setAttribute(k, attrs[k]);
    });
    if (text != null) e.textContent = text;
    return e;
  }

  function table(report, rows) {
    var t = el('table');
    var head = el('tr');
    report.columns.forEach(function (c) {
      head.appendChild(el('th', c.number ? { class: 'number' } : {}, c.label));
    });
    t.appendChild(el('thead')).appendChild(head);
    var body = t.appendChild(el('tbody'));
    rows.forEach(function (r) {
      var tr = body.appendChild(el('tr'));
      report.columns.forEach(function (c) {
        tr.appendChild(el('td', c.number ? { class: 'number' } : {}, c.number ? Number(r[c.key]).toLocaleString() : String(r[c.key])));
      });
    });
    return t;
  }

  function chart(report, rows, canvas) {
    var labelOf = {};
    report.columns.forEach(function (c) {
      labelOf[c.key] = c.label;
    });
    return new Chart(canvas, {
      type: report.chart.kind,
      data: {
        labels: rows.map(function (r) {
          return r[report.chart.label];
        }),
        datasets: report.chart.values.map(function (key, i) {
          return {
            label: labelOf[key],
            data: rows.map(function (r) {
              return r[key];
            }),
            backgroundColor: COLOURS[i % COLOURS.length],
            borderColor: COLOURS[i % COLOURS.length],
          };
        }),
      },
      options: {
        indexAxis: report.chart.horizontal ? 'y' : 'x',
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: report.chart.values.length > 1 } },
      },
    });
  }

  function section(report) {
    var s = el('section', { class: 'report', 'data-report': report.id });
    s.appendChild(el('h2', {}, report.title));
    s.appendChild(el('p', { class: 'about' }, report.about));
    return s;
  }

  /** Arguments the schema requires that the filters leave empty (a period cleared by hand). */
  function missingRequired(report, chosen) {
    if (!schemaFields) return [];
    var known = schemaFields[report.field];
    return Object.keys(report.args).filter(function (name) {
      return name in known && /!$/.test(known[name]) && chosen[name] == null;
    });
  }

  function showReport(report, chosen, run) {
    var s = section(report);
    if (missingRequired(report, chosen).length > 0) {
      main.appendChild(s);
      s.appendChild(el('p', { class: 'about' }, 'Pick a period (From and To) to see this report.'));
      return Promise.resolve();
    }
    var op = operationFor(report, chosen);
    return session.query(config.graphqlPath, op.text, op.vars).then(function (answer) {
      if (run !== generation) return;
      var refused = answer.errors && answer.errors[0] && answer.errors[0].extensions && answer.errors[0].extensions.code;
      if (!schemaFields && refused === 'GRAPHQL_VALIDATION_FAILED') {
        // Without introspection: perhaps the field takes no period yet (ask again without one), or the API lacks it (leave it out).
        if (chosen.from || chosen.to) return showReport(report, { branchId: chosen.branchId }, run);
        return;
      }
      main.appendChild(s);
      if (!answer.data || answer.data[report.field] == null) {
        s.appendChild(el('p', { class: 'error' }, answer.errors ? session.describeErrors(answer.errors) : 'no answer'));
        return;
      }
      var rows = report.rows(answer.data[report.field]);
      var body = s.appendChild(el('div', { class: 'body' }));
      body.appendChild(table(report, rows));
      var canvas = body.appendChild(el('div', { class: 'chart' })).appendChild(el('canvas', { 'aria-label': report.title + ' chart', role: 'img' }));
      charts.push(chart(report, rows, canvas));
    });
  }

  function showAll() {
    var run = ++generation;
    charts.forEach(function (c) {
      c.destroy();
    });
    charts = [];
    main.textContent = '';
    var chosen = chosenFilters();
    main.dataset.state = 'loading';
    main.dataset.branch = chosen.branchId || '';
    var shown = REPORTS.filter(function (r) {
      return !schemaFields || r.field in schemaFields;
    });
    // Say which sections the period does not touch: they are as of now.
    var undated = shown.filter(function (r) {
      return !('from' in r.args) || (schemaFields && !('from' in schemaFields[r.field]));
    });
    document.getElementById('period-note').textContent = undated.length
      ? undated.map(function (r) { return r.title; }).join(', ') + ': as of now, whatever the period.'
      : '';
    // One after another, in the table's order, so the page reads the same every time.
    return shown
      .reduce(function (done, r) {
        return done.then(function () {
          return showReport(r, chosen, run);
        });
      }, Promise.resolve())
      .then(function () {
        if (run === generation) main.dataset.state = 'ready';
      });
  }

  function loadBranches() {
    return session.query(config.graphqlPath, '{ branches { id name } }').then(function (answer) {
      var select = filters.elements.branch;
      ((answer.data && answer.data.branches) || []).forEach(function (b) {
        select.appendChild(el('option', { value: b.id }, b.name + ' (' + b.id + ')'));
      });
    });
  }

  /** The period starts as the last twelve months, to today inclusive: circulation and the matrix need one. */
  function defaultPeriod() {
    var f = filters.elements;
    var today = new Date();
    var day = function (d) {
      return d.toISOString().slice(0, 10);
    };
    if (!f.to.value) f.to.value = day(today);
    if (!f.from.value) f.from.value = day(new Date(Date.UTC(today.getUTCFullYear() - 1, today.getUTCMonth(), today.getUTCDate() + 1)));
  }

  defaultPeriod();
  filters.addEventListener('change', function () {
    if (session.current()) showAll();
  });

  var ready = loadBranches();
  session.mount(config.graphqlPath, document.getElementById('login'), document.getElementById('who'), document.getElementById('logout'), function (s) {
    ready.then(function () {
      if (!s) {
        generation++;
        main.textContent = '';
        main.dataset.state = 'idle';
        notice.textContent = 'Log in as a manager to see the reports.';
        return;
      }
      notice.textContent = s.role === 'QUANLY' ? '' : 'Reports are for managers: some may be refused to ' + s.role + '.';
      return readSchema().then(function (fields) {
        schemaFields = fields;
        return showAll();
      });
    });
  });
})();
