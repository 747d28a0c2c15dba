// The report page's script: builds the interactive parts from the JSON in
// #report-data. Written for this crate; no library, no network.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var main = document.getElementById('report');

  // ---- helpers -----------------------------------------------------------
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'cls') e.className = attrs[k];
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
        else e.setAttribute(k, attrs[k]);
      });
    }
    (kids || []).forEach(function (c) {
      if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }
  function secs(ns) { return (ns / 1e9).toFixed(3); }
  function per(ns, n) { return n === 0 ? '0.000' : (ns / 1e9 / n).toFixed(3); }
  function dur(ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(3) + ' s';
    if (ns >= 1e6) return (ns / 1e6).toFixed(3) + ' ms';
    if (ns >= 1e3) return (ns / 1e3).toFixed(3) + ' us';
    return Math.round(ns) + ' ns';
  }
  function pct(x) { return (100 * x).toFixed(1) + '%'; }
  function calls(nc, pc) { return nc === pc ? String(nc) : nc + '/' + pc; }
  function section(id, title) {
    var s = el('section', { id: id }, [el('h2', { text: title })]);
    main.appendChild(s);
    return s;
  }
  function hue(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h;
  }
  function color(name) {
    var h = hue(name);
    return 'hsl(' + (10 + h % 40) + ',' + (60 + (h >> 8) % 25) + '%,' + (58 + (h >> 16) % 14) + '%)';
  }
  var tip = el('div', { id: 'tooltip' });
  document.body.appendChild(tip);
  function showTip(ev, text) {
    tip.textContent = text;
    tip.style.display = 'block';
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 16;
    if (y + tip.offsetHeight > window.innerHeight) y = ev.clientY - tip.offsetHeight - 8;
    tip.style.left = Math.max(0, x) + 'px';
    tip.style.top = Math.max(0, y) + 'px';
  }
  function hideTip() { tip.style.display = 'none'; }
  function matcher(text) {
    // pstats' print_stats(restriction): re.search on the label.
    if (!text) return null;
    try { var re = new RegExp(text); return function (s) { return re.test(s); }; }
    catch (e) { return function (s) { return s.indexOf(text) >= 0; }; }
  }
  function setupCanvas(canvas, width, height) {
    var r = window.devicePixelRatio || 1;
    canvas.width = Math.max(1, Math.round(width * r));
    canvas.height = Math.max(1, Math.round(height * r));
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    var ctx = canvas.getContext('2d');
    ctx.setTransform(r, 0, 0, r, 0, 0);
    return ctx;
  }
  function label(ctx, text, x, y, w) {
    if (w < 24) return;
    var max = Math.floor((w - 6) / 6.6);
    if (max < 2) return;
    ctx.fillText(text.length > max ? text.slice(0, max - 1) + '\u2026' : text, x + 3, y);
  }

  // ---- the pstats table --------------------------------------------------
  // pstats' sort keys: [value of a row, descending?].
  var KEYS = {
    calls: [function (r) { return r[4]; }, true, 'call count'],
    cumulative: [function (r) { return r[7]; }, true, 'cumulative time'],
    filename: [function (r) { return r[1]; }, false, 'file name'],
    line: [function (r) { return r[2]; }, false, 'line number'],
    name: [function (r) { return r[3]; }, false, 'function name'],
    nfl: [function (r) { return [r[3], r[1], r[2]]; }, false, 'name/file/line'],
    pcalls: [function (r) { return r[5]; }, true, 'primitive call count'],
    stdname: [function (r) { return r[0]; }, false, 'standard name'],
    tottime: [function (r) { return r[6]; }, true, 'internal time'],
    tpercall: [function (r) { return r[4] ? r[6] / r[4] : 0; }, true, 'tottime per call'],
    cpercall: [function (r) { return r[5] ? r[7] / r[5] : 0; }, true, 'cumtime per call'],
  };
  function cmp(a, b) {
    if (Array.isArray(a)) {
      for (var i = 0; i < a.length; i++) { var c = cmp(a[i], b[i]); if (c) return c; }
      return 0;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function buildTable() {
    var rows = D.rows;
    var callers = rows.map(function () { return []; });
    var callees = rows.map(function () { return []; });
    // Edges as [callee row, caller row, ncalls, pcalls, tottime, cumtime].
    D.callers.forEach(function (flat, row) {
      var prev = -1;
      for (var k = 0; k + 4 < flat.length; k += 5) {
        var caller = prev + flat[k];
        prev = caller;
        var e = [row, caller, flat[k + 1], flat[k + 1] - flat[k + 2], flat[k + 3], flat[k + 4]];
        callers[row].push(e);
        callees[caller].push(e);
      }
    });
    var stat = document.getElementById('static-table');
    if (stat) stat.remove();
    var s = section('functions', 'Functions (pstats)');
    var total = rows.reduce(function (a, r) { return a + r[4]; }, 0);
    var prim = rows.reduce(function (a, r) { return a + r[5]; }, 0);
    var tt = rows.reduce(function (a, r) { return a + r[6]; }, 0);
    s.appendChild(el('p', { cls: 'muted', text: total + ' function calls (' + prim +
      ' primitive calls) in ' + secs(tt) + ' seconds (the sum of tottime)' }));
    var search = el('input', { type: 'search', id: 'search', placeholder: 'filter: a regular expression, as pstats print_stats("...") takes' });
    var keySel = el('select', { id: 'sort-key' }, Object.keys(KEYS).filter(function (k) {
      return k !== 'tpercall' && k !== 'cpercall';
    }).map(function (k) { return el('option', { value: k, text: 'sort_stats("' + k + '")' }); }));
    var count = el('span', { id: 'match-count', cls: 'muted' });
    s.appendChild(el('div', { cls: 'toolbar' }, [search, keySel, count]));
    var cols = [['ncalls', 'calls'], ['tottime', 'tottime'], ['percall', 'tpercall'],
      ['cumtime', 'cumulative'], ['percall', 'cpercall'], ['filename:lineno(function)', 'stdname']];
    var head = el('tr', null, cols.map(function (c) {
      return el('th', { cls: 'sortable' + (c[1] === 'stdname' ? ' name' : ''), 'data-key': c[1], text: c[0] });
    }));
    var body = el('tbody');
    var table = el('table', { cls: 'stats', id: 'stats' }, [el('thead', null, [head]), body]);
    s.appendChild(table);
    var more = el('button', { id: 'show-all', text: 'show all' });
    s.appendChild(el('div', { cls: 'toolbar' }, [more]));
    var details = el('div', { id: 'details', hidden: '' });
    s.appendChild(details);

    var state = { key: 'cumulative', reverse: false, filter: null, limit: 300, selected: -1 };
    var order = [];
    function sortRows() {
      var k = KEYS[state.key];
      var idx = rows.map(function (_, i) { return i; });
      idx.sort(function (a, b) {
        var c = cmp(k[0](rows[a]), k[0](rows[b]));
        return k[1] ? -c : c;
      });
      if (state.reverse) idx.reverse();
      return idx;
    }
    function render() {
      var sorted = sortRows();
      var m = matcher(state.filter);
      order = m ? sorted.filter(function (i) { return m(rows[i][0]); }) : sorted;
      body.textContent = '';
      var frag = document.createDocumentFragment();
      order.slice(0, state.limit).forEach(function (i) {
        var r = rows[i];
        var tr = el('tr', { cls: 'row' + (i === state.selected ? ' selected' : ''), 'data-row': i }, [
          el('td', { text: calls(r[4], r[5]) }), el('td', { text: secs(r[6]) }),
          el('td', { text: per(r[6], r[4]) }), el('td', { text: secs(r[7]) }),
          el('td', { text: per(r[7], r[5]) }), el('td', { cls: 'name', text: r[0] })]);
        frag.appendChild(tr);
      });
      body.appendChild(frag);
      head.querySelectorAll('th').forEach(function (th) {
        th.classList.toggle('sorted', th.getAttribute('data-key') === state.key);
      });
      if (keySel.querySelector('option[value="' + state.key + '"]')) keySel.value = state.key;
      count.textContent = (m ? order.length + ' of ' + rows.length + ' functions match' : rows.length + ' functions') +
        '; ordered by ' + KEYS[state.key][2] + (state.reverse ? ', reversed' : '');
      more.hidden = order.length <= state.limit;
      more.textContent = 'show all ' + order.length + ' rows';
      table.setAttribute('data-sort', state.key + (state.reverse ? ' reversed' : ''));
    }
    function edgeTable(id, title, list, partner) {
      var t = el('table', { cls: 'stats', id: id }, [el('tr', null, [
        el('th', { text: 'ncalls' }), el('th', { text: 'tottime' }), el('th', { text: 'cumtime' }),
        el('th', { cls: 'name', text: title })])]);
      list.slice().sort(function (a, b) { return b[5] - a[5]; }).forEach(function (e) {
        var other = e[partner];
        var a = el('a', { text: rows[other][0], onclick: function () { select(other, true); } });
        t.appendChild(el('tr', { 'data-label': rows[other][0] }, [el('td', { text: calls(e[2], e[3]) }),
          el('td', { text: secs(e[4]) }), el('td', { text: secs(e[5]) }), el('td', { cls: 'name' }, [a])]));
      });
      if (!list.length) t.appendChild(el('tr', null, [el('td', { cls: 'name', colspan: '4', text: '(none)' })]));
      return t;
    }
    function select(i, scroll) {
      state.selected = i;
      var r = rows[i];
      details.hidden = false;
      details.setAttribute('data-row', i);
      details.textContent = '';
      details.appendChild(el('h3', { text: r[0] }));
      details.appendChild(el('p', { cls: 'muted', text: calls(r[4], r[5]) + ' calls, tottime ' + secs(r[6]) +
        ' s, cumtime ' + secs(r[7]) + ' s' }));
      details.appendChild(el('h3', { text: 'was called by (print_callers)' }));
      details.appendChild(edgeTable('callers', 'caller', callers[i], 1));
      details.appendChild(el('h3', { text: 'called (print_callees)' }));
      details.appendChild(edgeTable('callees', 'callee', callees[i], 0));
      body.querySelectorAll('tr.selected').forEach(function (tr) { tr.classList.remove('selected'); });
      var tr = body.querySelector('tr[data-row="' + i + '"]');
      if (tr) tr.classList.add('selected');
      if (scroll) details.scrollIntoView({ block: 'nearest' });
    }
    head.addEventListener('click', function (ev) {
      var th = ev.target.closest('th');
      if (!th) return;
      var k = th.getAttribute('data-key');
      if (k === state.key) state.reverse = !state.reverse;
      else { state.key = k; state.reverse = false; }
      render();
    });
    keySel.addEventListener('change', function () { state.key = keySel.value; state.reverse = false; render(); });
    search.addEventListener('input', function () { state.filter = search.value; render(); });
    more.addEventListener('click', function () { state.limit = Infinity; render(); });
    body.addEventListener('click', function (ev) {
      var tr = ev.target.closest('tr.row');
      if (tr) select(+tr.getAttribute('data-row'), false);
    });
    render();
  }

  // ---- call trees --------------------------------------------------------
  // A tree: parallel arrays; node 0 is a synthetic root.
  function Tree(rootName) {
    this.site = [-1]; this.calls = [0]; this.time = [0]; this.parent = [-1];
    this.kids = [[]]; this.rootName = rootName;
  }
  Tree.prototype.add = function (parent, site, calls, time) {
    var i = this.site.length;
    this.site.push(site); this.calls.push(calls); this.time.push(time);
    this.parent.push(parent); this.kids.push([]); this.kids[parent].push(i);
    return i;
  };
  Tree.prototype.name = function (i) { return i === 0 ? this.rootName : D.sites[this.site[i]][0]; };
  Tree.prototype.finish = function () {
    var t = this.time;
    this.kids.forEach(function (k) { k.sort(function (a, b) { return t[b] - t[a]; }); });
    return this;
  };
  function threadTree(th, mergeInto) {
    var tr = th.tree, tree = mergeInto || new Tree(th.name), stack = [0], keyOf = tree.keyOf;
    for (var i = 0; i < tr.site.length; i++) {
      var depth = tr.depth[i];
      stack.length = depth + 1;
      var parent = stack[depth], node;
      if (keyOf) {
        var key = parent * (D.sites.length + 1) + tr.site[i];
        node = keyOf.get(key);
        if (node === undefined) { node = tree.add(parent, tr.site[i], 0, 0); keyOf.set(key, node); }
        tree.calls[node] += tr.calls[i]; tree.time[node] += tr.time[i];
      } else {
        node = tree.add(parent, tr.site[i], tr.calls[i], tr.time[i]);
      }
      if (depth === 0) tree.time[0] += tr.time[i];
      stack.push(node);
    }
    return tree;
  }
  var treeCache = {};
  function treeOf(view) {
    if (treeCache[view]) return treeCache[view];
    var t;
    if (view === 'merged') {
      t = new Tree('all threads');
      t.keyOf = new Map();
      D.threads.forEach(function (th) { threadTree(th, t); });
      t.keyOf = null;
    } else {
      t = threadTree(D.threads[+view]);
    }
    t.calls[0] = 1;
    return (treeCache[view] = t.finish());
  }

  function buildIcicle() {
    if (!D.threads.length) return;
    var s = section('icicle', 'Call tree (icicle)');
    s.appendChild(el('p', { cls: 'muted', text: 'Each frame is a call path; its width is its inclusive time. ' +
      'Click a frame to zoom to it, the top frame to zoom out; hover for the figures.' }));
    var sel = el('select', { id: 'icicle-thread' }, [el('option', { value: 'merged', text: 'all threads, merged' })]
      .concat(D.threads.map(function (t, i) {
        return el('option', { value: String(i), text: (t.rank !== null && t.rank !== undefined ? 'rank ' + t.rank + ' \u00b7 ' : '') + t.name });
      })));
    var find = el('input', { type: 'search', id: 'icicle-search', placeholder: 'highlight frames whose name contains...' });
    var found = el('span', { id: 'icicle-found', cls: 'muted' });
    s.appendChild(el('div', { cls: 'toolbar' }, [sel, find, found]));
    var path = el('div', { id: 'icicle-path' });
    s.appendChild(path);
    var box = el('div', { cls: 'chart', id: 'icicle-chart' });
    var canvas = el('canvas', { id: 'icicle-canvas' });
    box.appendChild(canvas);
    s.appendChild(box);
    var ROW = 18, MAX_ROWS = 60;
    var st = { view: 'merged', zoom: 0, rects: [] };
    function draw() {
      var t = treeOf(st.view), width = box.clientWidth || 1000;
      var z = st.zoom, scale = width / Math.max(1, t.time[z]);
      var m = find.value ? find.value.toLowerCase() : null;
      // Lay out the visible frames first (wider than 0.3 px, at most MAX_ROWS deep).
      var rects = [], rows = 0, stack = [[z, 0, 0]];
      while (stack.length) {
        var top = stack.pop(), n = top[0], x = top[1], d = top[2], w = t.time[n] * scale;
        if (w < 0.3 || d >= MAX_ROWS) continue;
        rects.push([x, d, w, n]);
        rows = Math.max(rows, d + 1);
        var kx = x, kids = t.kids[n], pos = [];
        for (var k = 0; k < kids.length; k++) { pos.push([kids[k], kx, d + 1]); kx += t.time[kids[k]] * scale; }
        for (k = pos.length - 1; k >= 0; k--) stack.push(pos[k]);
      }
      var ctx = setupCanvas(canvas, width, rows * ROW + 2);
      ctx.font = '11.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      ctx.textBaseline = 'middle';
      st.rects = [];
      for (var i = 0; i < rows; i++) st.rects.push([]);
      rects.forEach(function (r) {
        var name = t.name(r[3]), hit = m && name.toLowerCase().indexOf(m) >= 0;
        ctx.fillStyle = hit ? '#c266d6' : r[3] === 0 ? '#b8c2d6' : color(name);
        ctx.fillRect(r[0], r[1] * ROW, Math.max(0.5, r[2] - 0.5), ROW - 1);
        ctx.fillStyle = '#1d2330';
        label(ctx, name, r[0], r[1] * ROW + ROW / 2, r[2]);
        st.rects[r[1]].push(r);
      });
      if (m) {
        // Time in matching frames, counted once where they nest.
        var time = 0, stack2 = [z];
        while (stack2.length) {
          var n2 = stack2.pop();
          if (t.name(n2).toLowerCase().indexOf(m) >= 0 && n2 !== 0) { time += t.time[n2]; continue; }
          t.kids[n2].forEach(function (c) { stack2.push(c); });
        }
        found.textContent = 'matching frames: ' + pct(time / Math.max(1, t.time[z])) + ' of the view';
      } else found.textContent = '';
      box.setAttribute('data-zoom', t.name(z));
      box.setAttribute('data-frames', String(rects.length));
      path.textContent = '';
      var chain = [], p = z;
      while (p >= 0) { chain.unshift(p); p = t.parent[p]; }
      chain.forEach(function (n, i) {
        if (i) path.appendChild(document.createTextNode(' \u203a '));
        path.appendChild(i === chain.length - 1 ? el('b', { text: t.name(n) }) :
          el('a', { text: t.name(n), onclick: function () { st.zoom = n; draw(); } }));
      });
    }
    function hit(ev) {
      var r = canvas.getBoundingClientRect(), x = ev.clientX - r.left, d = Math.floor((ev.clientY - r.top) / ROW);
      var list = st.rects[d];
      if (!list) return null;
      var lo = 0, hi = list.length - 1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1, q = list[mid];
        if (x < q[0]) hi = mid - 1; else if (x >= q[0] + q[2]) lo = mid + 1; else return q[3];
      }
      return null;
    }
    canvas.addEventListener('mousemove', function (ev) {
      var n = hit(ev);
      if (n === null) { hideTip(); return; }
      var t = treeOf(st.view), site = n === 0 ? null : D.sites[t.site[n]];
      showTip(ev, t.name(n) + (site ? '\n' + site[1] + ':' + site[2] : '') + '\ncalls ' + t.calls[n] +
        '\ntime ' + dur(t.time[n]) + ' (' + pct(t.time[n] / Math.max(1, t.time[0])) + ' of ' + t.name(0) +
        (st.zoom ? ', ' + pct(t.time[n] / Math.max(1, t.time[st.zoom])) + ' of the view' : '') + ')');
    });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('click', function (ev) {
      var n = hit(ev);
      if (n === null) return;
      var t = treeOf(st.view);
      st.zoom = n === st.zoom ? Math.max(0, t.parent[n]) : n;
      draw();
    });
    sel.addEventListener('change', function () { st.view = sel.value; st.zoom = 0; draw(); });
    find.addEventListener('input', draw);
    window.addEventListener('resize', draw);
    draw();
  }

  // ---- timelines ---------------------------------------------------------
  function buildTimeline() {
    var lanes = D.threads.map(function (t, i) { return [t, i]; }).filter(function (x) { return x[0].timeline.site.length; });
    if (!lanes.length) return;
    var s = section('timeline', 'Timeline');
    var leftOut = D.threads.reduce(function (a, t) { return a + t.timeline.left_out; }, 0);
    s.appendChild(el('p', { cls: 'muted', text: 'One lane per thread' + (D.run.ranks > 1 ? ' (ranks\u2019 clocks aligned to rank 0)' : '') +
      '. Wheel or the buttons to zoom, drag to pan, double-click a span to zoom to it.' +
      (leftOut ? ' ' + leftOut + ' of the shortest spans are left out of this page; trace.json has them all.' : '') }));
    var t0 = Infinity, t1 = 0;
    lanes.forEach(function (x) {
      var tl = x[0].timeline;
      for (var i = 0; i < tl.start.length; i++) {
        if (tl.depth[i] === 0) { t0 = Math.min(t0, tl.start[i]); t1 = Math.max(t1, tl.start[i] + tl.dur[i]); }
      }
    });
    if (!(t1 > t0)) { t0 = 0; t1 = 1; }
    var view = { a: t0, b: t1 };
    var range = el('span', { id: 'timeline-range', cls: 'muted' });
    function zoomBy(f, at) {
      var c = at === undefined ? (view.a + view.b) / 2 : at, w = Math.max(1000, (view.b - view.a) * f);
      view.a = Math.max(t0, c - (c - view.a) * w / (view.b - view.a));
      view.b = Math.min(t1, view.a + w);
      drawAll();
    }
    s.appendChild(el('div', { cls: 'toolbar' }, [
      el('button', { id: 'timeline-in', text: 'zoom in', onclick: function () { zoomBy(0.5); } }),
      el('button', { id: 'timeline-out', text: 'zoom out', onclick: function () { zoomBy(2); } }),
      el('button', { id: 'timeline-reset', text: 'reset', onclick: function () { view.a = t0; view.b = t1; drawAll(); } }),
      range]));
    var box = el('div', { cls: 'chart', id: 'timeline-lanes' });
    s.appendChild(box);
    var ROW = 14, MAX_DEPTH = 16;
    var drawn = lanes.map(function (x) {
      var th = x[0], tl = th.timeline, depth = 0;
      for (var i = 0; i < tl.depth.length; i++) depth = Math.max(depth, tl.depth[i]);
      depth = Math.min(depth + 1, MAX_DEPTH);
      // Per depth, the spans in start order (pre-order keeps them sorted).
      var byDepth = [];
      for (var d = 0; d < depth; d++) byDepth.push([]);
      for (i = 0; i < tl.depth.length; i++) if (tl.depth[i] < depth) byDepth[tl.depth[i]].push(i);
      var name = (th.rank !== null && th.rank !== undefined ? 'rank ' + th.rank + ' \u00b7 ' : '') + th.name;
      var canvas = el('canvas');
      var lane = el('div', { cls: 'lane', 'data-thread': String(x[1]) }, [el('div', { cls: 'lane-name', title: name, text: name }), canvas]);
      box.appendChild(lane);
      return { th: th, tl: tl, depth: depth, byDepth: byDepth, canvas: canvas };
    });
    function drawLane(L) {
      var width = L.canvas.clientWidth || (box.clientWidth - 180) || 800;
      var ctx = setupCanvas(L.canvas, width, L.depth * ROW + 2);
      ctx.font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
      ctx.textBaseline = 'middle';
      var scale = width / (view.b - view.a), tl = L.tl;
      L.byDepth.forEach(function (idx, d) {
        var lastX = -1;
        // The first span that ends after the view's start.
        var lo = 0, hi = idx.length;
        while (lo < hi) { var m = (lo + hi) >> 1; if (tl.start[idx[m]] + tl.dur[idx[m]] < view.a) lo = m + 1; else hi = m; }
        for (var k = lo; k < idx.length; k++) {
          var i = idx[k];
          if (tl.start[i] > view.b) break;
          var x = (tl.start[i] - view.a) * scale, w = tl.dur[i] * scale;
          if (x + w < lastX + 0.5 && w < 0.5) continue;
          var name = D.sites[tl.site[i]][0];
          ctx.fillStyle = color(name);
          ctx.fillRect(x, d * ROW, Math.max(0.6, w - 0.4), ROW - 1);
          ctx.fillStyle = '#1d2330';
          label(ctx, name, Math.max(0, x), d * ROW + ROW / 2, Math.min(w, width - Math.max(0, x)));
          lastX = x + w;
        }
      });
    }
    function drawAll() {
      drawn.forEach(drawLane);
      range.textContent = 'showing ' + dur(view.b - view.a) + ' from ' + dur(view.a - t0) + ' of ' + dur(t1 - t0);
      box.setAttribute('data-view', view.a + ',' + view.b);
    }
    function spanAt(L, ev) {
      var r = L.canvas.getBoundingClientRect(), d = Math.floor((ev.clientY - r.top) / ROW);
      if (d < 0 || d >= L.depth) return -1;
      var t = view.a + (ev.clientX - r.left) / r.width * (view.b - view.a), idx = L.byDepth[d], tl = L.tl;
      var lo = 0, hi = idx.length - 1;
      while (lo <= hi) {
        var m = (lo + hi) >> 1, i = idx[m];
        if (t < tl.start[i]) hi = m - 1; else if (t > tl.start[i] + tl.dur[i]) lo = m + 1; else return i;
      }
      return -1;
    }
    drawn.forEach(function (L) {
      var drag = null;
      L.canvas.addEventListener('wheel', function (ev) {
        ev.preventDefault();
        var r = L.canvas.getBoundingClientRect();
        zoomBy(ev.deltaY < 0 ? 0.8 : 1.25, view.a + (ev.clientX - r.left) / r.width * (view.b - view.a));
      }, { passive: false });
      L.canvas.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, a: view.a, b: view.b }; });
      window.addEventListener('mouseup', function () { drag = null; });
      L.canvas.addEventListener('mousemove', function (ev) {
        if (drag) {
          var r = L.canvas.getBoundingClientRect(), dt = (ev.clientX - drag.x) / r.width * (drag.b - drag.a);
          var w = drag.b - drag.a;
          view.a = Math.min(Math.max(t0, drag.a - dt), t1 - w); view.b = view.a + w;
          drawAll();
          return;
        }
        var i = spanAt(L, ev);
        if (i < 0) { hideTip(); return; }
        var site = D.sites[L.tl.site[i]];
        showTip(ev, site[0] + '\n' + site[1] + ':' + site[2] + '\nstart ' + dur(L.tl.start[i] - t0) + '\nduration ' + dur(L.tl.dur[i]));
      });
      L.canvas.addEventListener('mouseleave', hideTip);
      L.canvas.addEventListener('dblclick', function (ev) {
        var i = spanAt(L, ev);
        if (i < 0) return;
        view.a = L.tl.start[i]; view.b = L.tl.start[i] + Math.max(1000, L.tl.dur[i]);
        drawAll();
      });
    });
    window.addEventListener('resize', drawAll);
    drawAll();
  }

  // ---- parallel summary --------------------------------------------------
  function eff(x) {
    return el('span', { cls: x >= 0.8 ? 'good' : 'bad', text: x.toFixed(2) });
  }
  function effRow(name, e, extra) {
    return el('tr', null, [el('td', { cls: 'name', text: name }), el('td', null, [eff(e.load_balance)]),
      el('td', null, [eff(e.communication)]), el('td', null, [eff(e.parallel)]), el('td', { text: String(e.workers) }),
      el('td', { text: extra })]);
  }
  function buildParallel() {
    var P = D.parallel;
    if (!P) return;
    var s = section('parallel', 'Parallel summary');
    s.appendChild(el('p', { cls: 'muted', text: 'Useful time per thread against the runtime (' + dur(P.runtime_ns) +
      '); load balance (LB), communication efficiency (CE) and parallel efficiency (PE), green at 0.8 and above (the POP threshold).' }));
    var t = el('table', { cls: 'stats', id: 'busy' }, [el('tr', null, [el('th', { cls: 'name', text: 'thread' }),
      el('th', { cls: 'name', text: 'busy (dark: on a CPU or runnable, light: blocked)' }), el('th', { text: 'busy' }),
      el('th', { text: 'on CPU' }), el('th', { text: 'blocked' })])]);
    P.threads.forEach(function (th) {
      var busy = th.busy_ns, wait = th.waiting_ns || 0, work = Math.max(0, busy - wait);
      var bar = el('span', { cls: 'bartrack' }, [
        el('span', { cls: 'bar', style: 'width:' + (320 * work / Math.max(1, P.runtime_ns)).toFixed(1) + 'px' }),
        el('span', { cls: 'bar wait', style: 'width:' + (320 * wait / Math.max(1, P.runtime_ns)).toFixed(1) + 'px' })]);
      t.appendChild(el('tr', null, [el('td', { cls: 'name', text: th.name + (th.folded ? ' (exited threads)' : '') }),
        el('td', { cls: 'name' }, [bar]), el('td', { text: dur(busy) }),
        el('td', { text: th.cpu_ns === null || th.cpu_ns === undefined ? '-' : dur(th.cpu_ns) }),
        el('td', { text: th.waiting_ns === null || th.waiting_ns === undefined ? '-' : dur(th.waiting_ns) })]));
    });
    s.appendChild(t);
    var e = el('table', { cls: 'stats', id: 'efficiency' }, [el('tr', null, [el('th', { cls: 'name', text: 'region' }),
      el('th', { text: 'LB' }), el('th', { text: 'CE' }), el('th', { text: 'PE' }), el('th', { text: 'workers' }),
      el('th', { text: 'calls, time' })])]);
    if (P.efficiency) e.appendChild(effRow('whole run', P.efficiency, P.efficiency_calls + ' region call(s)'));
    P.regions.forEach(function (r) { e.appendChild(effRow(r.name, r.efficiency, r.calls + ', ' + dur(r.total_ns))); });
    if (P.efficiency || P.regions.length) s.appendChild(el('h3', { text: 'Efficiency' })).after(e);
    if (P.oversubscribed) s.appendChild(el('p', { cls: 'bad', text: 'Oversubscribed: see "Where the time goes" and the text below.' }));
    if (D.parallel_text) s.appendChild(el('details', null, [el('summary', { text: 'the parallel summary as text' }), el('pre', { text: D.parallel_text })]));
  }

  // ---- MPI ---------------------------------------------------------------
  function buildMpi() {
    var M = D.mpi;
    if (!M) return;
    var s = section('mpi', 'MPI');
    var max = M.ranks.reduce(function (a, r) { return Math.max(a, r[2] + r[3]); }, 1);
    var t = el('table', { cls: 'stats', id: 'mpi-ranks' }, [el('tr', null, [el('th', { text: 'rank' }), el('th', { cls: 'name', text: 'host' }),
      el('th', { cls: 'name', text: 'application (dark) and MPI (light) time' }), el('th', { text: 'app' }), el('th', { text: 'MPI' })])]);
    M.ranks.forEach(function (r) {
      t.appendChild(el('tr', null, [el('td', { text: String(r[0]) }), el('td', { cls: 'name', text: r[1] }),
        el('td', { cls: 'name' }, [el('span', { cls: 'bartrack' }, [
          el('span', { cls: 'bar', style: 'width:' + (320 * (r[2] - r[3]) / max).toFixed(1) + 'px' }),
          el('span', { cls: 'bar wait', style: 'width:' + (320 * r[3] / max).toFixed(1) + 'px' })])]),
        el('td', { text: dur(r[2]) }), el('td', { text: dur(r[3]) })]));
    });
    s.appendChild(t);
    var n = M.bytes.length;
    if (n) {
      var top = 0;
      M.bytes.forEach(function (row) { row.forEach(function (b) { top = Math.max(top, b); }); });
      var m = el('table', { cls: 'matrix', id: 'mpi-matrix' }, [el('tr', null, [el('td', { text: 'from \\ to' })].concat(
        M.bytes.map(function (_, j) { return el('td', { text: String(j) }); })))]);
      M.bytes.forEach(function (row, i) {
        m.appendChild(el('tr', null, [el('td', { text: String(i) })].concat(row.map(function (b, j) {
          var a = top ? b / top : 0;
          return el('td', { style: 'background:rgba(36,86,166,' + a.toFixed(3) + ');color:' + (a > 0.5 ? '#fff' : '#1d2330'),
            title: i + ' \u2192 ' + j + ': ' + b + ' bytes in ' + M.messages[i][j] + ' messages', text: b ? String(b) : '' });
        }))));
      });
      s.appendChild(el('h3', { text: 'Communication matrix (bytes, sender \u00d7 receiver)' }));
      s.appendChild(m);
    }
    s.appendChild(el('details', null, [el('summary', { text: 'the MPI summary as text' }), el('pre', { text: M.text })]));
  }

  // ---- scaling -----------------------------------------------------------
  function svgEl(tag, attrs, kids) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (kids || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  function plot(id, title, xs, series, ymax) {
    var W = 460, H = 300, L = 50, B = 40, T = 28, R = 16, xmax = Math.max.apply(null, xs);
    var X = function (x) { return L + (x - 1) / Math.max(1, xmax - 1) * (W - L - R); };
    var Y = function (y) { return H - B - y / ymax * (H - B - T); };
    var g = svgEl('svg', { id: id, width: W, height: H, viewBox: '0 0 ' + W + ' ' + H }, [
      svgEl('text', { x: L, y: 16, text: title }),
      svgEl('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }),
      svgEl('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }),
      svgEl('text', { x: (W - R + L) / 2, y: H - 8, 'text-anchor': 'middle', text: 'threads' })]);
    xs.forEach(function (x) { g.appendChild(svgEl('text', { x: X(x), y: H - B + 16, 'text-anchor': 'middle', text: String(x) })); });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (f) {
      g.appendChild(svgEl('text', { x: L - 6, y: Y(f * ymax) + 4, 'text-anchor': 'end', text: (f * ymax).toFixed(ymax > 4 ? 0 : 2) }));
    });
    series.forEach(function (sr) {
      var pts = sr.points.map(function (p) { return X(p[0]).toFixed(1) + ',' + Y(p[1]).toFixed(1); }).join(' ');
      g.appendChild(svgEl('polyline', { points: pts, fill: 'none', stroke: sr.color, 'stroke-width': 2, 'stroke-dasharray': sr.dash || '' }));
      if (sr.dots) sr.points.forEach(function (p) { g.appendChild(svgEl('circle', { cx: X(p[0]), cy: Y(p[1]), r: 4, fill: sr.color })); });
    });
    series.forEach(function (sr, i) {
      g.appendChild(svgEl('text', { x: W - R - 150, y: T + 14 + 16 * i, style: 'fill:' + sr.color, text: sr.name }));
    });
    return g;
  }
  function buildScaling() {
    var S = D.scaling;
    var stat = document.getElementById('static-table');
    var median = function (v) {
      var s = v.slice().sort(function (a, b) { return a - b; }), n = s.length;
      return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    };
    var pts = S.points.map(function (p) { return [p[0], median(p[1])]; });
    var one = pts.filter(function (p) { return p[0] === 1; })[0];
    if (!one) return;
    var xs = pts.map(function (p) { return p[0]; });
    var sp = pts.map(function (p) { return [p[0], one[1] / p[1]]; });
    var ef = pts.map(function (p) { return [p[0], one[1] / p[1] / p[0]]; });
    var fine = [];
    for (var x = 1; x <= Math.max.apply(null, xs); x += 0.25) fine.push(x);
    var fitS = [], fitE = [];
    if (S.serial_fraction !== null && S.serial_fraction !== undefined) {
      var f = S.serial_fraction;
      fitS = fine.map(function (p) { return [p, 1 / (f + (1 - f) / p)]; });
      fitE = fine.map(function (p) { return [p, 1 / (f + (1 - f) / p) / p]; });
    }
    var ymax = Math.max(Math.max.apply(null, xs), Math.max.apply(null, sp.map(function (p) { return p[1]; })));
    var s = section('scaling', 'Speed-up and efficiency');
    var sSeries = [{ name: 'ideal', points: [[1, 1], [Math.max.apply(null, xs), Math.max.apply(null, xs)]], color: '#999', dash: '4 4' },
      { name: 'measured', points: sp, color: '#2456a6', dots: true }];
    var eSeries = [{ name: 'measured', points: ef, color: '#2456a6', dots: true }];
    if (fitS.length) {
      sSeries.push({ name: 'Amdahl, serial ' + S.serial_fraction.toFixed(3), points: fitS, color: '#b3261e', dash: '6 3' });
      eSeries.push({ name: 'Amdahl fit', points: fitE, color: '#b3261e', dash: '6 3' });
    }
    s.appendChild(el('div', { cls: 'toolbar' }, [plot('speedup-plot', 'speed-up', xs, sSeries, ymax * 1.1),
      plot('efficiency-plot', 'parallel efficiency', xs, eSeries, 1.1)]));
    if (stat) s.appendChild(stat);
  }

  // ---- the diff ----------------------------------------------------------
  function buildDiff() {
    var rows = D.rows;
    var stat = document.getElementById('static-table');
    if (stat) stat.remove();
    var s = section('functions', 'Functions: ' + D.labels[0] + ' \u2192 ' + D.labels[1]);
    var search = el('input', { type: 'search', id: 'search', placeholder: 'filter: a regular expression' });
    var count = el('span', { id: 'match-count', cls: 'muted' });
    s.appendChild(el('div', { cls: 'toolbar' }, [search, count]));
    // Columns: [title, value of a row].
    var cols = [
      ['tottime before', function (r) { return r[1][2]; }], ['tottime after', function (r) { return r[2][2]; }],
      ['change', function (r) { return r[2][2] - r[1][2]; }],
      ['cumtime before', function (r) { return r[1][3]; }], ['cumtime after', function (r) { return r[2][3]; }],
      ['change', function (r) { return r[2][3] - r[1][3]; }],
      ['ncalls before', function (r) { return r[1][0]; }], ['ncalls after', function (r) { return r[2][0]; }],
      ['change', function (r) { return r[2][0] - r[1][0]; }]];
    var st = { col: -1, desc: true, filter: null };
    var head = el('tr', null, cols.map(function (c, i) { return el('th', { cls: 'sortable', 'data-col': String(i), text: c[0] }); })
      .concat([el('th', { cls: 'name', text: 'function' })]));
    var body = el('tbody');
    s.appendChild(el('table', { cls: 'stats', id: 'stats' }, [el('thead', null, [head]), body]));
    function render() {
      var idx = rows.map(function (_, i) { return i; });
      if (st.col >= 0) {
        var v = cols[st.col][1];
        idx.sort(function (a, b) { var c = Math.abs(v(rows[b])) - Math.abs(v(rows[a])); return st.desc ? c : -c; });
      }
      var m = matcher(st.filter);
      if (m) idx = idx.filter(function (i) { return m(rows[i][0]); });
      body.textContent = '';
      idx.slice(0, 500).forEach(function (i) {
        var r = rows[i];
        body.appendChild(el('tr', { cls: 'row' }, cols.map(function (c, k) {
          var x = c[1](r), isTime = k < 6, change = k % 3 === 2;
          var text = isTime ? (change && x > 0 ? '+' : '') + (x / 1e9).toFixed(6) : (change && x > 0 ? '+' : '') + x;
          return el('td', { cls: change ? (x > 0 ? 'bad' : x < 0 ? 'good' : '') : '', text: text });
        }).concat([el('td', { cls: 'name', text: r[0] })])));
      });
      count.textContent = idx.length + ' of ' + rows.length + ' functions';
    }
    head.addEventListener('click', function (ev) {
      var th = ev.target.closest('th[data-col]');
      if (!th) return;
      var c = +th.getAttribute('data-col');
      st.desc = c === st.col ? !st.desc : true;
      st.col = c;
      render();
    });
    search.addEventListener('input', function () { st.filter = search.value; render(); });
    render();
  }

  if (D.kind === 'profile') {
    buildTable();
    buildIcicle();
    buildTimeline();
    buildParallel();
    buildMpi();
  } else if (D.kind === 'diff') {
    buildDiff();
  } else if (D.kind === 'scaling') {
    buildScaling();
  }
  document.body.setAttribute('data-ready', '1');
})();
