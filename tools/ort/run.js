#!/usr/bin/env node
// run.js - run an ONNX model in ONNX Runtime (onnxruntime-node) on inputs
// stored as ONNX TensorProto .pb files and write the outputs the same way.
//
//   node tools/ort/run.js MODEL.onnx OUTDIR [--threads N] IN.pb...
//
// Each IN.pb is bound to the model input named by its TensorProto `name`; a
// file with an empty name is bound to session.inputNames[k], where k is its
// position among the IN.pb arguments. The outputs are written, in
// session.outputNames order, to OUTDIR/output_<i>.pb as TensorProtos with
// name, dims, data_type and little-endian raw_data (the layout that
// onnx.numpy_helper.from_array produces). OUTDIR is created if missing.
// --threads sets intraOpNumThreads (default 1). Any error is reported on
// stderr and the process exits with code 1.
//
// The TensorProto codec below is a small hand-written protobuf wire-format
// reader/writer, so the only dependency is onnxruntime-node itself.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const USAGE = 'usage: node run.js MODEL.onnx OUTDIR [--threads N] IN.pb...';

// ---------------------------------------------------------------------------
// Element types
// ---------------------------------------------------------------------------

// TensorProto.DataType codes supported here. For each: the onnxruntime-node
// tensor type, the typed array that holds its elements, and the repeated
// TensorProto field that carries the values when raw_data is absent
// (4 float_data, 5 int32_data, 7 int64_data, 10 double_data, 11 uint64_data).
const DATA_TYPES = {
  1: { name: 'FLOAT', ort: 'float32', Array: Float32Array, field: 4 },
  2: { name: 'UINT8', ort: 'uint8', Array: Uint8Array, field: 5 },
  3: { name: 'INT8', ort: 'int8', Array: Int8Array, field: 5 },
  4: { name: 'UINT16', ort: 'uint16', Array: Uint16Array, field: 5 },
  5: { name: 'INT16', ort: 'int16', Array: Int16Array, field: 5 },
  6: { name: 'INT32', ort: 'int32', Array: Int32Array, field: 5 },
  7: { name: 'INT64', ort: 'int64', Array: BigInt64Array, field: 7 },
  9: { name: 'BOOL', ort: 'bool', Array: Uint8Array, field: 5 },
  11: { name: 'DOUBLE', ort: 'float64', Array: Float64Array, field: 10 },
  12: { name: 'UINT32', ort: 'uint32', Array: Uint32Array, field: 11 },
  13: { name: 'UINT64', ort: 'uint64', Array: BigUint64Array, field: 11 },
};

// onnxruntime-node type name -> TensorProto.DataType code.
const DATA_TYPE_BY_ORT = Object.fromEntries(
  Object.entries(DATA_TYPES).map(([code, dt]) => [dt.ort, Number(code)]));

// Protobuf wire types.
const WT_VARINT = 0;
const WT_FIXED64 = 1;
const WT_LEN = 2;
const WT_FIXED32 = 5;

// ---------------------------------------------------------------------------
// Protobuf wire-format reader
// ---------------------------------------------------------------------------

class Reader {
  /** @param {Buffer} buf */
  constructor(buf) {
    this.buf = buf;
    this.pos = 0;
  }

  eof() {
    return this.pos >= this.buf.length;
  }

