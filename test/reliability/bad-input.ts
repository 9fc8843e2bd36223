/**
 * Bad input B1–B9 as property-based fuzzing over HTTP (fast-check), against a running local stack. The
 * example cases live in test/api/bad-input.test.ts; here random inputs meet oracles:
 *
 * - batches mutated at random (bit flips, truncation, trailing garbage, header fields rewritten with or
 *   without a fresh CRC): the server's answer must be the codec's own verdict (validateBatches), with
 *   its status and code, and a rejected batch must leave every high-water mark and the bucket unchanged;
 * - offsets as arbitrary strings and 64-bit integers, in the query and in the binary framing;
 * - topic names as arbitrary strings, in the path and as a new topic's name;
 * - JSON bodies of arbitrary shape and depth, with __proto__ and friends: never a 5xx, nothing written
 *   unless the answer is 200, Object.prototype untouched;
 * - framed bodies mutated at random: never a 5xx, nothing written unless accepted;
 * - arbitrary bytes (keys, values, header names and values) through the multi-partition framing: they
 *   come back exactly.
 */

import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import {
  decodeFetchResponse,
  decodeProduceResponse,
  encodeFetchRequest,
  encodeProduceRequest,
} from '../../shared/api/framing';
import { crc32c } from '../../shared/codec/crc32c';
import {
  decodeRecordBatches,
  encodeRecordBatch,
  type ProducerRecord,
  validateBatches,
} from '../../shared/codec/record-batch';
import { isSluiceError } from '../../shared/errors';
import type { DirectStorage } from './audit';
import type { Violation } from './checker';
import { FRAMED, type HttpClient } from './transport';

export interface FuzzResult {
  requests: number;
  readonly violations: Violation[];
}

export interface FuzzTarget {
  readonly http: HttpClient;
  readonly direct: DirectStorage;
  readonly seed: number;
  /** Runs per property. */
  readonly numRuns: number;
}

const RECORD_BATCH = { 'content-type': 'application/vnd.kafka.record-batch' };
const VALID_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** Recomputes the CRC after an edit of the bytes it covers, so only the edit is wrong. */
export function resign(batch: Buffer): Buffer {
  if (batch.length >= 61) batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17);
  return batch;
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

export const recordArb: fc.Arbitrary<ProducerRecord> = fc.record({
  key: fc.option(bytes(200), { nil: null }),
  value: fc.option(bytes(400), { nil: null }),
  headers: fc.array(
    fc.record({
      key: fc.string({ maxLength: 12, unit: 'grapheme' }),
      value: fc.option(bytes(50), { nil: null }),
    }),
    {
      maxLength: 3,
    },
  ),
  timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
});

export const compressionArb = fc.constantFrom('none' as const, 'gzip' as const, 'lz4' as const);

/** A batch mutation: what it does, as a function of the good batch. */
export const mutationArb: fc.Arbitrary<{ label: string; apply: (b: Buffer) => Buffer }> = fc.oneof(
  fc.nat().map((n) => ({
    label: `flip bit ${n}`,
    apply: (b: Buffer) => {
      const c = Buffer.from(b);
      const bit = n % (c.length * 8);
      c[bit >> 3]! ^= 1 << (bit & 7);
      return c;
    },
  })),
  fc.nat().map((n) => ({
    label: `truncate to ${n}`,
    apply: (b: Buffer) => Buffer.from(b.subarray(0, n % b.length)),
  })),
  bytes(80).map((g) => ({ label: `append ${g.length} bytes`, apply: (b: Buffer) => Buffer.concat([b, g]) })),
  fc
    .record({
      field: fc.constantFrom(
        { name: 'length', at: 8, size: 4 },
        { name: 'magic', at: 16, size: 1 },
        { name: 'attributes', at: 21, size: 2 },
        { name: 'lastOffsetDelta', at: 23, size: 4 },
        { name: 'producerId', at: 43, size: 8 },
        { name: 'producerEpoch', at: 51, size: 2 },
        { name: 'baseSequence', at: 53, size: 4 },
        { name: 'recordCount', at: 57, size: 4 },
      ),
      value: fc.oneof(
        fc.integer({ min: -3, max: 8 }),
        fc.integer(),
        fc.constantFrom(0x7fffffff, -1, 0x10, 0x20, 0x100),
      ),
      sign: fc.boolean(),
    })
    .map(({ field, value, sign }) => ({
      label: `${field.name} = ${value}${sign ? ' (re-signed)' : ''}`,
      apply: (b: Buffer) => {
        const c = Buffer.from(b);
        if (field.size === 1) c[field.at] = value & 0xff;
        else if (field.size === 2) c.writeUInt16BE(value & 0xffff, field.at);
        else if (field.size === 4) c.writeInt32BE(value | 0, field.at);
        else c.writeBigInt64BE(BigInt(value), field.at);
        return sign ? resign(c) : c;
      },
    })),
);

