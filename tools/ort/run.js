#!/usr/bin/env node
// Runs an ONNX model with onnxruntime-node (CPU) for mcuprune's tests.
//   node run.js REQUEST.json RESPONSE.json
// REQUEST: {"model": path, "shape": [1, C, H, W], "inputs": [[float, ...], ...],
//           "optimize": true|false}   (inputs in NCHW order, one array per sample)
// RESPONSE: {"outputs": [{name: [values...]}, ...]} one object per sample, every model output.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [reqPath, respPath] = process.argv.slice(2);
  if (!reqPath || !respPath) throw new Error('usage: node run.js REQUEST.json RESPONSE.json');
  const req = JSON.parse(fs.readFileSync(reqPath, 'utf8'));
  const session = await ort.InferenceSession.create(req.model, {
    graphOptimizationLevel: req.optimize === false ? 'disabled' : 'all',
    intraOpNumThreads: 1,
  });
  const inputName = session.inputNames[0];
  const outputs = [];
  for (const x of req.inputs) {
    const feeds = {[inputName]: new ort.Tensor('float32', Float32Array.from(x), req.shape)};
    const result = await session.run(feeds);
    const o = {};
    for (const name of session.outputNames) o[name] = Array.from(result[name].data, Number);
    outputs.push(o);
  }
  const tmp = respPath + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify({outputs}));
  fs.renameSync(tmp, respPath);
}

main().catch((e) => {
  console.error('run.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