  /** Reads a base-128 varint as an unsigned 64-bit BigInt. */
  varint() {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, value);
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** Reads n bytes; returns a view into the underlying buffer. */
  bytes(n) {
    if (n < 0 || this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Reads a length-delimited payload (wire type 2). */
  lengthDelimited() {
    return this.bytes(Number(this.varint()));
  }

  float() {
    return this.bytes(4).readFloatLE(0);
  }

  double() {
    return this.bytes(8).readDoubleLE(0);
  }

  /** Skips a field of the given wire type. */
  skip(wireType) {
    switch (wireType) {
      case WT_VARINT: this.varint(); break;
      case WT_FIXED64: this.bytes(8); break;
      case WT_LEN: this.lengthDelimited(); break;
      case WT_FIXED32: this.bytes(4); break;
      default: throw new Error(`unsupported wire type ${wireType}`);
    }
  }

  /**
   * Reads one occurrence of a repeated scalar field, accepting both the
   * packed encoding (one length-delimited run) and the unpacked one (one
   * element per tag); appends the decoded element(s) to `out`.
   */
  repeated(wireType, elemWireType, readElem, out) {
    if (wireType === WT_LEN) {
      const packed = new Reader(this.lengthDelimited());
      while (!packed.eof()) out.push(readElem(packed));
    } else if (wireType === elemWireType) {
      out.push(readElem(this));
    } else {
      throw new Error(`unexpected wire type ${wireType} for a repeated field`);
    }
  }
}

/** Fails unless a singular field arrived with the expected wire type. */
function expectWireType(field, got, want) {
  if (got !== want) throw new Error(`field ${field}: wire type ${got}, want ${want}`);
}

/**
 * Decodes a serialized onnx.TensorProto. Returns
 * { name, dims: number[], dataType, raw: Buffer|null, values: {field: []} }
 * where `values` holds the typed repeated-field contents by field number.
 */
function decodeTensorProto(buf) {
  const t = { name: '', dims: [], dataType: 0, raw: null, values: { 4: [], 5: [], 7: [], 10: [], 11: [] } };
  const r = new Reader(buf);
  const int32 = (rd) => Number(BigInt.asIntN(32, rd.varint()));
  const int64 = (rd) => BigInt.asIntN(64, rd.varint());
  const uint64 = (rd) => rd.varint();
  while (!r.eof()) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wireType = key & 7;
    switch (field) {
      case 1: // dims: repeated int64
        r.repeated(wireType, WT_VARINT, (rd) => Number(int64(rd)), t.dims);
        break;
      case 2: // data_type: int32
        expectWireType(field, wireType, WT_VARINT);
        t.dataType = int32(r);
        break;
      case 4: r.repeated(wireType, WT_FIXED32, (rd) => rd.float(), t.values[4]); break; // float_data
      case 5: r.repeated(wireType, WT_VARINT, int32, t.values[5]); break; // int32_data
      case 7: r.repeated(wireType, WT_VARINT, int64, t.values[7]); break; // int64_data
      case 10: r.repeated(wireType, WT_FIXED64, (rd) => rd.double(), t.values[10]); break; // double_data
      case 11: r.repeated(wireType, WT_VARINT, uint64, t.values[11]); break; // uint64_data
      case 8: // name: string
        expectWireType(field, wireType, WT_LEN);
        t.name = r.lengthDelimited().toString('utf8');
        break;
      case 9: // raw_data: bytes
        expectWireType(field, wireType, WT_LEN);
        t.raw = r.lengthDelimited();
        break;
      case 14: // data_location: enum, 1 = EXTERNAL
        expectWireType(field, wireType, WT_VARINT);
        if (int32(r) === 1) throw new Error('tensors with external data are not supported');
        break;
      default: // segment, string_data, doc_string, external_data, ...: ignored
        r.skip(wireType);
    }
  }
  return t;
}

/** Converts a decoded TensorProto into an onnxruntime-node Tensor. */
function toOrtTensor(ort, t, label) {
  const dt = DATA_TYPES[t.dataType];
  if (!dt) throw new Error(`${label}: unsupported data_type ${t.dataType}`);
  if (t.dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new Error(`${label}: invalid dims [${t.dims}]`);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  let data;
  if (t.raw !== null) {
    const want = count * dt.Array.BYTES_PER_ELEMENT;
    if (t.raw.length !== want) {
      throw new Error(`${label}: raw_data has ${t.raw.length} bytes, want ${want}`);
    }
    // Copy into a fresh (hence aligned) buffer; raw_data is little-endian,
    // which main() checks is also the host byte order.
    data = new dt.Array(count);
    new Uint8Array(data.buffer).set(t.raw);
  } else {
    const values = t.values[dt.field];
    if (values.length !== count) {
      throw new Error(`${label}: ${values.length} values for dims [${t.dims}] (${count} elements)`);
    }
    const isBig = dt.Array === BigInt64Array || dt.Array === BigUint64Array;
    data = dt.Array.from(values, isBig ? BigInt : Number);
  }
  return new ort.Tensor(dt.ort, data, t.dims);
}

// ---------------------------------------------------------------------------
// Protobuf wire-format writer
// ---------------------------------------------------------------------------

class Writer {
  constructor() {
    this.chunks = [];
  }

  /** Writes a varint; negative values are written as 64-bit two's complement. */
  varint(v) {
    let u = BigInt.asUintN(64, BigInt(v));
    const bytes = [];
    do {
      let b = Number(u & 0x7fn);
      u >>= 7n;
      if (u !== 0n) b |= 0x80;
      bytes.push(b);
    } while (u !== 0n);
    this.chunks.push(Buffer.from(bytes));
  }

  tag(field, wireType) {
    this.varint((field << 3) | wireType);
  }

  lengthDelimited(field, buf) {
    this.tag(field, WT_LEN);
    this.varint(buf.length);
    this.chunks.push(buf);
  }

  finish() {
    return Buffer.concat(this.chunks);
  }
}

/**
 * Encodes a TensorProto with dims, data_type, name and raw_data, in field
 * order and with unpacked dims, which is byte-for-byte what the official
 * protobuf runtime emits for onnx.proto (proto2) in numpy_helper.from_array.
 */
function encodeTensorProto(name, dims, dataType, raw) {
  const w = new Writer();
  for (const d of dims) {
    w.tag(1, WT_VARINT);
    w.varint(d);
  }
  w.tag(2, WT_VARINT);
  w.varint(dataType);
  if (name) w.lengthDelimited(8, Buffer.from(name, 'utf8'));
  w.lengthDelimited(9, raw);
  return w.finish();
}

/** Serializes an onnxruntime-node output Tensor as a TensorProto. */
function fromOrtTensor(name, tensor) {
  const dataType = DATA_TYPE_BY_ORT[tensor.type];
  if (dataType === undefined) throw new Error(`output ${name}: unsupported type ${tensor.type}`);
  const data = tensor.data;
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return encodeTensorProto(name, tensor.dims, dataType, raw);
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

class UsageError extends Error {}

/** Parses argv into { model, outDir, threads, inputs }. */
function parseArgs(argv) {
  const positional = [];
  let threads = 1;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let value;
    if (arg === '--threads') {
      value = argv[++i];
    } else if (arg.startsWith('--threads=')) {
      value = arg.slice('--threads='.length);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
      continue;
    }
    if (value === undefined || !/^[1-9][0-9]*$/.test(value)) {
      throw new UsageError('--threads needs a positive integer');
    }
    threads = Number(value);
  }
  if (positional.length < 2) throw new UsageError('MODEL.onnx and OUTDIR are required');
  const [model, outDir, ...inputs] = positional;
  return { model, outDir, threads, inputs };
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (err) {
    throw new Error(`cannot load onnxruntime-node (run "npm ci --ignore-scripts" in ${__dirname}): ${err.message}`);
  }
}

async function main(argv) {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const args = parseArgs(argv);
  if (os.endianness() !== 'LE') throw new Error('a little-endian host is required');
  const ort = loadOrt();

  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    executionMode: 'sequential',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    // Errors only: ORT's warnings (e.g. about unused initializers in old
    // model-zoo graphs) are noise for a reference runner; failures still
    // surface as exceptions.
    logSeverityLevel: 3,
  });
  try {
    // Bind each input file by its TensorProto name, else by position.
    const feeds = {};
    args.inputs.forEach((file, k) => {
      let t;
      try {
        t = decodeTensorProto(fs.readFileSync(file));
      } catch (err) {
        throw new Error(`${file}: ${err.message}`);
      }
      const name = t.name || session.inputNames[k];
      if (name === undefined) {
        throw new Error(`${file}: unnamed input #${k}, but the model has only ${session.inputNames.length} input(s)`);
      }
      if (!session.inputNames.includes(name)) {
        throw new Error(`${file}: model has no input "${name}" (inputs: ${session.inputNames.join(', ')})`);
      }
      if (name in feeds) throw new Error(`${file}: input "${name}" given twice`);
      feeds[name] = toOrtTensor(ort, t, file);
    });
    const missing = session.inputNames.filter((n) => !(n in feeds));
    if (missing.length > 0) throw new Error(`missing model input(s): ${missing.join(', ')}`);

    const results = await session.run(feeds);

    fs.mkdirSync(args.outDir, { recursive: true });
    session.outputNames.forEach((name, i) => {
      const file = path.join(args.outDir, `output_${i}.pb`);
      fs.writeFileSync(file, fromOrtTensor(name, results[name]));
    });
  } finally {
    await session.release();
  }
}

module.exports = { decodeTensorProto, encodeTensorProto, parseArgs };

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`run.js: ${err.message}`);
    if (err instanceof UsageError) console.error(USAGE);
    process.exit(1);
  });
}