class Fuzzer {
  readonly result: FuzzResult = { requests: 0, violations: [] };
  private topic = '';

  constructor(private readonly t: FuzzTarget) {}

  private async request(
    method: string,
    path: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ) {
    this.result.requests++;
    return this.t.http.request(method, path, body, headers);
  }

  /** What bad input must never change: the high-water marks and the number of objects. */
  private async snapshot() {
    const described = await this.request('GET', `/v1/topics/${this.topic}`);
    const hw = (JSON.parse(described.body.toString()).partitions as { highWatermark: number }[]).map(
      (p) => p.highWatermark,
    );
    const listed = await this.t.direct.clients.s3.send(
      new ListObjectsV2Command({ Bucket: this.t.direct.config.bucket }),
    );
    return { hw, objects: listed.KeyCount ?? 0 };
  }

  private fail(id: string, message: string) {
    this.result.violations.push({ invariant: 'B', message: `${id}: ${message}`, events: [] });
  }

  /** Runs one property; its counterexample (shrunk) becomes a violation. */
  private async property<T>(
    id: string,
    arb: fc.Arbitrary<T>,
    body: (value: T) => Promise<void>,
    numRuns = this.t.numRuns,
  ) {
    try {
      await fc.assert(fc.asyncProperty(arb, body), { seed: this.t.seed, numRuns });
    } catch (err) {
      const e = err as Error & { cause?: Error };
      const lines = e.message.split('\n').filter((l) => l.startsWith('{') || l.startsWith('Counterexample'));
      this.fail(id, [e.message.split('\n')[0], ...lines, `Cause: ${e.cause?.message ?? ''}`].join('\n'));
    }
  }

