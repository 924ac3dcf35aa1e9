#!/usr/bin/env node
// Checks mcuprune's self-contained HTML reports in a headless Chromium.
//
//   node tests/report/check_pages.mjs --manifest M.json --out OUTDIR
//        [--chromium /usr/bin/chromium] [--ready-timeout SECONDS]
//
// M.json is a JSON array of
//   {"name": "kws", "html": "kws.html", "json": "kws.json",
//    "charts": ["budgets", ...], "verdict": "fits" | "does-not-fit" | null,
//    "min_numbers": 5, "max_ready_ms": 3000}
// Relative "html" and "json" paths are taken from the manifest's folder.
// "verdict" null or absent: the verdict is not checked.
//
// Page contract: window.mcupruneReport = {ready: true, readyMs, charts: [names]}
// (or {error: "..."}); each chart is an ECharts canvas chart on an element
// [data-chart=NAME]; each shown value is an element with data-json (path into
// the JSON: "budgets.0.after"), data-value (the value, JSON-encoded) and
// data-format (bytes int ms pct float ratio text bool); the verdict is an
// element [data-verdict="fits"|"does-not-fit"], optionally with data-json
// naming the JSON boolean (such an element is not counted as a number).
//
// Every page is opened offline in a fresh browser context and must: load
// nothing but its own file, log no console error and throw nothing, set
// window.mcupruneReport.ready, draw every chart with data, and show every
// [data-json] number as it is in the JSON file. OUTDIR gets NAME.png for
// each page and results.json.
//
// Exit status: 0 all pages pass, 1 some page failed, 2 bad arguments,
// bad manifest or no browser.
//
// Needs playwright-core from tools/report (npm ci there) and nothing else.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const playwrightEntry = path.resolve(scriptDir, '../../tools/report/node_modules/playwright-core/index.mjs');
const FORMATS = ['bytes', 'int', 'ms', 'pct', 'float', 'ratio', 'text', 'bool'];
const MIN_INK_PIXELS = 200;

function usageExit(msg) {
  if (msg) process.stderr.write(`check_pages: ${msg}\n`);
  process.stderr.write(
    'usage: node check_pages.mjs --manifest M.json --out OUTDIR [--chromium PATH] [--ready-timeout SECONDS]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { manifest: null, out: null, chromium: null, readyTimeoutS: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write('usage: node check_pages.mjs --manifest M.json --out OUTDIR [--chromium PATH] [--ready-timeout SECONDS]\n');
      process.exit(0);
    }
    let key = a, val;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { key = a.slice(0, eq); val = a.slice(eq + 1); }
    if (!['--manifest', '--out', '--chromium', '--ready-timeout'].includes(key)) usageExit(`unknown argument '${a}'`);
    if (val === undefined) {
      if (i + 1 >= argv.length) usageExit(`${key} needs a value`);
      val = argv[++i];
    }
    if (val === '') usageExit(`${key} needs a non-empty value`);
    if (key === '--manifest') opts.manifest = val;
    else if (key === '--out') opts.out = val;
    else if (key === '--chromium') opts.chromium = val;
    else {
      const s = Number(val);
      if (!Number.isFinite(s) || s <= 0) usageExit(`--ready-timeout must be a positive number of seconds, not '${val}'`);
      opts.readyTimeoutS = s;
    }
  }
  if (!opts.manifest) usageExit('--manifest is required');
  if (!opts.out) usageExit('--out is required');
  return opts;
}

