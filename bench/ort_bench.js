#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU) on a model with one float32 .npy input.
//
// Usage: node ort_bench.js MODEL.onnx INPUT.npy THREADS ITERS WARMUP ORT_MODULE_DIR [PROFILE_PREFIX]
// Prints one JSON line: {"min_ms", "median_ms", "p90_ms", "load_ms", "peak_rss_bytes"}; with
// PROFILE_PREFIX, ONNX Runtime's per-node profile of all the runs is written to a JSON file
// with that prefix, named in the line's "profile_file" (bench/compare_layers.py reads it).
'use strict';
const fs = require('fs');
const path = require('path');

const [model, input, threads, iters, warmup, moduleDir, profilePrefix] = process.argv.slice(2);
const ort = require(path.join(path.resolve(moduleDir), 'onnxruntime-node'));

function readNpy(file) {  // little-endian float32, C order, .npy version 1-3
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: only <f4 is supported`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim()).filter(s => s).map(Number);
  const bytes = buf.subarray(start + headerLen);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return new ort.Tensor('float32', data, shape);
}

function percentile(v, p) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
}

async function main() {
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], intraOpNumThreads: Number(threads), interOpNumThreads: 1,
    graphOptimizationLevel: 'all', enableProfiling: Boolean(profilePrefix), profileFilePrefix: profilePrefix});
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {[session.inputNames[0]]: readNpy(input)};
  for (let i = 0; i < Number(warmup); i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < Number(iters); i++) {
    const t = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const result = {min_ms: percentile(times, 0), median_ms: percentile(times, 0.5), p90_ms: percentile(times, 0.9), load_ms: loadMs,
                  peak_rss_bytes: process.resourceUsage().maxRSS * 1024};
  if (profilePrefix) {  // ONNX Runtime appends a timestamp to the prefix: name the newest such file
    session.endProfiling();
    const dir = path.dirname(profilePrefix), base = path.basename(profilePrefix);
    const files = fs.readdirSync(dir).filter(f => f.startsWith(base) && f.endsWith('.json')).map(f => path.join(dir, f));
    files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
    result.profile_file = files[0];
  }
  console.log(JSON.stringify(result));
}
main().catch(e => { console.error(e.message); process.exit(1); });
