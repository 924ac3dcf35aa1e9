#!/usr/bin/env node
// Writes test pages for check_pages.mjs into OUTDIR:
//
//   node tests/report/make_fixture.mjs OUTDIR
//
// From fixtures/sample.html (template) and fixtures/sample.json it writes
// sample.json, VARIANT.html and manifest-VARIANT.json for each variant below,
// manifest-all.json (all variants) and expected.json ({variant: {pass, match}}:
// whether check_pages.mjs must pass the page and, if not, a piece of the
// failure message). ECharts comes inline from tools/report/node_modules, so
// the pages are ~1 MB each and are not committed.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const echartsFile = path.resolve(scriptDir, '../../tools/report/node_modules/echarts/dist/echarts.min.js');

function die(msg, code = 2) { process.stderr.write(`make_fixture: ${msg}\n`); process.exit(code); }

// Replace exactly one occurrence (no '$' patterns), or fail loudly.
function replaceOnce(s, from, to) {
  const i = s.indexOf(from);
  if (i < 0 || s.indexOf(from, i + from.length) >= 0) die(`template: expected exactly one '${from}'`, 1);
  return s.slice(0, i) + to + s.slice(i + from.length);
}
const extra = (s, html) => replaceOnce(s, '<!--@EXTRA@-->', html);

// name -> {edit(html, data) -> [html, data], pass, match, manifest (fields to override)}
const VARIANTS = {
  good: { pass: true, edit: (h, d) => [h, d] },
  'bad-number': { match: 'shows "37,243 B"',
    edit: (h, d) => [replaceOnce(h, '>37,234 B<', '>37,243 B<'), d] },
  'bad-value': { match: 'data-value 0.97 but JSON has 0.979',
    edit: (h, d) => [replaceOnce(h, 'data-value="0.979"', 'data-value="0.97"'), d] },
  'bad-verdict': { match: "data-verdict is 'does-not-fit'",
    edit: (h, d) => [replaceOnce(h, 'data-verdict="fits"', 'data-verdict="does-not-fit"'), d] },
  external: { match: 'request to something other than the page itself: http://example.com/x.png',
    edit: (h, d) => [extra(h, '<img src="http://example.com/x.png" alt="">'), d] },
  console: { match: 'console error: fixture: deliberate console error',
    edit: (h, d) => [extra(h, "<script>console.error('fixture: deliberate console error');</script>"), d] },
  'page-error': { match: 'page error: fixture: deliberate uncaught error',
    edit: (h, d) => [extra(h, "<script>throw new Error('fixture: deliberate uncaught error');</script>"), d] },
  'no-chart': { match: "chart 'demo' missing",
    edit: (h, d) => [h.replace(/<!--@CHART-BEGIN@-->[\s\S]*?<!--@CHART-END@-->/, () => ''), d] },
  'empty-chart': { match: "chart 'demo': none of its 1 series has data",
    edit: (h, d) => [h, { ...d, sweep: [] }] },
  'blank-chart': { match: "chart 'demo': canvas is blank",
    edit: (h, d) => [replaceOnce(h, 'chart.setOption(options[name](data));',
      'var o = options[name](data); o.xAxis.show = false; o.yAxis.show = false;' +
      ' o.series[0].lineStyle = { opacity: 0 }; o.series[0].showSymbol = false; chart.setOption(o);'), d] },
  'report-error': { match: 'window.mcupruneReport.error: Error: fixture: chart setup failed',
    edit: (h, d) => [replaceOnce(h, 'var data = JSON.parse(',
      "throw new Error('fixture: chart setup failed'); var data = JSON.parse("), d] },
  slow: { match: 'more than max_ready_ms 1', manifest: { max_ready_ms: 1 }, edit: (h, d) => [h, d] },
  'not-ready': { match: 'not ready within',
    edit: (h, d) => [replaceOnce(h, 'if (--pending === 0) markReady();', '--pending;'), d] },
};

function main() {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0].startsWith('-')) die('usage: node make_fixture.mjs OUTDIR');
  const out = path.resolve(args[0]);
  if (!fs.existsSync(echartsFile))
    die(`${echartsFile} is missing (run: cd tools/report && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)`);
  const echarts = fs.readFileSync(echartsFile, 'utf8');
  if (/<\/script/i.test(echarts)) die('echarts.min.js contains </script; cannot inline it as is', 1);
  const template = fs.readFileSync(path.join(scriptDir, 'fixtures/sample.html'), 'utf8');
  const data = JSON.parse(fs.readFileSync(path.join(scriptDir, 'fixtures/sample.json'), 'utf8'));

  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'sample.json'), JSON.stringify(data, null, 2) + '\n');
  const base = replaceOnce(template, '<!--@ECHARTS@-->', `<script>${echarts}</script>`);
  const all = [], expected = {};
  for (const [name, v] of Object.entries(VARIANTS)) {
    const [html, pageData] = v.edit(base, data);
    // Inline JSON: '<' escaped so no '</script>' can end the element early.
    const page = replaceOnce(html, '<!--@DATA@-->', JSON.stringify(pageData).replace(/</g, '\\u003c'))
      .replace('<!--@EXTRA@-->', '');
    fs.writeFileSync(path.join(out, `${name}.html`), page);
    const entry = { name, html: `${name}.html`, json: 'sample.json', charts: ['demo'], verdict: 'fits',
                    min_numbers: 5, max_ready_ms: 10000, ...(v.manifest || {}) };
    fs.writeFileSync(path.join(out, `manifest-${name}.json`), JSON.stringify([entry], null, 2) + '\n');
    all.push(entry);
    expected[name] = { pass: !!v.pass, match: v.match || null };
  }
  fs.writeFileSync(path.join(out, 'manifest-all.json'), JSON.stringify(all, null, 2) + '\n');
  fs.writeFileSync(path.join(out, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  process.stdout.write(`wrote ${Object.keys(VARIANTS).length} pages and manifests to ${out}\n`);
}

main();
