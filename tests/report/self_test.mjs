#!/usr/bin/env node
// Self-test of check_pages.mjs: writes the fixture pages (make_fixture.mjs),
// checks them all in one browser run and verifies that exactly the good page
// passes and every bad one fails with the expected message.
//
//   node tests/report/self_test.mjs WORKDIR [--chromium PATH]
//
// Exit status 0 when check_pages.mjs behaves, 1 when not, 2 on bad arguments.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const scriptDir = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const usage = () => { process.stderr.write('usage: node self_test.mjs WORKDIR [--chromium PATH]\n'); process.exit(2); };
let work = null;
const extra = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--chromium') { if (i + 1 >= args.length) usage(); extra.push('--chromium', args[++i]); }
  else if (!args[i].startsWith('-') && work === null) work = path.resolve(args[i]);
  else usage();
}
if (!work) usage();

const node = (script, argv) => spawnSync(process.execPath, [path.join(scriptDir, script), ...argv], { encoding: 'utf8' });
const pages = path.join(work, 'pages'), out = path.join(work, 'out');
fs.rmSync(work, { recursive: true, force: true });

let r = node('make_fixture.mjs', [pages]);
process.stdout.write(r.stdout); process.stderr.write(r.stderr);
if (r.status !== 0) { process.stdout.write('self_test: make_fixture.mjs failed\n'); process.exit(1); }

// Two runs: the not-ready page with --ready-timeout 3 (else it costs 20 s),
// the rest with the default timeout (a loaded machine can take seconds).
const problems = [];
const all = JSON.parse(fs.readFileSync(path.join(pages, 'manifest-all.json'), 'utf8'));
const runs = [['rest', all.filter(e => e.name !== 'not-ready'), []],
              ['not-ready', all.filter(e => e.name === 'not-ready'), ['--ready-timeout', '3']]];
let results = [];
for (const [tag, list, opts] of runs) {
  const manifest = path.join(pages, `selftest-${tag}.json`);  // paths are relative to it
  fs.writeFileSync(manifest, JSON.stringify(list, null, 2) + '\n');
  const outDir = path.join(out, tag);
  r = node('check_pages.mjs', ['--manifest', manifest, '--out', outDir, ...opts, ...extra]);
  process.stdout.write(r.stdout); process.stderr.write(r.stderr);
  if (r.status !== 1) problems.push(`check_pages.mjs exited ${r.status} on ${manifest}, expected 1`);
  try { results = results.concat(JSON.parse(fs.readFileSync(path.join(outDir, 'results.json'), 'utf8'))); }
  catch (e) { problems.push(`no results.json after ${manifest}: ${e.message}`); }
}
const expected = JSON.parse(fs.readFileSync(path.join(pages, 'expected.json'), 'utf8'));
for (const [name, want] of Object.entries(expected)) {
  const got = results.find(x => x.name === name);
  if (!got) { problems.push(`${name}: not in results.json`); continue; }
  if (got.ok !== want.pass) problems.push(`${name}: ${got.ok ? 'passed' : 'failed'}, expected it to ${want.pass ? 'pass' : 'fail'}`);
  if (want.match && !got.errors.some(m => m.includes(want.match)))
    problems.push(`${name}: no error containing ${JSON.stringify(want.match)} (got ${JSON.stringify(got.errors)})`);
  if (!runs.some(([tag]) => fs.existsSync(path.join(out, tag, `${name}.png`)))) problems.push(`${name}: no screenshot`);
}

// The good page alone must give exit status 0.
r = node('check_pages.mjs', ['--manifest', path.join(pages, 'manifest-good.json'), '--out', path.join(work, 'out-good'), ...extra]);
if (r.status !== 0) problems.push(`check_pages.mjs exited ${r.status} on manifest-good.json:\n${r.stdout}${r.stderr}`);

// Bad arguments: exit status 2.
r = node('check_pages.mjs', ['--manifest']);
if (r.status !== 2) problems.push(`check_pages.mjs --manifest (no value) exited ${r.status}, expected 2`);

if (problems.length) {
  process.stdout.write(`\nself_test: FAILED\n${problems.map(p => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`\nself_test: OK (${Object.keys(expected).length} pages behave as expected)\n`);