  async run(): Promise<FuzzResult> {
    this.topic = `fuzz-${this.t.seed}-${Date.now().toString(36)}`;
    await this.request('POST', '/v1/topics', JSON.stringify({ name: this.topic, partitions: 2 }), {
      'content-type': 'application/json',
    });
    await this.request(
      'POST',
      `/v1/topics/${this.topic}/records`,
      JSON.stringify({ records: [{ value: 'seed', partition: 0 }] }),
      {
        'content-type': 'application/json',
      },
    );

    // B1, B2, B4, B5: the server's verdict on a mutated batch is the codec's.
    await this.property(
      'B1–B5 mutated batches',
      fc.tuple(
        fc.array(recordArb, { minLength: 1, maxLength: 4 }),
        compressionArb,
        mutationArb,
        fc.boolean(),
      ),
      async ([records, compression, mutation, idempotent]) => {
        const good = encodeRecordBatch(records, {
          compression,
          ...(idempotent ? { producerId: 77, producerEpoch: 0, baseSequence: 0 } : {}),
        });
        const body = mutation.apply(good);
        let expected: { status: number; code?: string; producer: boolean };
        try {
          const headers = validateBatches(body);
          expected = { status: 200, producer: headers.some((h) => h.producerId >= 0) };
        } catch (err) {
          if (!isSluiceError(err)) throw err;
          expected = { status: err.status, code: err.code, producer: false };
        }
        if (body.length === 0) expected = { status: 400, code: 'CORRUPT_MESSAGE', producer: false };
        const before = await this.snapshot();
        const res = await this.request(
          'POST',
          `/v1/topics/${this.topic}/partitions/0/batches`,
          body,
          RECORD_BATCH,
        );
        const text = res.body.toString();
        const code = res.status === 200 ? undefined : (JSON.parse(text).error?.code as string | undefined);
        const okStatus =
          res.status === expected.status ||
          // An accepted idempotent batch may still meet the producer's sequence state.
          (expected.status === 200 && expected.producer && res.status === 409);
        if (!okStatus || (expected.status !== 200 && code !== expected.code)) {
          throw new Error(
            `${mutation.label}: expected ${expected.status} ${expected.code ?? ''}, got ${res.status} ${text.slice(0, 300)}`,
          );
        }
        if (res.status !== 200) {
          const after = await this.snapshot();
          // A valid batch the producer state refuses (409) is written to S3 first: an orphan object,
          // collected later. Bad input itself must write nothing at all.
          if (expected.status === 200) {
            after.objects = before.objects;
          }
          if (JSON.stringify(after) !== JSON.stringify(before)) {
            throw new Error(
              `${mutation.label}: rejected with ${res.status}, but storage changed: ${JSON.stringify(before)} → ${JSON.stringify(after)}`,
            );
          }
        }
      },
    );

    // B6: offsets, as arbitrary query strings and as 64-bit integers in the framing.
    const hw = (await this.snapshot()).hw[0]!;
    await this.property(
      'B6 offsets in the query',
      fc.oneof(
        fc.string({ maxLength: 24 }),
        fc.integer({ min: -5, max: hw + 5 }).map(String),
        fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
        fc.double().map(String),
        fc.constantFrom('1e3', '0x10', '9007199254740992', '9007199254740991', '00', '+0', ' 1', '1 ', '-0'),
      ),
      async (raw) => {
        const res = await this.request(
          'GET',
          `/v1/topics/${this.topic}/partitions/0/batches?offset=${encodeURIComponent(raw)}`,
          undefined,
          {
            accept: RECORD_BATCH['content-type'],
          },
        );
        const valid = DECIMAL.test(raw) && Number(raw) <= Number.MAX_SAFE_INTEGER;
        const expected = !valid
          ? [400, 'INVALID_REQUEST']
          : Number(raw) > hw
            ? [416, 'OFFSET_OUT_OF_RANGE']
            : [200];
        const code = res.status === 200 ? undefined : JSON.parse(res.body.toString()).error?.code;
        if (res.status !== expected[0] || code !== expected[1]) {
          throw new Error(
            `offset=${JSON.stringify(raw)}: expected ${expected.join(' ')}, got ${res.status} ${res.body.toString().slice(0, 200)}`,
          );
        }
      },
    );
    await this.property(
      'B6 offsets in the framing',
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      async (offset) => {
        const frame = encodeFetchRequest({ partitions: [{ topic: this.topic, partition: 0, offset: 0 }] });
        frame.writeBigInt64BE(offset, frame.length - 12); // offset:i64 then maxBytes:u32 close the frame
        const res = await this.request('POST', '/v1/fetch', frame, FRAMED);
        if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
          if (res.status !== 400) throw new Error(`framed offset ${offset}: expected 400, got ${res.status}`);
          return;
        }
        if (res.status !== 200)
          throw new Error(
            `framed offset ${offset}: expected 200, got ${res.status} ${res.body.toString().slice(0, 200)}`,
          );
        const [r] = decodeFetchResponse(res.body);
        const want = offset > BigInt(hw) ? 'OFFSET_OUT_OF_RANGE' : undefined;
        if (r?.error?.code !== want)
          throw new Error(`framed offset ${offset}: expected ${want ?? 'no error'}, got ${r?.error?.code}`);
      },
    );