function loadManifest(file) {
  let text, list;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { usageExit(`cannot read manifest ${file}: ${e.message}`); }
  try { list = JSON.parse(text); } catch (e) { usageExit(`manifest ${file} is not valid JSON: ${e.message}`); }
  if (!Array.isArray(list) || list.length === 0) usageExit(`manifest ${file} must be a non-empty JSON array`);
  const base = path.dirname(path.resolve(file));
  const names = new Set();
  return list.map((e, i) => {
    const where = `manifest ${file} entry ${i}`;
    if (!e || typeof e !== 'object' || Array.isArray(e)) usageExit(`${where} is not an object`);
    if (typeof e.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(e.name) || e.name.startsWith('.'))
      usageExit(`${where}: "name" must be a string of letters, digits, '.', '_', '-' (it names NAME.png)`);
    if (names.has(e.name)) usageExit(`${where}: duplicate name '${e.name}'`);
    names.add(e.name);
    for (const k of ['html', 'json'])
      if (typeof e[k] !== 'string' || e[k] === '') usageExit(`${where} (${e.name}): "${k}" must be a path`);
    if (!Array.isArray(e.charts) || !e.charts.every(c => typeof c === 'string' && c !== ''))
      usageExit(`${where} (${e.name}): "charts" must be an array of chart names`);
    const verdict = e.verdict ?? null;
    if (verdict !== null && (typeof verdict !== 'string' || verdict === ''))
      usageExit(`${where} (${e.name}): "verdict" must be a verdict name (e.g. "fits", "does-not-fit", "bit-exact") or null`);
    const minNumbers = e.min_numbers ?? 5;
    if (!Number.isInteger(minNumbers) || minNumbers < 0) usageExit(`${where} (${e.name}): "min_numbers" must be an integer >= 0`);
    const maxReady = e.max_ready_ms ?? null;
    if (maxReady !== null && (typeof maxReady !== 'number' || !(maxReady > 0)))
      usageExit(`${where} (${e.name}): "max_ready_ms" must be a positive number`);
    return {
      name: e.name, html: path.resolve(base, e.html), json: path.resolve(base, e.json),
      charts: e.charts, verdict, minNumbers, maxReady,
    };
  });
}

// ---- JSON paths and number formats ----------------------------------------

function resolvePath(root, p) {
  if (typeof p !== 'string' || p === '') return { ok: false, why: 'empty path' };
  let cur = root;
  for (const seg of p.split('.')) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(seg) || Number(seg) >= cur.length) return { ok: false, why: `no element '${seg}'` };
      cur = cur[Number(seg)];
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.prototype.hasOwnProperty.call(cur, seg)) return { ok: false, why: `no key '${seg}'` };
      cur = cur[seg];
    } else {
      return { ok: false, why: `'${seg}' goes into a ${cur === null ? 'null' : typeof cur}` };
    }
  }
  return { ok: true, value: cur };
}

const show = v => JSON.stringify(v);
const closeRel = (a, b) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
// Thin/no-break spaces and the Unicode minus as the page may print them.
const normText = s => s.replace(/[\u00a0\u2007\u2009\u202f]/g, ' ').replace(/\u2212/g, '-').replace(/\s+/g, ' ').trim();
const NUM = '([-+]?(?:\\d[\\d,]*)?(?:\\.\\d+)?)';

function parseShown(text, re) {
  const m = re.exec(text);
  if (!m || !/\d/.test(m[1])) return null;
  const digits = m[1].replace(/,/g, '');
  const dot = digits.indexOf('.');
  return { num: Number(digits), decimals: dot < 0 ? 0 : digits.length - dot - 1, integral: dot < 0 };
}

// Returns null when the shown text fits the JSON value, else why not.
function checkShown(format, text, value) {
  const t = normText(text);
  const needNumber = () => (typeof value === 'number' && Number.isFinite(value) ? null : `format ${format} needs a finite number in the JSON`);
  switch (format) {
    case 'bytes':
    case 'int': {
      const bad = needNumber(); if (bad) return bad;
      const p = parseShown(t, format === 'bytes' ? new RegExp(`^${NUM} ?B$`) : new RegExp(`^${NUM}$`));
      if (!p || !p.integral) return `cannot read an integer${format === 'bytes' ? ' number of bytes ("1,234 B")' : ''}`;
      return p.num === value ? null : 'not equal';
    }
    case 'ms': case 'pct': case 'float': case 'ratio': {
      const bad = needNumber(); if (bad) return bad;
      const re = { ms: new RegExp(`^${NUM} ?ms$`), pct: new RegExp(`^${NUM} ?%$`),
                   float: new RegExp(`^${NUM}$`), ratio: new RegExp(`^${NUM} ?[x\u00d7]$`) }[format];
      const p = parseShown(t, re);
      if (!p) return `cannot read a number in format ${format}`;
      let diff, tol;
      if (format === 'ms') { diff = Math.abs(p.num - value); tol = 0.005; }
      else if (format === 'pct') { diff = Math.abs(p.num / 100 - value); tol = 0.0005; }
      else { diff = Math.abs(p.num - value); tol = 0.5 * Math.pow(10, -p.decimals); }
      return diff <= tol + 1e-9 ? null : `off by ${diff} (allowed ${tol})`;
    }
    case 'text':
      if (value !== null && typeof value === 'object') return 'format text needs a scalar in the JSON';
      return text.trim() === String(value) ? null : 'not equal';
    case 'bool':
      if (typeof value !== 'boolean') return 'format bool needs true or false in the JSON';
      return t === (value ? 'yes' : 'no') ? null : `should be '${value ? 'yes' : 'no'}'`;
    default:
      return `unknown data-format '${format}' (known: ${FORMATS.join(', ')})`;
  }
}

