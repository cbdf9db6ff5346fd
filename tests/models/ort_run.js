#!/usr/bin/env node
// Run an ONNX model with ONNX Runtime (onnxruntime-node, CPU) on one float32 .npy input.
//
// Usage: node ort_run.js MODEL.onnx INPUT.npy OUTDIR [ORT_MODULE_DIR]
// ORT_MODULE_DIR is a node_modules folder holding onnxruntime-node (else NODE_PATH is used).
// Writes OUTDIR/ort_output_<i>.bin (raw float32, little-endian) and OUTDIR/ort_outputs.json
// ({"outputs": [{"name", "shape"}, ...]}).
'use strict';
const fs = require('fs');
const path = require('path');

const [model, input, outdir, moduleDir] = process.argv.slice(2);
if (!outdir) {
  console.error('usage: node ort_run.js MODEL.onnx INPUT.npy OUTDIR [ORT_MODULE_DIR]');
  process.exit(1);
}
const ort = require(moduleDir ? path.join(path.resolve(moduleDir), 'onnxruntime-node')
                              : 'onnxruntime-node');

// Minimal .npy reader: version 1/2/3, little-endian float32, C order.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12);
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']*)'/.exec(header)[1];
  if (descr !== '<f4') throw new Error(`${file}: dtype ${descr}, only <f4 is supported`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
      .split(',').map(s => s.trim()).filter(s => s).map(Number);
  const bytes = buf.subarray(start + headerLen);
  const data = new Float32Array(bytes.length / 4);
  for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(i * 4);
  return new ort.Tensor('float32', data, shape);
}

async function main() {
  const session = await ort.InferenceSession.create(model, {executionProviders: ['cpu']});
  const feeds = {[session.inputNames[0]]: readNpy(input)};
  const results = await session.run(feeds);
  fs.mkdirSync(outdir, {recursive: true});
  const meta = {outputs: []};
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    if (t.type !== 'float32') throw new Error(`output ${name}: type ${t.type}, expected float32`);
    const out = Buffer.alloc(t.data.length * 4);
    t.data.forEach((v, j) => out.writeFloatLE(v, j * 4));
    fs.writeFileSync(path.join(outdir, `ort_output_${i}.bin`), out);
    meta.outputs.push({name, shape: Array.from(t.dims)});
  });
  fs.writeFileSync(path.join(outdir, 'ort_outputs.json'), JSON.stringify(meta) + '\n');
}

main().catch(e => { console.error(`ort_run.js: ${e.message || e}`); process.exit(1); });