    // B7: topic names.
    await this.property(
      'B7 topic names',
      fc.oneof(
        fc.string({ maxLength: 260, unit: 'binary' }),
        fc.string({ minLength: 1, maxLength: 260, unit: fc.constantFrom(...'aZ09._-/%\u0000 *:'.split('')) }),
        fc.constantFrom('.', '..', '...', 'x'.repeat(249), 'x'.repeat(250)),
      ),
      async (name) => {
        const before = (await this.request('GET', '/v1/topics')).body.toString();
        const described = await this.request('GET', `/v1/topics/${encodeURIComponent(name)}`);
        const created = await this.request('POST', '/v1/topics', JSON.stringify({ name, partitions: 1 }), {
          'content-type': 'application/json',
        });
        const valid = VALID_NAME.test(name) && name !== '.' && name !== '..';
        const code = (r: { body: Buffer }) => JSON.parse(r.body.toString()).error?.code;
        if (name === '') {
          if (described.status !== 404 && described.status !== 405 && described.status !== 200) {
            throw new Error(`GET /v1/topics/ answered ${described.status}`);
          }
        } else if (valid) {
          // A valid name may have been created by an earlier case.
          if (
            described.status !== 200 &&
            (described.status !== 404 || code(described) !== 'UNKNOWN_TOPIC_OR_PARTITION')
          ) {
            throw new Error(
              `valid name ${JSON.stringify(name)}: describe answered ${described.status} ${described.body.toString().slice(0, 200)}`,
            );
          }
        } else if (described.status !== 400 || code(described) !== 'INVALID_TOPIC') {
          throw new Error(
            `invalid name ${JSON.stringify(name)}: describe answered ${described.status} ${described.body.toString().slice(0, 200)}`,
          );
        }
        if (valid) {
          const exists = created.status === 409 && code(created) === 'TOPIC_ALREADY_EXISTS';
          if (created.status !== 201 && !exists)
            throw new Error(`valid name ${JSON.stringify(name)}: create answered ${created.status}`);
          return;
        }
        if (created.status !== 400 || code(created) !== 'INVALID_TOPIC') {
          throw new Error(
            `invalid name ${JSON.stringify(name)}: create answered ${created.status} ${created.body.toString().slice(0, 200)}`,
          );
        }
        const after = (await this.request('GET', '/v1/topics')).body.toString();
        if (after !== before) throw new Error(`invalid name ${JSON.stringify(name)} changed the topic list`);
      },
      Math.max(10, Math.floor(this.t.numRuns / 2)),
    );