function checkNumber(pageName, data, n) {
  const where = `${pageName}: [data-json="${n.path}"]`;
  const r = resolvePath(data, n.path);
  if (!r.ok) return `${where}: path not in the JSON file (${r.why})`;
  const value = r.value;
  if (value !== null && typeof value === 'object') return `${where}: JSON value is an ${Array.isArray(value) ? 'array' : 'object'}, not a scalar`;
  if (n.value === null) return `${where}: no data-value attribute`;
  let raw;
  try { raw = JSON.parse(n.value); } catch { return `${where}: data-value ${show(n.value)} is not JSON`; }
  const rawOk = typeof raw === 'number' && typeof value === 'number' ? closeRel(raw, value) : raw === value;
  if (!rawOk) return `${where}: data-value ${n.value} but JSON has ${show(value)}`;
  if (n.format === null) return `${where}: no data-format attribute`;
  const why = checkShown(n.format, n.text, value);
  return why ? `${where}: shows ${show(n.text)} but JSON has ${show(value)} (format ${n.format}: ${why})` : null;
}

// ---- in the page -------------------------------------------------------------

// Runs inside the page: everything the checks need, as plain data.
function inspectInPage() {
  const out = { hasEcharts: !!(window.echarts && window.echarts.getInstanceByDom), report: null, charts: [], numbers: [], verdicts: [] };
  const r = window.mcupruneReport;
  if (r) out.report = { ready: r.ready, readyMs: typeof r.readyMs === 'number' ? r.readyMs : null,
                        charts: Array.isArray(r.charts) ? r.charts.map(String) : null };
  for (const el of document.querySelectorAll('[data-chart]')) {
    const c = { name: el.getAttribute('data-chart'), instance: false, series: 0, seriesWithData: 0, canvases: [], ink: 0, error: null };
    try {
      const inst = out.hasEcharts ? window.echarts.getInstanceByDom(el) : null;
      if (inst) {
        c.instance = true;
        const opt = inst.getOption() || {};
        const series = Array.isArray(opt.series) ? opt.series : opt.series ? [opt.series] : [];
        c.series = series.length;
        c.seriesWithData = series.filter(s => s && ((Array.isArray(s.data) && s.data.length > 0) ||
                                                    (Array.isArray(s.nodes) && s.nodes.length > 0))).length;
      }
      for (const cv of el.querySelectorAll('canvas')) {
        const info = { width: cv.width, height: cv.height, ink: 0 };
        if (cv.width > 0 && cv.height > 0) {
          const off = document.createElement('canvas');
          off.width = cv.width; off.height = cv.height;
          const ctx = off.getContext('2d', { willReadFrequently: true });
          ctx.drawImage(cv, 0, 0);
          const d = ctx.getImageData(0, 0, cv.width, cv.height).data;
          const px = new Uint32Array(d.buffer, d.byteOffset, d.length / 4);
          const counts = new Map();
          let most = 0;
          for (let i = 0; i < px.length; i++) {
            const n = (counts.get(px[i]) || 0) + 1;
            counts.set(px[i], n);
            if (n > most) most = n;
          }
          info.ink = px.length - most;  // pixels not of the background colour
        }
        c.canvases.push(info);
        c.ink += info.ink;
      }
    } catch (e) { c.error = String((e && e.message) || e); }
    out.charts.push(c);
  }
  // A [data-verdict] element's data-json is checked by the verdict rule only.
  for (const el of document.querySelectorAll('[data-json]:not([data-verdict])'))
    out.numbers.push({ path: el.getAttribute('data-json'), value: el.getAttribute('data-value'),
                       format: el.getAttribute('data-format'), text: el.textContent.trim() });
  for (const el of document.querySelectorAll('[data-verdict]'))
    out.verdicts.push({ verdict: el.getAttribute('data-verdict'),
                        path: el.getAttribute('data-json') ?? el.getAttribute('data-verdict-json'), text: el.textContent.trim() });
  return out;
}

// ---- one page ------------------------------------------------------------------

