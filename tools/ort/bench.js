#!/usr/bin/env node
// bench.js - a long-lived ONNX Runtime (onnxruntime-node) timing server for
// cnnc's side-by-side benchmark (go run ./bench). It reads one request per
// line on stdin and writes one reply per line on stdout:
//
//   (on start)                                     -> "ready ORT_VERSION"
//   load<TAB>MODEL<TAB>INPUT<TAB>DIMS<TAB>THREADS[<TAB>SPIN]
//                                                  -> "ok LOAD_MS"
//   run                                            -> "ok ELAPSED_MS"
//   quit                                           -> (exits 0)
//
// Any failure replies "err MESSAGE" (one line) and the server goes on.
//
// load creates one InferenceSession for MODEL (replacing the previous one)
// with intraOpNumThreads = THREADS, interOpNumThreads = 1, sequential
// execution and graphOptimizationLevel 'all'; SPIN is 1 to let ORT's
// intra-op threads spin-wait after a run (its default) and 0 (the default
// here) to make them sleep, so that they do not steal cores from cnnc runs
// that alternate with ORT's. INPUT is a file of raw little-endian float32
// values fed to the model's first input with dims DIMS (comma-separated,
// e.g. 8,3,224,224). run times one session.run with process.hrtime.bigint
// around it, inside this process, so that the pipe does not count.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const readline = require('node:readline');

let ort;
let session = null;
let feeds = null;

/** Parses a load request's fields (without the verb). */
function parseLoad(fields) {
  if (fields.length < 4 || fields.length > 5) {
    throw new Error(`load wants MODEL, INPUT, DIMS, THREADS[, SPIN]; got ${fields.length} fields`);
  }
  const [model, input, dimsText, threadsText, spinText = '0'] = fields;
  if (!/^[0-9]+(,[0-9]+)*$/.test(dimsText)) throw new Error(`bad dims ${JSON.stringify(dimsText)}`);
  const dims = dimsText.split(',').map(Number);
  if (!/^[1-9][0-9]*$/.test(threadsText)) throw new Error(`bad thread count ${JSON.stringify(threadsText)}`);
  if (spinText !== '0' && spinText !== '1') throw new Error(`bad spin flag ${JSON.stringify(spinText)}`);
  return { model, input, dims, threads: Number(threadsText), spin: spinText === '1' };
}

async function load(req) {
  if (session !== null) {
    await session.release();
    session = null;
    feeds = null;
  }
  const count = req.dims.reduce((a, b) => a * b, 1);
  const raw = fs.readFileSync(req.input);
  if (raw.length !== 4 * count) {
    throw new Error(`${req.input}: ${raw.length} bytes, want ${4 * count} for dims [${req.dims}]`);
  }
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(raw);
  const t0 = process.hrtime.bigint();
  const s = await ort.InferenceSession.create(req.model, {
    executionProviders: ['cpu'],
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    intraOpNumThreads: req.threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: req.spin ? '1' : '0' } } },
  });
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  session = s;
  feeds = { [s.inputNames[0]]: new ort.Tensor('float32', data, req.dims) };
  return loadMs;
}

async function run() {
  if (session === null) throw new Error('run before load');
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Handles one request line; returns the reply line, or null to quit. */
async function handle(line) {
  const fields = line.split('\t');
  switch (fields[0]) {
    case 'load':
      return `ok ${(await load(parseLoad(fields.slice(1)))).toFixed(3)}`;
    case 'run':
      return `ok ${(await run()).toFixed(6)}`;
    case 'quit':
      return null;
    default:
      throw new Error(`unknown request ${JSON.stringify(fields[0])}`);
  }
}

async function main() {
  if (os.endianness() !== 'LE') throw new Error('a little-endian host is required');
  try {
    ort = require('onnxruntime-node');
  } catch (err) {
    throw new Error(`cannot load onnxruntime-node (run "npm ci --ignore-scripts" in ${__dirname}): ${err.message}`);
  }
  const out = (s) => process.stdout.write(`${s}\n`);
  out(`ready ${ort.env.versions.node || ort.env.versions.common}`);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    let reply;
    try {
      reply = await handle(line.replace(/\r$/, ''));
    } catch (err) {
      reply = `err ${String(err.message).replace(/[\r\n]+/g, ' ')}`;
    }
    if (reply === null) break;
    out(reply);
  }
  if (session !== null) await session.release();
}

module.exports = { parseLoad };

if (require.main === module) {
  main().then(() => process.exit(0), (err) => {
    console.error(`bench.js: ${err.message}`);
    process.exit(1);
  });
}