    // B8: JSON of any shape: no 5xx, writes only with a 200, and no prototype pollution.
    const key = fc.oneof(
      fc.constantFrom(
        'records',
        'value',
        'key',
        'headers',
        'partition',
        'timestamp',
        'encoding',
        '__proto__',
        'constructor',
        'prototype',
        '\\u005f_proto__',
      ),
      fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s).slice(1, -1)),
    );
    const json: fc.Arbitrary<string> = fc.letrec<{ v: string }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('null', 'true', '0', '-1', '1.5', '1e400', '9007199254740993', '"x"', '""', '"eA=="'),
        fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)),
        fc.array(tie('v'), { maxLength: 4 }).map((a) => `[${a.join(',')}]`),
        fc
          .array(fc.tuple(key, tie('v')), { maxLength: 4 })
          .map((kv) => `{${kv.map(([k, v]) => `"${k}":${v}`).join(',')}}`),
      ),
    })).v;
    const body = fc.oneof(
      json,
      json.map((v) => `{"records":${v}}`),
      fc
        .array(json, { maxLength: 3 })
        .map((a) => `{"records":[${a.map((v) => `{"value":"x","headers":${v}}`).join(',')}]}`),
      fc
        .integer({ min: 1, max: 3000 })
        .map((d) => `{"records":[{"value":"x","headers":${'['.repeat(d)}${']'.repeat(d)}}]}`),
      fc
        .array(key, { minLength: 1, maxLength: 3 })
        .map((ks) => `{"records":[{"value":"x",${ks.map((k) => `"${k}":{"partition":1}`).join(',')}}]}`),
    );
    await this.property('B8 JSON bodies', body, async (text) => {
      const before = await this.snapshot();
      const res = await this.request('POST', `/v1/topics/${this.topic}/records`, text, {
        'content-type': 'application/json',
      });
      if (res.status >= 500) throw new Error(`${text.slice(0, 200)}: answered ${res.status}`);
      const answer = JSON.parse(res.body.toString());
      if (res.status !== 200) {
        if (typeof answer.error?.code !== 'string' || typeof answer.error?.message !== 'string') {
          throw new Error(`${text.slice(0, 200)}: ${res.status} without an error code and message`);
        }
        const after = await this.snapshot();
        if (JSON.stringify(after) !== JSON.stringify(before))
          throw new Error(`${text.slice(0, 200)}: rejected, but storage changed`);
      }
      if (
        ({} as Record<string, unknown>).partition !== undefined ||
        ({} as Record<string, unknown>).polluted !== undefined
      ) {
        throw new Error(`${text.slice(0, 200)}: Object.prototype was polluted`);
      }
    });

    // Framing: mutated frames are never a 5xx and never write unless accepted.
    const frame = encodeProduceRequest([
      { topic: this.topic, partition: 0, batches: encodeRecordBatch([{ value: Buffer.from('f0') }]) },
      { topic: this.topic, partition: 1, batches: encodeRecordBatch([{ value: Buffer.from('f1') }]) },
    ]);
    await this.property(
      'B2 mutated frames',
      fc.oneof(
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => ({
          label: `byte ${i % frame.length} = ${v}`,
          body: Buffer.from(frame).fill(v, i % frame.length, (i % frame.length) + 1),
        })),
        fc.nat().map((n) => ({
          label: `truncated to ${n % frame.length}`,
          body: Buffer.from(frame.subarray(0, n % frame.length)),
        })),
        bytes(200).map((b) => ({ label: `${b.length} random bytes`, body: b })),
      ),
      async ({ label, body }) => {
        const before = await this.snapshot();
        const res = await this.request('POST', '/v1/produce', body, FRAMED);
        if (res.status >= 500)
          throw new Error(`${label}: answered ${res.status} ${res.body.toString().slice(0, 200)}`);
        const accepted = res.status === 200 && decodeProduceResponse(res.body).some((r) => !r.error);
        if (!accepted) {
          const after = await this.snapshot();
          if (JSON.stringify(after) !== JSON.stringify(before))
            throw new Error(`${label}: nothing accepted, but storage changed`);
        }
      },
    );

    // B9: arbitrary bytes through the multi-partition framing, back exactly.
    const next = [0, 0];
    {
      const s = await this.snapshot();
      next[0] = s.hw[0]!;
      next[1] = s.hw[1]!;
    }
    await this.property(
      'B9 bytes round-trip through /v1/produce and /v1/fetch',
      fc.tuple(
        fc.array(recordArb, { minLength: 1, maxLength: 8 }),
        fc.array(recordArb, { minLength: 1, maxLength: 8 }),
        compressionArb,
      ),
      async ([a, b, compression]) => {
        const parts = [a, b].map((records, partition) => ({
          topic: this.topic,
          partition,
          batches: encodeRecordBatch(records, { compression }),
        }));
        const res = await this.request('POST', '/v1/produce', encodeProduceRequest(parts), FRAMED);
        if (res.status !== 200)
          throw new Error(`produce answered ${res.status} ${res.body.toString().slice(0, 200)}`);
        const answers = decodeProduceResponse(res.body);
        const fetched = await this.request(
          'POST',
          '/v1/fetch',
          encodeFetchRequest({
            partitions: [0, 1].map((p) => ({ topic: this.topic, partition: p, offset: next[p]! })),
          }),
          FRAMED,
        );
        const results = decodeFetchResponse(fetched.body);
        [a, b].forEach((records, p) => {
          const answer = answers[p];
          if (!answer || answer.error || answer.baseOffset !== next[p])
            throw new Error(`partition ${p}: answered ${JSON.stringify(answer)}, expected base ${next[p]}`);
          const got = decodeRecordBatches(results[p]!.records).batches.flatMap((x) => x.records);
          const want = records.map((r) => [r.key ?? null, r.value ?? null, r.headers ?? [], r.timestamp]);
          const have = got.map((r) => [r.key, r.value, r.headers, r.timestamp]);
          const same = (x: unknown, y: unknown) =>
            JSON.stringify(x, (_, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v)) ===
            JSON.stringify(y, (_, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v));
          if (!same(want, have)) throw new Error(`partition ${p}: records came back different`);
          next[p]! += records.length;
        });
      },
      Math.max(5, Math.floor(this.t.numRuns / 3)),
    );
    return this.result;
  }
}

export function fuzzBadInput(target: FuzzTarget): Promise<FuzzResult> {
  return new Fuzzer(target).run();
}