async function checkPage(browser, entry, outDir, readyTimeoutMs) {
  const res = { name: entry.name, ok: false, html: entry.html, ready_ms: null, wall_ms: null, charts: 0, numbers: 0,
                requests: [], failed_requests: 0, errors: [], console_warnings: [] };
  const fail = msg => res.errors.push(`${entry.name}: ${msg}`);

  let data = null;
  try { data = JSON.parse(fs.readFileSync(entry.json, 'utf8')); }
  catch (e) { fail(`cannot read JSON ${entry.json}: ${e.message}`); }
  if (!fs.existsSync(entry.html)) { fail(`no such page ${entry.html}`); return res; }

  const own = pathToFileURL(entry.html);
  const isOwn = u => {
    try {
      const x = new URL(u);
      return x.protocol === 'file:' && decodeURIComponent(x.pathname) === decodeURIComponent(own.pathname);
    } catch { return false; }
  };

  const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    page.on('console', m => {
      if (m.type() === 'error') fail(`console error: ${m.text()}`);
      else if (m.type() === 'warning') res.console_warnings.push(m.text());
    });
    page.on('pageerror', e => fail(`page error: ${e.message}`));
    page.on('request', rq => {
      res.requests.push(rq.url());
      if (!isOwn(rq.url())) fail(`request to something other than the page itself: ${rq.url()}`);
    });
    page.on('requestfailed', rq => {
      res.failed_requests++;
      const f = rq.failure();
      if (isOwn(rq.url())) fail(`loading the page failed: ${f ? f.errorText : '?'}`);
    });

    const t0 = performance.now();
    let ready = false;
    try {
      await page.goto(own.href, { waitUntil: 'load', timeout: readyTimeoutMs });
      const left = Math.max(1, Math.round(readyTimeoutMs - (performance.now() - t0)));
      await page.waitForFunction(
        () => !!window.mcupruneReport && (window.mcupruneReport.ready === true || !!window.mcupruneReport.error),
        null, { timeout: left });
      res.wall_ms = Math.round((performance.now() - t0) * 10) / 10;
      const err = await page.evaluate(() => window.mcupruneReport.error);
      if (err) fail(`window.mcupruneReport.error: ${typeof err === 'string' ? err : JSON.stringify(err)}`);
      else ready = true;
    } catch (e) {
      const state = await page.evaluate(() => (window.mcupruneReport === undefined ? 'not set'
                                                : JSON.stringify(window.mcupruneReport))).catch(() => '?');
      fail(`not ready within ${readyTimeoutMs / 1000} s (window.mcupruneReport: ${state}): ${e.message.split('\n')[0]}`);
    }

    if (ready) {
      const info = await page.evaluate(inspectInPage);
      res.ready_ms = info.report && info.report.readyMs !== null ? Math.round(info.report.readyMs * 10) / 10 : null;
      if (res.ready_ms === null) fail('window.mcupruneReport.readyMs is not a number');
      else if (entry.maxReady !== null && info.report.readyMs > entry.maxReady)
        fail(`ready after ${res.ready_ms} ms, more than max_ready_ms ${entry.maxReady}`);

      // charts
      res.charts = info.charts.length;
      const seen = new Map();
      for (const c of info.charts) seen.set(c.name, (seen.get(c.name) || 0) + 1);
      for (const [n, k] of seen) if (k > 1) fail(`${k} elements with data-chart="${n}"`);
      for (const want of entry.charts) {
        if (!seen.has(want)) fail(`chart '${want}' missing: no [data-chart="${want}"] element`);
        if (info.report.charts && !info.report.charts.includes(want))
          fail(`chart '${want}' not listed in window.mcupruneReport.charts (${show(info.report.charts)})`);
      }
      if (info.charts.length && !info.hasEcharts) fail('window.echarts is missing');
      for (const c of info.charts) {
        const w = `chart '${c.name}'`;
        if (c.error) { fail(`${w}: ${c.error}`); continue; }
        if (info.hasEcharts && !c.instance) fail(`${w}: no ECharts instance on the element`);
        if (c.instance && c.seriesWithData === 0)
          fail(`${w}: none of its ${c.series} series has data`);
        if (!c.canvases.some(v => v.width > 0 && v.height > 0))
          fail(`${w}: no <canvas> with a size (${show(c.canvases.map(v => `${v.width}x${v.height}`))})`);
        else if (c.ink < MIN_INK_PIXELS)
          fail(`${w}: canvas is blank (${c.ink} pixels differ from the background, need ${MIN_INK_PIXELS})`);
      }

      // numbers
      res.numbers = info.numbers.length;
      if (info.numbers.length < entry.minNumbers)
        fail(`only ${info.numbers.length} [data-json] numbers, need at least ${entry.minNumbers}`);
      if (data !== null)
        for (const n of info.numbers) { const m = checkNumber(entry.name, data, n); if (m) res.errors.push(m); }

      // verdict: the one the manifest expects; and whatever the page says must agree with the
      // JSON value it names (fits / bit-exact: true; does-not-fit / differs: false).
      const TRUE = ['fits', 'bit-exact'], FALSE = ['does-not-fit', 'differs'];
      if (entry.verdict !== null && info.verdicts.length === 0) fail(`no [data-verdict] element (expected '${entry.verdict}')`);
      for (const v of info.verdicts) {
        if (entry.verdict !== null && v.verdict !== entry.verdict)
          fail(`data-verdict is '${v.verdict}', expected '${entry.verdict}' (shows ${show(v.text)})`);
        if (v.path !== null && data !== null) {
          const r = resolvePath(data, v.path);
          const want = TRUE.includes(v.verdict) ? true : FALSE.includes(v.verdict) ? false : undefined;
          if (!r.ok) fail(`verdict [data-json="${v.path}"]: path not in the JSON file (${r.why})`);
          else if (want === undefined) fail(`verdict '${v.verdict}' names JSON ${v.path} but is not a yes/no verdict`);
          else if (r.value !== want)
            fail(`verdict is '${v.verdict}' but JSON ${v.path} is ${show(r.value)}, expected ${want}`);
        }
      }
    }

    try { await page.screenshot({ path: path.join(outDir, `${entry.name}.png`), fullPage: true, timeout: 15000 }); }
    catch (e) { fail(`screenshot failed: ${e.message.split('\n')[0]}`); }
  } finally {
    await context.close().catch(() => {});
  }
  res.ok = res.errors.length === 0;
  return res;
}

