/* mcuprune report page: draws the JSON report embedded in this file (docs/reports.md).
 * Every number shown from the report carries data-json (its path in the report), data-value
 * (the value) and data-format, so that a test can compare the page with the report. */
(function () {
  'use strict';
  var D = null, R = null;
  var charts = [];
  var RESOURCE_KEY = { ram: 'ram_bytes', flash: 'flash_bytes', macs: 'macs', latency: 'latency_ms' };
  var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f',
                 '#e15759', '#bab0ac', '#1f77b4', '#8c564b'];

  function get(obj, path) {
    var parts = path.split('.');
    for (var i = 0; i < parts.length; ++i) {
      if (obj === null || obj === undefined) return undefined;
      obj = obj[/^\d+$/.test(parts[i]) ? Number(parts[i]) : parts[i]];
    }
    return obj;
  }
  function esc(s) {
    return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }
  function groups(n) {
    var s = String(Math.abs(Math.round(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (n < 0 && Math.round(n) !== 0 ? '-' : '') + s;
  }
  var FORMAT = {
    bytes: function (v) { return groups(v) + ' B'; },
    int: function (v) { return groups(v); },
    ms: function (v) { return v.toFixed(2) + ' ms'; },
    pct: function (v) { return (v * 100).toFixed(1) + ' %'; },
    float: function (v) { return v.toFixed(3); },
    points: function (v) { return v.toFixed(2); },
    count: function (v) { return groups(v); },  // a real-valued count (an average), rounded
    ratio: function (v) { return v.toFixed(2) + '\u00d7'; },
    text: function (v) { return String(v); },
    bool: function (v) { return v ? 'yes' : 'no'; }
  };
  function fmtUnit(unit) { return unit === 'bytes' ? 'bytes' : unit === 'ms' ? 'ms' : 'int'; }
  function show(v, format) {
    if (v === undefined || v === null || (typeof v === 'number' && !isFinite(v))) return 'n/a';
    return FORMAT[format](v);
  }
  // A number (or value) of the report, with its path for the test.
  function num(path, format) {
    var v = get(R, path);
    if (v === undefined || v === null || (typeof v === 'number' && !isFinite(v))) return '<span class="na">n/a</span>';
    // How the test reads the text: points and counts are real numbers shown rounded.
    var f = format === 'points' || format === 'count' ? 'float' : format;
    return '<span class="num" data-json="' + esc(path) + '" data-value="' + esc(JSON.stringify(v)) +
      '" data-format="' + f + '">' + esc(FORMAT[format](v)) + '</span>';
  }
  // A round axis maximum: two significant digits, rounded up.
  function nice(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)) - 1);
    return Math.ceil(v / p) * p;
  }
  function signed(v, format) { return (v > 0 ? '+' : v < 0 ? '\u2212' : '') + FORMAT[format](Math.abs(v)); }

  function chartBox(name, title, option, height, note) {
    charts.push({ name: name, option: option });
    return '<figure class="chart-box"><figcaption>' + esc(title) + '</figcaption><div class="chart" data-chart="' +
      esc(name) + '" style="height:' + (height || 320) + 'px"></div>' + (note ? '<p class="note">' + esc(note) + '</p>' : '') +
      '</figure>';
  }
  function section(title, body) { return '<section><h2>' + esc(title) + '</h2>' + body + '</section>'; }
  function table(head, rows, cls) {
    var h = '<table' + (cls ? ' class="' + cls + '"' : '') + '><thead><tr>';
    head.forEach(function (c) { h += '<th' + (c.l ? ' class="l"' : '') + '>' + esc(c.t || c) + '</th>'; });
    return h + '</tr></thead><tbody>' + rows.join('') + '</tbody></table>';
  }
  function tr(cells, cls) {
    return '<tr' + (cls ? ' class="' + cls + '"' : '') + '>' + cells.map(function (c) {
      if (typeof c === 'object' && c !== null) return '<td class="' + (c.c || '') + '">' + c.h + '</td>';
      return '<td>' + c + '</td>';
    }).join('') + '</tr>';
  }
  // Tables as rows of a CSS grid. Past VIRTUAL_FROM rows only the rows in view are in the
  // document (drawn again on scroll, with a search box over the names), so that a model with
  // 10,000 operators opens fast; a smaller table holds every row.
  var VIRTUAL_FROM = 1000, ROW_H = 26;
  var virtuals = [];
  function grow(cells, cls) {
    return '<div class="gr' + (cls ? ' ' + cls : '') + '">' + cells.map(function (c) {
      if (typeof c === 'object' && c !== null) return '<span class="' + (c.c || '') + '">' + c.h + '</span>';
      if (typeof c === 'string' && c.lastIndexOf('<span', 0) === 0) return c;  // a number of the report: its own cell
      return '<span>' + c + '</span>';
    }).join('') + '</div>';
  }
  function gridTable(head, n, rowFn, columns, names, jump) {
    var hdr = '<div class="gr gh">' + head.map(function (c) {
      return '<span' + (c.l ? ' class="l"' : '') + '>' + esc(c.t !== undefined ? c.t : c) + '</span>';
    }).join('') + '</div>';
    if (n <= VIRTUAL_FROM) {
      var rows = new Array(n);
      for (var i = 0; i < n; ++i) rows[i] = rowFn(i);
      return '<div class="gt scroll" style="--cols: ' + columns + '">' + hdr + rows.join('') + '</div>';
    }
    var id = 'vt' + virtuals.length;
    virtuals.push({ id: id, n: n, rowFn: rowFn, names: names });
    return '<p class="vt-find">Find <input type="search" id="' + id + '-find" placeholder="name contains\u2026"> <span id="' + id +
      '-count">' + groups(n) + ' rows (only those in view are drawn)</span>' +
      (jump ? ' \u00b7 <a href="#" id="' + id + '-jump" data-row="' + jump.row + '">' + esc(jump.label) + '</a>' : '') + '</p>' +
      '<div class="gt scroll vt" id="' + id + '" style="--cols: ' + columns + '">' + hdr + '<div class="vt-body"></div></div>';
  }
  function setupVirtual(v) {
    var box = document.getElementById(v.id), body = box.querySelector('.vt-body');
    var find = document.getElementById(v.id + '-find'), count = document.getElementById(v.id + '-count');
    var jump = document.getElementById(v.id + '-jump');
    var index = null;  // the rows that match the search, or null: all
    function draw() {
      var total = index ? index.length : v.n;
      var first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 10);
      var last = Math.min(total, first + Math.ceil(560 / ROW_H) + 20);
      var h = '<div style="height:' + first * ROW_H + 'px"></div>';
      for (var i = first; i < last; ++i) h += v.rowFn(index ? index[i] : i);
      body.innerHTML = h + '<div style="height:' + (total - last) * ROW_H + 'px"></div>';
    }
    var pending = false;
    box.addEventListener('scroll', function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; draw(); });
    });
    find.addEventListener('input', function () {
      var q = find.value.trim().toLowerCase();
      index = null;
      if (q) {
        index = [];
        for (var i = 0; i < v.n; ++i) if (v.names[i].toLowerCase().indexOf(q) >= 0) index.push(i);
      }
      count.textContent = index ? groups(index.length) + ' of ' + groups(v.n) + ' rows match' : groups(v.n) + ' rows (only those in view are drawn)';
      box.scrollTop = 0;
      draw();
    });
    if (jump) jump.addEventListener('click', function (e) {
      e.preventDefault();
      find.value = '';
      index = null;
      box.scrollTop = Math.max(0, Number(jump.getAttribute('data-row')) * ROW_H - 3 * ROW_H);
      draw();
    });
    draw();
  }
  function notes() {
    var n = (D.notes || []).slice();
    if (!n.length) return '';
    return '<div class="notes">' + n.map(function (s) { return '<p>' + esc(s) + '</p>'; }).join('') + '</div>';
  }

  // ---- budgets: used / available / margin, in words and colour ----
  function budgetRows(list, basePath, usedKey, beforeKey) {
    return list.map(function (b, i) {
      var f = fmtUnit(b.unit), used = b[usedKey], margin = b.budget - used;
      var words = margin >= 0 ? signed(margin, f) + ' left (' + (100 * margin / b.budget).toFixed(1) + ' % of the budget)'
        : 'over by ' + FORMAT[f](-margin) + ' (' + (100 * -margin / b.budget).toFixed(1) + ' %)';
      var cells = [{ c: 'l', h: esc(b.resource) }];
      if (beforeKey) cells.push(num(basePath + '.' + i + '.' + beforeKey, f));
      cells.push(num(basePath + '.' + i + '.' + usedKey, f), num(basePath + '.' + i + '.budget', f),
        { c: b.fits ? 'ok' : 'bad', h: (b.fits ? 'fits: ' : 'does not fit: ') + esc(words) });
      return tr(cells);
    });
  }
  function budgetTable(list, basePath, usedKey, beforeKey) {
    var head = [{ t: 'resource', l: true }];
    if (beforeKey) head.push('before');
    head.push(usedKey === 'after' ? 'after' : 'used', 'budget', { t: 'margin', l: true });
    return table(head, budgetRows(list, basePath, usedKey, beforeKey));
  }

  // ---- per-layer table and chart ----
  function layerSection(title, channelsOf, fromReport) {
    var L = D.costs ? D.costs.layers : null;
    var ops = fromReport ? R.operators : L;
    if (!ops) return '';
    var slow = 0;
    ops.forEach(function (o, i) { if (o.latency_ms > ops[slow].latency_ms) slow = i; });
    var rowFn = function (i) {
      var o = ops[i], p = 'operators.' + i + '.';
      var ch = channelsOf ? channelsOf(o) : null;
      var shape = o.output || o.output_shape;
      var mark = (o.bottleneck ? '<span class="tag peak">memory peak</span> ' : '') +
        (i === slow ? '<span class="tag slow">slowest</span>' : '');
      return grow([i + 1, { c: 'l', h: esc(o.name) }, { c: 'l', h: esc(o.kind || o.op) },
        shape ? shape.join('\u00d7') : '', ch === null ? '' : ch,
        fromReport ? num(p + 'params', 'int') : show(o.params, 'int'),
        fromReport ? num(p + 'flash_bytes', 'bytes') : show(o.flash_bytes, 'bytes'),
        fromReport ? num(p + 'macs', 'int') : show(o.macs, 'int'),
        fromReport ? num(p + 'latency_ms', 'ms') : show(o.latency_ms, 'ms'),
        fromReport ? num(p + 'live_bytes', 'bytes') : show(o.live_bytes, 'bytes'), { c: 'l', h: mark }],
        o.bottleneck ? 'peak' : '');
    };
    var peakRow = -1;
    ops.forEach(function (o, i) { if (o.bottleneck && peakRow < 0) peakRow = i; });
    var head = ['#', { t: 'operator', l: true }, { t: 'kind', l: true }, 'output', channelsOf ? 'channels' : '',
      'params', 'flash', 'MACs', 'latency', 'memory at step', { t: '', l: true }];
    var names = ops.map(function (o) { return o.name; });
    var n = names.length;
    // Past 2,000 operators a bar per operator is unreadable (and slow to draw): the chart sums
    // flash and MACs per operator kind; the table below still lists every operator.
    var big = n > 2000, cats = names, flash = ops.map(function (o) { return o.flash_bytes; }),
        macs = ops.map(function (o) { return o.macs; });
    if (big) {
      var byKind = {};
      cats = [];
      ops.forEach(function (o) {
        var k = o.kind || o.op;
        if (!(k in byKind)) { byKind[k] = cats.length; cats.push(k); }
      });
      flash = cats.map(function () { return 0; });
      macs = cats.map(function () { return 0; });
      ops.forEach(function (o) { var j = byKind[o.kind || o.op]; flash[j] += o.flash_bytes; macs[j] += o.macs; });
    }
    var opt = {
      animation: false,
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 70, right: 70, top: 34, bottom: 80 },
      xAxis: { type: 'category', data: cats, axisLabel: { rotate: big ? 0 : 45, fontSize: 10 } },
      yAxis: [{ type: 'value', name: 'flash (bytes)' }, { type: 'value', name: 'MACs' }],
      dataZoom: cats.length > 60 ? [{ type: 'inside', startValue: 0, endValue: 59 }, { type: 'slider', startValue: 0, endValue: 59, height: 18, bottom: 4 }] : [],
      series: [
        { name: 'flash (bytes)', type: 'bar', data: flash },
        { name: 'MACs', type: 'bar', yAxisIndex: 1, data: macs }
      ]
    };
    var chartTitle = big ? 'Flash and MACs per operator kind (' + groups(n) + ' operators)' : 'Flash and MACs per operator';
    return section(title,
      gridTable(head, ops.length, rowFn, '3em minmax(8em, 2fr) minmax(10em, 1.3fr) 7em 7.5em 6em 7em 8em 6.5em 8em minmax(9em, 1fr)',
                names, peakRow >= 0 ? { row: peakRow, label: 'the memory peak: row ' + (peakRow + 1) } : null) +
      '<p class="note">Execution order ' + (D.costs && D.costs.timeline.optimal.patched ? '(optimal, first stage in patches)' : '(memory-optimal)') +
      '. "memory at step": live tensors and kernel scratch while the operator runs.</p>' +
      chartBox('layers', chartTitle, opt, 340));
  }

  // ---- memory timeline: live tensors stacked per step, peak and RAM budget as lines ----
  function ramForTensors() {
    // profile and prune reports carry their budgets; other pages use the costs' board
    var list = (D.kind === 'profile' || D.kind === 'prune' ? R.budgets : (D.costs ? D.costs.budgets : [])) || [];
    for (var i = 0; i < list.length; ++i)
      if (list[i].resource === 'ram') {
        var persistent = D.costs ? D.costs.totals.persistent_ram_bytes : 0;
        return { value: list[i].budget - persistent, persistent: persistent };
      }
    return null;
  }
  function timelineChart(which) {
    var tl = D.costs.timeline[which], names = D.costs.tensors;
    var n = tl.ops.length, slots = 0;
    tl.live.forEach(function (s) { slots = Math.max(slots, s.length / 2); });
    // Past 2,000 steps the x axis is a value axis (step numbers) with plain [step, bytes] points:
    // a category axis of that many names, and an object per bar, cost seconds to lay out.
    var big = n > 2000;
    var series = [];
    for (var k = 0; k < slots; ++k) {
      var data = big ? [] : new Array(n);
      for (var i = 0; i < n; ++i) {
        var s = tl.live[i];
        if (2 * k < s.length) {
          var t = s[2 * k], b = s[2 * k + 1];
          var id = t < 0 ? -1 - t : t;
          if (big) data.push([i + 1, b]);
          else data[i] = { value: b, itemStyle: { color: PALETTE[id % PALETTE.length], opacity: t < 0 ? 0.6 : 1 } };
        } else if (!big) {
          data[i] = '-';
        }
      }
      series.push({ name: 'tensor ' + (k + 1), type: 'bar', stack: 'live', barCategoryGap: '10%', data: data,
                    itemStyle: { color: PALETTE[k % PALETTE.length] } });
    }
    var scratch = big ? [] : tl.scratch.map(function (v) { return v > 0 ? v : '-'; });
    if (big) tl.scratch.forEach(function (v, i) { if (v > 0) scratch.push([i + 1, v]); });
    series.push({ name: 'scratch', type: 'bar', stack: 'live', data: scratch, itemStyle: { color: '#9e9e9e' } });
    var lines = [{ yAxis: tl.peak_bytes, name: 'peak', label: { formatter: 'peak ' + groups(tl.peak_bytes) + ' B', position: 'insideEndTop' },
                   lineStyle: { color: '#c62828', type: 'solid', width: 2 } }];
    var ram = ramForTensors();
    // A budget far above the peak would flatten every bar: it is then named, not drawn.
    var offScale = ram && ram.value > 3 * tl.peak_bytes;
    if (ram && !offScale) lines.push({ yAxis: ram.value, name: 'RAM budget', label: { formatter: 'RAM budget for tensors ' + groups(ram.value) + ' B', position: 'insideStartTop' },
                          lineStyle: { color: '#1a7f37', type: 'dashed', width: 2 } });
    series[0].markLine = { symbol: 'none', silent: true, data: lines };
    var zoom = [];
    if (n > 400) {
      var a = Math.max(0, tl.bottleneck_step - 200), e = Math.min(n - 1, a + 399);
      if (big) { a += 0.5; e += 1.5; }  // step values, not indices
      zoom = [{ type: 'inside', startValue: a, endValue: e }, { type: 'slider', startValue: a, endValue: e, height: 18, bottom: 4 }];
    }
    var stepTip = function (i) {
      var s = tl.live[i], h = '<b>' + (i + 1) + '. ' + esc(tl.ops[i]) + '</b>: ' + groups(tl.step_bytes[i]) + ' B';
      for (var j = 0; j < s.length; j += 2) {
        var t = s[j] < 0 ? -1 - s[j] : s[j];
        h += '<br>' + esc(names[t]) + (s[j] < 0 ? ' (patch window)' : '') + ': ' + groups(s[j + 1]) + ' B';
      }
      if (tl.scratch[i] > 0) h += '<br>scratch: ' + groups(tl.scratch[i]) + ' B';
      return h;
    };
    var opt = {
      animation: false,
      legend: { show: false },
      tooltip: big ? { trigger: 'item', confine: true, formatter: function (p) { return stepTip(p.value[0] - 1); } }
        : { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true, formatter: function (ps) { return stepTip(ps[0].dataIndex); } },
      grid: { left: 80, right: 30, top: 20, bottom: n > 400 ? 70 : 50 },
      xAxis: big ? { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 26, min: 0.5, max: n + 0.5, minInterval: 1 }
        : { type: 'category', name: 'step', nameLocation: 'middle', nameGap: 26, data: tl.ops.map(function (_, i) { return String(i + 1); }) },
      yAxis: { type: 'value', name: 'bytes', max: function (v) { return nice(Math.max(v.max, ram && !offScale ? ram.value : 0) * 1.08); } },
      dataZoom: zoom,
      series: series
    };
    var title = (which === 'given' ? 'Memory timeline, given operator order' : 'Memory timeline, memory-optimal operator order') +
      (tl.patched ? ' (first stage in patches)' : '') + ': peak ' + groups(tl.peak_bytes) + ' B at step ' + (tl.bottleneck_step + 1) +
      ' (' + tl.ops[tl.bottleneck_step] + ')';
    var note = 'Each bar is one execution step; its segments are the tensors live while it runs (hover for names)' +
      (ram && !offScale ? '; the dashed line is the RAM budget less the runtime\'s own data (' + groups(ram.persistent) + ' B)' : '') +
      (offScale ? '; the RAM budget for tensors, ' + groups(ram.value) + ' B (the budget less the runtime\'s own data, ' +
                  groups(ram.persistent) + ' B), is more than three times the peak and is not drawn' : '') +
      (n > 400 ? '; zoomed to the 400 steps around the peak (drag the slider for the rest)' : '') +
      (tl.search_complete ? '' : '; the optimal-order search stopped at its state bound: the best order found is shown') + '.';
    return chartBox('timeline-' + which, title, opt, 340, note);
  }
  function timelines() {
    if (!D.costs) return '';
    return section('Memory timeline', timelineChart('given') + timelineChart('optimal'));
  }

  // ---- training curves ----
  function phases(hist) {
    if (D.kind !== 'prune' || !hist.length) return [];
    var warm = (R.config && R.config.warmup_epochs) || 0, out = [], cur = null;
    hist.forEach(function (h, i) {
      var ph = i > 0 && hist[i - 1].pruning_done ? 'fine-tuning' : (h.epoch <= warm ? 'warm-up' : 'pruning');
      if (!cur || cur.name !== ph) { cur = { name: ph, from: h.epoch, to: h.epoch }; out.push(cur); } else cur.to = h.epoch;
    });
    return out;
  }
  var PHASE_COLOUR = { 'warm-up': 'rgba(255, 200, 0, 0.12)', 'pruning': 'rgba(220, 60, 60, 0.08)', 'fine-tuning': 'rgba(40, 160, 80, 0.10)' };
  function curveOption(hist, series, yName, extraLines) {
    var ph = phases(hist);
    var last = hist.length ? hist[hist.length - 1].epoch : 1, first = hist.length ? hist[0].epoch : 1;
    var s = series.map(function (x) {
      return { name: x.name, type: 'line', showSymbol: hist.length < 60, connectNulls: false,
               data: hist.map(function (h) { var v = x.f(h); return [h.epoch, v === undefined ? null : v]; }) };
    });
    // Each epoch owns the band [epoch - 0.5, epoch + 0.5]: a phase of one epoch has a width.
    var marks = ph.map(function (p) {
      return [{ name: p.name, xAxis: p.from - 0.5, itemStyle: { color: PHASE_COLOUR[p.name] } }, { xAxis: p.to + 0.5 }];
    });
    var lines = (extraLines || []).slice();
    (D.kind === 'prune' ? R.fallbacks : []).forEach(function (f) {
      lines.push({ xAxis: f.epoch + 0.5, name: 'fallback', label: { formatter: 'fallback: ' + f.kind },
                   lineStyle: { color: '#c62828', type: 'dotted', width: 2 } });
    });
    if (s.length) {
      if (marks.length) s[0].markArea = { silent: true, label: { position: 'insideBottom', color: '#59636e' }, data: marks };
      if (lines.length) s[0].markLine = { symbol: 'none', silent: true, data: lines };
    }
    return { animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 70, right: 30, top: 34, bottom: 40 },
             xAxis: { type: 'value', name: 'epoch', nameLocation: 'middle', nameGap: 24, min: first - 0.5, max: last + 0.5,
                      minInterval: 1, axisLabel: { formatter: function (v) { return Number.isInteger(v) ? String(v) : ''; } } },
             yAxis: { type: 'value', name: yName, scale: true }, series: s };
  }
  function curves(hist, title) {
    if (!hist || !hist.length) return '';
    var loss = curveOption(hist, [{ name: 'train loss', f: function (h) { return h.train_loss; } },
                                  { name: 'validation loss', f: function (h) { return h.val_loss; } }], 'loss');
    var acc = curveOption(hist, [{ name: 'train accuracy', f: function (h) { return h.train_accuracy; } },
                                 { name: 'validation accuracy', f: function (h) { return h.val_accuracy; } }], 'accuracy');
    var ph = phases(hist);
    var note = ph.length ? 'Shaded: ' + ph.map(function (p) { return p.name + ' (epochs ' + p.from + (p.to > p.from ? '\u2013' + p.to : '') + ')'; }).join(', ') + '.' : '';
    var h = '<div class="grid2">' + chartBox('loss', 'Loss per epoch', loss, 300) + chartBox('accuracy', 'Accuracy per epoch', acc, 300) + '</div>';
    if (note) h += '<p class="note">' + esc(note) + '</p>';
    if (D.kind === 'prune') {
      var boxes = R.budgets.map(function (b) {
        var key = RESOURCE_KEY[b.resource];
        var o = curveOption(hist, [{ name: b.resource, f: function (x) { return x.resources ? x.resources[key] : null; } }], b.unit,
          [{ yAxis: b.budget, name: 'budget', label: { formatter: 'budget ' + show(b.budget, fmtUnit(b.unit)), position: 'insideEndTop' },
             lineStyle: { color: '#1a7f37', type: 'dashed', width: 2 } }]);
        o.yAxis.max = function (v) { return nice(Math.max(v.max, b.budget) * 1.05); };
        return chartBox('resource-' + b.resource, b.resource + ' per epoch against its budget', o, 280);
      });
      h += '<div class="grid2">' + boxes.join('') + '</div>';
      if (R.fallbacks.length) h += '<p class="note">Dotted red lines: the epochs at whose end a fallback ran.</p>';
    }
    return section(title, h);
  }

  // ---- pages ----
  function header(title, sub) {
    return '<header><h1>' + esc(title) + '</h1><p>' + sub + '</p></header>';
  }
  function footer() {
    return '<footer>Drawn from ' + esc(D.source) + ' by mcuprune; charts: ' + esc(D.chart_library) +
      '. This page loads nothing from the network.</footer>';
  }
  function verdictBox(cls, verdict, jsonPath, title, lines) {
    return '<section class="verdict ' + cls + '" data-verdict="' + verdict + '"' + (jsonPath ? ' data-verdict-json="' + esc(jsonPath) + '"' : '') +
      '><h2>' + esc(title) + '</h2>' + lines.map(function (l) { return '<p>' + l + '</p>'; }).join('') + '</section>';
  }

  function prunePage() {
    var over = R.budgets.filter(function (b) { return !b.fits; }).map(function (b) { return b.resource; });
    var h = header(D.title || 'prune', 'pruned with method <b>' + esc(R.method) + '</b> for ' + esc(R.board) + ' on ' +
      esc(R.dataset ? R.dataset.name : '?') + ', ' + num('epochs', 'int') + ' epochs');
    h += verdictBox(R.budgets_met ? 'ok' : 'bad', R.budgets_met ? 'fits' : 'does-not-fit', 'budgets_met',
      R.budgets_met ? 'Fits every budget' : 'Does not fit: over the ' + over.join(', ') + ' budget' + (over.length > 1 ? 's' : ''),
      ['every budget met: ' + num('budgets_met', 'bool') + ' \u00b7 test accuracy ' + num('accuracy.test', 'pct') +
       (R.accuracy.test_before !== undefined ? ' (before pruning: ' + num('accuracy.test_before', 'pct') + ')' : '') +
       ' \u00b7 validation ' + num('accuracy.val', 'pct')]);
    h += notes();
    R.fallbacks.forEach(function (f, i) {
      h += '<div class="fallback"><b>Fallback ' + esc(f.kind) + '</b> after epoch ' + num('fallbacks.' + i + '.epoch', 'int') +
        ': ' + esc(f.detail || '') + '</div>';
    });
    h += section('Budgets', budgetTable(R.budgets, 'budgets', 'after', 'before'));
    var keys = [['ram_bytes', 'RAM (peak + runtime data)', 'bytes'], ['peak_sram_bytes', 'peak SRAM (tensors)', 'bytes'],
                ['flash_bytes', 'flash', 'bytes'], ['macs', 'MACs', 'int'], ['latency_ms', 'latency', 'ms'], ['params', 'parameters', 'int']];
    var rows = keys.map(function (k) {
      var b = R.resources.before[k[0]], a = R.resources.after[k[0]];
      return tr([{ c: 'l', h: esc(k[1]) }, num('resources.before.' + k[0], k[2]), num('resources.after.' + k[0], k[2]),
                 a > 0 ? FORMAT.ratio(b / a) : 'n/a']);
    });
    rows.push(tr([{ c: 'l', h: 'memory bottleneck' }, num('resources.before.bottleneck_operator', 'text'),
                  num('resources.after.bottleneck_operator', 'text'), '']));
    h += section('Before and after', table([{ t: 'resource', l: true }, 'before', 'after', 'improvement'], rows));
    var byName = {};
    R.layers.forEach(function (l) { byName[l.name] = l; });
    var changed = R.layers.filter(function (l) { return l.channels_before !== l.channels_after || /conv|dense/.test(l.op); });
    var chOpt = {
      animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 34, bottom: 90 },
      xAxis: { type: 'category', data: changed.map(function (l) { return l.name; }), axisLabel: { rotate: 45, fontSize: 10 } },
      yAxis: { type: 'value', name: 'channels' },
      dataZoom: changed.length > 60 ? [{ type: 'slider', startValue: 0, endValue: 59, height: 18, bottom: 4 }] : [],
      series: [{ name: 'before', type: 'bar', data: changed.map(function (l) { return l.channels_before; }), itemStyle: { color: '#bab0ac' } },
               { name: 'after', type: 'bar', data: changed.map(function (l) { return l.channels_after; }), itemStyle: { color: '#4e79a7' } }]
    };
    var lrow = function (i) {
      var l = R.layers[i], p = 'layers.' + i + '.';
      return grow([{ c: 'l', h: esc(l.name) }, { c: 'l', h: esc(l.op) }, num(p + 'channels_before', 'int'), num(p + 'channels_after', 'int'),
                   l.channels_before > 0 ? (100 * (1 - l.channels_after / l.channels_before)).toFixed(0) + ' %' : '']);
    };
    h += section('Channels per layer', chartBox('channels', 'Output channels before and after pruning', chOpt, 320) +
      gridTable([{ t: 'layer', l: true }, { t: 'op', l: true }, 'before', 'after', 'removed'], R.layers.length, lrow,
                'minmax(10em, 2fr) minmax(8em, 1fr) 7em 7em 7em', R.layers.map(function (l) { return l.name; }), null));
    h += layerSection('Per operator (pruned model)', function (o) {
      var l = byName[o.name];
      return l ? l.channels_before + ' \u2192 ' + l.channels_after : '';
    }, false);
    h += timelines();
    h += curves(R.history, 'Training and pruning');
    return h;
  }

  function costVerdictLines() {
    if (!D.costs) return [];
    return ['On ' + esc(D.costs.board) + ' (runtime ' + esc(D.costs.runtime) + '): ' + (D.costs.fits ? 'fits' : 'does not fit') + ' \u2014 ' +
      D.costs.budgets.map(function (b) { return b.resource + ' ' + show(b.used, fmtUnit(b.unit)) + ' of ' + show(b.budget, fmtUnit(b.unit)); }).join(', ')];
  }

  function trainPage() {
    var h = header(D.title || 'train', 'trained on ' + esc(R.dataset ? R.dataset.name : '?') + ', ' + num('epochs', 'int') + ' epochs');
    h += verdictBox('neutral', 'trained', null, 'Trained: test accuracy ' + show(R.accuracy.test, 'pct'),
      ['test ' + num('accuracy.test', 'pct') + ' (loss ' + num('loss.test', 'float') + ') \u00b7 validation ' + num('accuracy.val', 'pct') +
       ' (loss ' + num('loss.val', 'float') + ') \u00b7 last epoch\'s training accuracy ' + num('accuracy.train', 'pct'),
       'parameters ' + num('model.params', 'int') + ' \u00b7 ' + num('dataset.train_samples', 'int') + ' training samples \u00b7 training time ' +
       num('train_time_s', 'float') + ' s'].concat(costVerdictLines()));
    h += notes();
    if (D.costs) h += section('Costs on ' + D.costs.board, table([{ t: 'resource', l: true }, 'used', 'budget', { t: 'margin', l: true }],
      D.costs.budgets.map(function (b) {
        var f = fmtUnit(b.unit);
        return tr([{ c: 'l', h: esc(b.resource) }, show(b.used, f), show(b.budget, f),
                   { c: b.fits ? 'ok' : 'bad', h: (b.fits ? 'fits: ' : 'does not fit: ') + signed(b.budget - b.used, f) }]);
      })));
    h += curves(R.history, 'Training');
    h += layerSection('Per operator', function (o) { return o.output ? o.output[2] : ''; }, false);
    h += timelines();
    return h;
  }

  function profilePage() {
    var h = header(D.title || 'profile', esc(R.model.name) + ' on ' + esc(R.board.name) + ', runtime ' + esc(R.runtime) + ', ' + esc(R.order) + ' order');
    var over = R.budgets.filter(function (b) { return !b.fits; }).map(function (b) { return b.resource; });
    h += verdictBox(R.fits ? 'ok' : 'bad', R.fits ? 'fits' : 'does-not-fit', 'fits',
      R.fits ? 'Fits every budget' : 'Does not fit: over the ' + over.join(', ') + ' budget' + (over.length > 1 ? 's' : ''),
      ['fits: ' + num('fits', 'bool') + ' \u00b7 memory bottleneck ' + num('totals.bottleneck_operator', 'text')]);
    h += notes();
    h += section('Budgets', budgetTable(R.budgets, 'budgets', 'used', null));
    var t = [['ram_bytes', 'RAM (peak + runtime data)', 'bytes'], ['peak_sram_bytes', 'peak SRAM (tensors)', 'bytes'],
             ['peak_sram_given_order_bytes', 'peak SRAM, given order', 'bytes'], ['peak_sram_optimal_order_bytes', 'peak SRAM, optimal order', 'bytes'],
             ['flash_bytes', 'flash', 'bytes'], ['macs', 'MACs', 'int'], ['latency_ms', 'latency', 'ms'], ['params', 'parameters', 'int']];
    h += section('Totals', table([{ t: 'resource', l: true }, 'value'], t.map(function (k) {
      return tr([{ c: 'l', h: esc(k[1]) }, num('totals.' + k[0], k[2])]);
    })));
    h += layerSection('Per operator', function (o) { return o.output_shape ? o.output_shape[2] : ''; }, true);
    h += timelines();
    return h;
  }

  function deployPage() {
    var exact = R.bit_exact_samples === R.samples && R.samples > 0;
    var h = header(D.title || 'deploy', esc(R.target || '') + ', kernels ' + esc(R.kernels || '') + ', model ' + esc(R.model_dir));
    h += verdictBox(exact ? 'ok' : 'bad', exact ? 'bit-exact' : 'differs', null,
      exact ? 'Bit-exact on every sample' : 'Outputs differ from the host\'s integer reference',
      [num('bit_exact_samples', 'int') + ' of ' + num('samples', 'int') + ' samples bit-exact (largest difference ' +
       num('max_abs_difference', 'int') + ') \u00b7 accuracy ' + num('accuracy', 'pct'),
       'The firmware was linked for ' + esc(R.board) + '\'s memory map: it fits its flash and RAM.']);
    h += notes();
    var P = R.predicted, M = R.measured;
    if (M) {
      var rows = [
        tr([{ c: 'l', h: 'flash: model constants' }, num('measured.flash.model_bytes', 'bytes'), num('predicted.model_constant_bytes', 'bytes'),
            signed(M.flash.model_bytes - P.model_constant_bytes, 'bytes')]),
        tr([{ c: 'l', h: 'flash: code' }, num('measured.flash.code_bytes', 'bytes'), '', '']),
        tr([{ c: 'l', h: 'RAM: arena' }, num('measured.ram.model_bytes', 'bytes'), num('predicted.arena_bytes', 'bytes'),
            signed(M.ram.model_bytes - P.arena_bytes, 'bytes')]),
        tr([{ c: 'l', h: 'RAM: peak SRAM (tensors)' }, '', num('predicted.peak_sram_bytes', 'bytes'), '']),
        tr([{ c: 'l', h: 'RAM: stack high-water' }, num('measured.ram.stack_high_water_bytes', 'bytes'), '', '']),
        tr([{ c: 'l', h: 'instructions per inference' }, num('measured.instructions_per_inference', 'count'), num('predicted.profile_instructions', 'count'),
            P.profile_instructions ? ((100 * (P.profile_instructions - M.instructions_per_inference) / M.instructions_per_inference).toFixed(1) + ' % (model)') : ''])
      ];
      h += section('Measured against predicted', table([{ t: 'quantity', l: true }, 'measured', 'predicted', 'difference'], rows));
      var memOpt = {
        animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 80, right: 20, top: 34, bottom: 30 },
        xAxis: { type: 'category', data: ['flash: model constants', 'RAM: arena'] }, yAxis: { type: 'value', name: 'bytes' },
        series: [{ name: 'measured', type: 'bar', data: [M.flash.model_bytes, M.ram.model_bytes] },
                 { name: 'predicted', type: 'bar', data: [P.model_constant_bytes, P.arena_bytes] }]
      };
      h += chartBox('memory', 'Flash and RAM: measured on the emulated MCU and predicted', memOpt, 280);
      var ops = M.operators || [];
      var pred = {};
      if (D.costs) D.costs.layers.forEach(function (l) { pred[l.name] = l.instructions; });
      var insOpt = {
        animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 90, right: 20, top: 34, bottom: 90 },
        xAxis: { type: 'category', data: ops.map(function (o) { return o.name; }), axisLabel: { rotate: 45, fontSize: 10 } },
        yAxis: { type: 'value', name: 'instructions' },
        dataZoom: ops.length > 60 ? [{ type: 'slider', startValue: 0, endValue: 59, height: 18, bottom: 4 }] : [],
        series: [{ name: 'measured', type: 'bar', data: ops.map(function (o) { return o.instructions; }) }]
      };
      if (D.costs) insOpt.series.push({ name: 'instruction model', type: 'bar', data: ops.map(function (o) { return pred[o.name] !== undefined ? pred[o.name] : '-'; }) });
      h += section('Instructions per operator', chartBox('instructions', 'Instructions per inference, per operator', insOpt, 340) +
        table([{ t: 'operator', l: true }, { t: 'kind', l: true }, 'MACs', 'instructions', 'per MAC'], ops.map(function (o, i) {
          return tr([{ c: 'l', h: esc(o.name) }, { c: 'l', h: esc(o.kind) }, num('measured.operators.' + i + '.macs', 'int'),
                     num('measured.operators.' + i + '.instructions', 'count'), o.macs > 0 ? (o.instructions / o.macs).toFixed(2) : '']);
        })));
    } else {
      h += section('Measured against predicted', '<p>This run was on the host: no flash, RAM or instruction measurements ' +
        '(deploy --emulate runs the firmware on an emulated Cortex-M4 and measures them). Predicted: arena ' +
        num('predicted.arena_bytes', 'bytes') + ', model constants ' + num('predicted.model_constant_bytes', 'bytes') + '.</p>');
    }
    h += timelines();
    return h;
  }

  function quantizePage() {
    var q = R.qat;
    var h = header(D.title || 'quantize', 'int8 quantisation on ' + esc(R.dataset ? R.dataset.name : '?') + ' (' + num('calibration_samples', 'int') + ' calibration samples)');
    var best = q ? q.int8 : R.accuracy.int8;
    h += verdictBox('neutral', 'int8', null, 'int8 accuracy ' + show(best, 'pct') + (q ? ' after quantisation-aware fine-tuning' : ''),
      ['post-training: float ' + num('accuracy.float', 'pct') + ', int8 ' + num('accuracy.int8', 'pct') + ' (' + num('accuracy.drop_points', 'points') + ' points lost)'].concat(
        q ? ['after ' + num('qat.epochs', 'int') + ' epoch(s) of QAT: float ' + num('qat.float', 'pct') + ', int8 ' + num('qat.int8', 'pct') +
             ' (' + num('qat.int8_gain_points', 'points') + ' points against post-training int8)'] : []));
    h += notes();
    var cats = ['float', 'int8 (post-training)'], vals = [R.accuracy.float, R.accuracy.int8];
    if (q) { cats.push('float after QAT', 'int8 after QAT'); vals.push(q.float, q.int8); }
    var opt = { animation: false, tooltip: { trigger: 'axis' }, grid: { left: 60, right: 20, top: 20, bottom: 30 },
                xAxis: { type: 'category', data: cats }, yAxis: { type: 'value', name: 'accuracy', scale: true },
                series: [{ type: 'bar', name: 'test accuracy', data: vals, label: { show: true, position: 'top', formatter: function (p) { return (100 * p.value).toFixed(1) + ' %'; } } }] };
    h += section('Accuracy', chartBox('accuracy-int8', 'Test accuracy, float and int8', opt, 280));
    if (q && q.history) h += curves(q.history, 'Quantisation-aware fine-tuning');
    h += layerSection('Per operator', function (o) { return o.output ? o.output[2] : ''; }, false);
    h += timelines();
    return h;
  }

  function paretoFront(points) {
    var s = points.slice().sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var out = [], best = -Infinity;
    s.forEach(function (p) { if (p[1] > best) { out.push(p); best = p[1]; } });
    return out;
  }
  function benchPage() {
    var runs = R.runs, methods = [];
    runs.forEach(function (r) { if (methods.indexOf(r.method) < 0) methods.push(r.method); });
    var h = header(D.title || 'benchmark', 'bench/methods.py: every run of ' + esc(R.model) + ' (' + runs.length + ' runs)');
    h += verdictBox('neutral', 'bench', null, 'Accuracy against resources, per method', ['Points: single runs (level, seed); lines: each method\'s Pareto front (no other run of that method is both smaller and more accurate).']);
    function option(key, label) {
      var series = [];
      methods.forEach(function (m, k) {
        var pts = runs.filter(function (r) { return r.method === m && r.accuracy_test !== null && r[key] !== null && r.status === 'ok'; })
          .map(function (r) { return [r[key] / 1024, r.accuracy_test, r.level + ' s' + r.seed]; });
        if (!pts.length) return;
        var c = PALETTE[k % PALETTE.length];
        series.push({ name: m, type: 'scatter', data: pts, symbolSize: 9, itemStyle: { color: c } });
        series.push({ name: m, type: 'line', step: 'end', data: paretoFront(pts), showSymbol: false, lineStyle: { color: c, width: 1.5 }, tooltip: { show: false } });
      });
      return { animation: false, legend: { top: 0 }, grid: { left: 70, right: 30, top: 40, bottom: 50 },
               tooltip: { trigger: 'item', formatter: function (p) { return esc(p.seriesName) + ' ' + esc(p.data[2] || '') + ': ' + p.data[0].toFixed(1) + ' KiB, ' + (100 * p.data[1]).toFixed(1) + ' %'; } },
               xAxis: { type: 'log', name: label + ' (KiB, log scale)', nameLocation: 'middle', nameGap: 28 },
               yAxis: { type: 'value', name: 'test accuracy', scale: true }, series: series };
    }
    h += '<div class="grid2">' + chartBox('pareto-ram', 'Test accuracy against peak SRAM', option('peak_sram_bytes', 'peak SRAM'), 380) +
      chartBox('pareto-flash', 'Test accuracy against flash', option('flash_bytes', 'flash'), 380) + '</div>';
    h += section('Runs', '<div class="scroll">' + table([{ t: 'method', l: true }, { t: 'level', l: true }, 'seed', { t: 'status', l: true }, 'test accuracy', 'peak SRAM', 'flash', 'MACs'],
      runs.map(function (r, i) {
        var p = 'runs.' + i + '.';
        return tr([{ c: 'l', h: esc(r.method) }, { c: 'l', h: esc(r.level) }, num(p + 'seed', 'int'), { c: 'l', h: esc(r.status) },
                   num(p + 'accuracy_test', 'pct'), num(p + 'peak_sram_bytes', 'bytes'), num(p + 'flash_bytes', 'bytes'), num(p + 'macs', 'int')]);
      })) + '</div>');
    return h;
  }

  var marks = {};
  function mark(name) { marks[name] = Math.round(performance.now()); }
  // Ready once the frame that holds every chart has been painted.
  function finish(names) {
    mark('charts');
    requestAnimationFrame(function () {
      setTimeout(function () {
        mark('painted');
        window.mcupruneReport = { ready: true, readyMs: performance.now(), charts: names, phasesMs: marks };
        document.body.setAttribute('data-ready', 'true');
      }, 0);
    });
  }

  function main() {
    mark('start');
    D = JSON.parse(document.getElementById('mcuprune-data').textContent);
    R = D.report;
    mark('parsed');
    D.title = document.title;
    var pages = { prune: prunePage, train: trainPage, profile: profilePage, deploy: deployPage, quantize: quantizePage, bench: benchPage };
    if (!pages[D.kind]) throw new Error('unknown report kind ' + D.kind);
    var app = document.getElementById('app');
    var html = pages[D.kind]() + footer();
    mark('built');
    app.innerHTML = html;
    virtuals.forEach(setupVirtual);
    mark('dom');
    if (typeof echarts === 'undefined') throw new Error('the chart library did not load');
    var names = charts.map(function (c) { return c.name; });
    var left = charts.length;
    if (!left) return finish(names);
    var instances = [];
    charts.forEach(function (c) {
      var el = app.querySelector('[data-chart="' + c.name + '"]');
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      instances.push(chart);
      var done = false;
      chart.on('finished', function () {
        if (done) return;
        done = true;
        if (--left === 0) finish(names);
      });
      chart.setOption(c.option);
      mark('set-' + c.name);
    });
    mark('options');
    window.addEventListener('resize', function () { instances.forEach(function (c) { c.resize(); }); });
  }

  try {
    main();
  } catch (e) {
    window.mcupruneReport = { ready: false, error: String(e && e.message ? e.message : e) };
    var app = document.getElementById('app');
    if (app) app.innerHTML = '<div class="error">This report could not be drawn: ' + esc(window.mcupruneReport.error) + '</div>';
    console.error('mcuprune report: ' + window.mcupruneReport.error);
  }
})();