// ---- main ------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pages = loadManifest(opts.manifest);

  const chromiumPath = opts.chromium || process.env.CHROMIUM || '/usr/bin/chromium';
  try { fs.accessSync(chromiumPath, fs.constants.X_OK); }
  catch { usageExit(`no Chromium at ${chromiumPath} (give --chromium PATH or set CHROMIUM; on Debian: apt-get install chromium)`); }

  if (!fs.existsSync(playwrightEntry))
    usageExit(`playwright-core is not installed: ${playwrightEntry} is missing (run: cd tools/report && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)`);
  const { chromium } = await import(pathToFileURL(playwrightEntry).href);

  const outDir = path.resolve(opts.out);
  try { fs.mkdirSync(outDir, { recursive: true }); } catch (e) { usageExit(`cannot create ${outDir}: ${e.message}`); }

  let browser;
  try {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
                                      args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND'] });
  } catch (e) {
    process.stderr.write(`check_pages: cannot start ${chromiumPath}: ${e.message}\n`);
    process.exit(2);
  }

  const results = [];
  try {
    for (const entry of pages) {
      let r;
      try { r = await checkPage(browser, entry, outDir, opts.readyTimeoutS * 1000); }
      catch (e) {
        r = { name: entry.name, ok: false, html: entry.html, ready_ms: null, wall_ms: null, charts: 0, numbers: 0,
              requests: [], failed_requests: 0, errors: [`${entry.name}: checker failed: ${e.stack || e}`], console_warnings: [] };
      }
      results.push(r);
      const t = `ready ${r.ready_ms ?? '-'} ms (page), ${r.wall_ms ?? '-'} ms (wall)`;
      process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'} ${r.name}: ${r.charts} charts, ${r.numbers} numbers, ` +
                           `${r.requests.length} requests, ${t}\n`);
    }
  } finally {
    await browser.close().catch(() => {});
  }
  fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');

  const failed = results.filter(r => !r.ok);
  if (failed.length) {
    process.stdout.write(`\n${failed.length} of ${results.length} pages failed:\n`);
    for (const r of failed) for (const m of r.errors) process.stdout.write(`  - ${m.replace(/\n/g, '\n    ')}\n`);
    process.exit(1);
  }
  process.stdout.write(`all ${results.length} pages passed (screenshots and results.json in ${outDir})\n`);
}

export { resolvePath, checkShown, checkNumber };

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main().catch(e => { process.stderr.write(`check_pages: ${e.stack || e}\n`); process.exit(2); });
