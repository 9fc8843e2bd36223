/**
 * Bad input at the HTTP level (reliability.md B1–B9): every case is answered with the right status and
 * code, and leaves the high-water marks and the bucket exactly as they were.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFetchRequest, encodeProduceRequest } from '../../shared/api/framing';
import { API_LIMITS } from '../../shared/api/limits';
import { lz4CompressFrame, lz4FrameBound } from '../../shared/codec/lz4';
import { decodeRecordBatches, encodeRecordBatch, type ProducerRecord } from '../../shared/codec/record-batch';
import {
  ACCEPT_BATCH,
  createTopic,
  expectRejected,
  http,
  OCTET,
  RECORD_BATCH,
  resign,
  startTestStack,
  type TestStack,
} from './support';

let stack: TestStack;
let base: string;
let topic: string;

beforeAll(async () => {
  stack = await startTestStack();
  base = stack.url;
  topic = await createTopic(base, 2);
  // Some data, so "unchanged" is not trivially zero.
  await http(base, 'POST', `/v1/topics/${topic}/records`, {
    body: { records: [{ value: 'seed', partition: 0 }] },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const good = (compression: 'none' | 'lz4' | 'gzip' = 'none', n = 3) =>
  encodeRecordBatch(
    Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(`value-${i}`) })),
    { compression },
  );
const produceBatches =
  (body: Buffer, headers: Record<string, string> = RECORD_BATCH) =>
  () =>
    http(base, 'POST', `/v1/topics/${topic}/partitions/0/batches`, { body, headers });
const produceJson = (body: unknown, headers?: Record<string, string>) => () =>
  http(base, 'POST', `/v1/topics/${topic}/records`, {
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : (body as object),
    headers: headers ?? { 'content-type': 'application/json' },
  });

describe('B1: a flipped bit anywhere in a batch', () => {
  it('is rejected for every byte the server checks (all but the stamped baseOffset and leader epoch)', async () => {
    // Prepare
    const batch = good('lz4');
    const accepted: number[] = [];
    // Act + Assess: one flip per byte, a different bit each time
    for (let i = 0; i < batch.length; i++) {
      if (i < 8 || (i >= 12 && i < 16)) continue; // overwritten by the server, as Kafka does
      const bad = Buffer.from(batch);
      bad[i]! ^= 1 << (i % 8);
      const res = await produceBatches(bad)();
      if (res.status === 200) accepted.push(i);
      else {
        expect([400, 413], `byte ${i}`).toContain(res.status);
        expect([
          'CORRUPT_MESSAGE',
          'INVALID_RECORD',
          'UNSUPPORTED_FOR_MESSAGE_FORMAT',
          'MESSAGE_TOO_LARGE',
        ]).toContain(res.json().error.code);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('leaves storage unchanged (a sample checked against the high-water mark and the bucket)', async () => {
    const batch = good('none');
    for (const i of [8, 11, 16, 17, 21, 30, 57, 60, batch.length - 1]) {
      const bad = Buffer.from(batch);
      bad[i]! ^= 0x10;
      await expectRejected(stack, topic, produceBatches(bad), 400, ['CORRUPT_MESSAGE', 'INVALID_RECORD']);
    }
  });
});

describe('B2: truncated batches and lengths beyond the body', () => {
  it('rejects every truncation of a batch', async () => {
    const batch = good('none');
    for (const cut of [1, 11, 12, 60, 61, batch.length - 1]) {
      await expectRejected(stack, topic, produceBatches(batch.subarray(0, cut)), 400, 'CORRUPT_MESSAGE');
    }
  });

  it('rejects a good batch followed by a partial one, and a length beyond the body', async () => {
    const batch = good('none');
    await expectRejected(
      stack,
      topic,
      produceBatches(Buffer.concat([batch, batch.subarray(0, 20)])),
      400,
      'CORRUPT_MESSAGE',
    );
    const long = Buffer.from(batch);
    long.writeInt32BE(long.readInt32BE(8) + 100, 8);
    await expectRejected(stack, topic, produceBatches(long), 400, 'CORRUPT_MESSAGE');
    const negative = Buffer.from(batch);
    negative.writeInt32BE(-5, 8);
    await expectRejected(stack, topic, produceBatches(negative), 400, 'CORRUPT_MESSAGE');
  });

  it('rejects an empty body', async () => {
    await expectRejected(stack, topic, produceBatches(Buffer.alloc(0)), 400, 'CORRUPT_MESSAGE');
  });
});

describe('B3: oversized requests', () => {
  it('rejects a body over the limit with 413 stating the limit and the size', async () => {
    const big = Buffer.alloc(API_LIMITS.maxBodyBytes + 1);
    const res = await expectRejected(stack, topic, produceBatches(big), 413, 'MESSAGE_TOO_LARGE');
    expect(res.json().error.message).toBe(
      `the request body must be ≤ ${API_LIMITS.maxBodyBytes} bytes, but ${API_LIMITS.maxBodyBytes + 1} bytes were provided`,
    );
    await expectRejected(
      stack,
      topic,
      produceJson(Buffer.alloc(API_LIMITS.maxBodyBytes + 1, 0x20)),
      413,
      'MESSAGE_TOO_LARGE',
    );
  });

  it('rejects a body over the gateway’s 10 MB before reading it', async () => {
    const huge = Buffer.alloc(API_LIMITS.maxGatewayBodyBytes + 1);
    await expectRejected(stack, topic, produceBatches(huge), 413, 'MESSAGE_TOO_LARGE');
  });

  it('caps decompression: a batch that inflates past the limit is refused when decoded', async () => {
    // The server stores batches compressed and never inflates them on produce; the JSON fetch does, capped.
    // A bomb: one 60 MB record followed by 6 MB of zeros, lz4-compressed to a few hundred KB.
    const plain = encodeRecordBatch([{ value: Buffer.alloc(60 * 1024 * 1024) }], { compression: 'none' });
    const inflated = Buffer.concat([plain.subarray(61), Buffer.alloc(6 * 1024 * 1024)]);
    const frame = Buffer.alloc(lz4FrameBound(inflated.length));
    const frameEnd = lz4CompressFrame(inflated, 0, inflated.length, frame, 0);
    const bomb = Buffer.concat([plain.subarray(0, 61), frame.subarray(0, frameEnd)]);
    bomb.writeInt32BE(bomb.length - 12, 8);
    bomb.writeInt16BE(3, 21);
    resign(bomb);
    expect(bomb.length).toBeLessThan(API_LIMITS.maxBodyBytes);
    const t = await createTopic(base, 1);
    const produced = await http(base, 'POST', `/v1/topics/${t}/partitions/0/batches`, {
      body: bomb,
      headers: RECORD_BATCH,
    });
    expect(produced.status).toBe(200);
    const read = await http(base, 'GET', `/v1/topics/${t}/partitions/0/records?offset=0`);
    expect(read.status).toBe(413);
    expect(read.json().error.code).toBe('RECORD_LIST_TOO_LARGE');
  });

  it('rejects more records than allowed in one JSON request', async () => {
    const records = Array.from({ length: API_LIMITS.maxRecordsPerRequest + 1 }, () => ({ value: 'x' }));
    const res = await expectRejected(stack, topic, produceJson({ records }), 413, 'MESSAGE_TOO_LARGE');
    expect(res.json().error.message).toBe('records must hold ≤ 10000 items, but 10001 were provided');
  });
});

describe('B4: wrong magic, unknown codec, transactional and control bits', () => {
  const edited = (edit: (b: Buffer) => void, sign = true) => {
    const b = Buffer.from(good('none'));
    edit(b);
    return sign ? resign(b) : b;
  };
  it.each([
    ['magic 0', edited((b) => b.writeInt8(0, 16)), 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
    ['magic 1', edited((b) => b.writeInt8(1, 16)), 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
    ['magic 3', edited((b) => b.writeInt8(3, 16)), ['CORRUPT_MESSAGE', 'UNSUPPORTED_FOR_MESSAGE_FORMAT']],
    ['codec 5', edited((b) => b.writeInt16BE(5, 21)), 'CORRUPT_MESSAGE'],
    ['codec 7', edited((b) => b.writeInt16BE(7, 21)), 'CORRUPT_MESSAGE'],
    ['transactional', edited((b) => b.writeInt16BE(0x10, 21)), 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
    ['control', edited((b) => b.writeInt16BE(0x20, 21)), 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
    ['unknown attribute bit', edited((b) => b.writeInt16BE(0x100, 21)), 'UNSUPPORTED_FOR_MESSAGE_FORMAT'],
  ] as [string, Buffer, string | string[]][])('rejects %s', async (_, body, code) => {
    await expectRejected(stack, topic, produceBatches(body), 400, code);
  });
});

describe('B5: record counts and sequences', () => {
  const edited = (edit: (b: Buffer) => void, options: Parameters<typeof encodeRecordBatch>[1] = {}) => {
    const b = encodeRecordBatch(
      [0, 1, 2].map((i) => ({ value: Buffer.from(`v${i}`) })),
      { compression: 'none', ...options },
    );
    edit(b);
    return resign(b);
  };
  it.each([
    [
      'recordCount ≠ lastOffsetDelta + 1',
      edited((b) => b.writeInt32BE(4, 57)),
      ['INVALID_RECORD', 'CORRUPT_MESSAGE'],
    ],
    ['recordCount 0', edited((b) => b.writeInt32BE(0, 57)), ['INVALID_RECORD', 'CORRUPT_MESSAGE']],
    ['negative recordCount', edited((b) => b.writeInt32BE(-3, 57)), ['INVALID_RECORD', 'CORRUPT_MESSAGE']],
    [
      'negative lastOffsetDelta',
      edited((b) => b.writeInt32BE(-1, 23)),
      ['INVALID_RECORD', 'CORRUPT_MESSAGE'],
    ],
    [
      'more records than the bytes can hold',
      edited((b) => {
        b.writeInt32BE(999, 57);
        b.writeInt32BE(998, 23);
      }),
      ['INVALID_RECORD', 'CORRUPT_MESSAGE'],
    ],
    [
      'a sequence that wraps past 2^31 − 1',
      edited(() => {}, { producerId: 9, producerEpoch: 0, baseSequence: 0x7fffffff - 1 }),
      ['INVALID_RECORD'],
    ],
    ['a negative producer id', edited((b) => b.writeBigInt64BE(-2n, 43)), ['INVALID_RECORD']],
  ])('rejects %s', async (_, body, codes) => {
    await expectRejected(stack, topic, produceBatches(body), 400, codes);
  });
});

describe('B6: offsets and numbers', () => {
  const bad = [
    '-1',
    '1e3',
    '0x10',
    '9007199254740992',
    '',
    '+1',
    '1.0',
    '%201',
    '007',
    '1%00',
    'NaN',
    'Infinity',
  ];
  it.each(bad)('rejects offset=%s with 400 naming the field and the value', async (offset) => {
    for (const route of ['batches', 'records']) {
      const res = await http(base, 'GET', `/v1/topics/${topic}/partitions/0/${route}?offset=${offset}`, {
        headers: ACCEPT_BATCH,
      });
      expect(res.status, `${route} ${offset}`).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
      expect(res.json().error.message).toMatch(/^offset must be a non-negative integer ≤ 9007199254740991/);
      expect(res.json().error.message).toContain(JSON.stringify(decodeURIComponent(offset)));
    }
  });

  it.each(['-1', '1e3', '0x10', '9007199254740992', '', '01'])(
    'rejects partition %s in the path',
    async (p) => {
      await expectRejected(
        stack,
        topic,
        () =>
          http(base, 'POST', `/v1/topics/${topic}/partitions/${p}/batches`, {
            body: good(),
            headers: RECORD_BATCH,
          }),
        p === '' ? 404 : 400,
        p === '' ? 'NOT_FOUND' : 'INVALID_REQUEST',
      );
    },
  );

  it('answers 416 beyond the high-water mark and an empty answer at it', async () => {
    const res = await http(base, 'GET', `/v1/topics/${topic}/partitions/0/batches?offset=2`, {
      headers: ACCEPT_BATCH,
    });
    expect(res.status).toBe(416);
    expect(res.json().error).toMatchObject({ logStartOffset: 0, highWatermark: 1 });
    const at = await http(base, 'GET', `/v1/topics/${topic}/partitions/0/batches?offset=1`, {
      headers: ACCEPT_BATCH,
    });
    expect(at.status).toBe(200);
    expect(at.body.length).toBe(0);
  });

  it('rejects bad numbers in JSON bodies', async () => {
    const cases: unknown[] = [-1, 1.5, '3', 2 ** 53, true, [1], { n: 1 }];
    for (const partition of cases) {
      await expectRejected(
        stack,
        topic,
        produceJson({ records: [{ value: 'x', partition }] }),
        400,
        'INVALID_REQUEST',
      );
    }
    for (const timestamp of [-1, 1.5, '1764288000000', 2 ** 53]) {
      await expectRejected(
        stack,
        topic,
        produceJson({ records: [{ value: 'x', timestamp }] }),
        400,
        'INVALID_REQUEST',
      );
    }
    // 9007199254740993 parses to 2^53: not a safe integer.
    await expectRejected(
      stack,
      topic,
      produceJson('{"records":[{"value":"x","timestamp":9007199254740993}]}'),
      400,
      'INVALID_REQUEST',
    );
  });
});

describe('B7: topic names', () => {
  const names: [string, string, string][] = [
    ['..', '..', '..'],
    ['.', '.', '.'],
    ['%2e%2e', '..', '%2e%2e'],
    ['a%2Fb', 'a/b', 'a%2Fb'],
    ['a%2fb', 'a/b', 'a%2fb'],
    ['a%00b', 'a\u0000b', 'a%00b (NUL)'],
    ['%00', '\u0000', '%00 (NUL)'],
    ['a%20b', 'a b', 'a%20b'],
    ['%C3%BC', 'ü', '%C3%BC (ü)'],
    ['a*', 'a*', 'a*'],
    ['x'.repeat(250), 'x'.repeat(250), '250 characters'],
  ];
  it.each(names.map(([raw, name, label]) => [label, raw, name]))(
    'rejects %s in the path with 400 INVALID_TOPIC on every topic route',
    async (_, raw) => {
      const routes: [string, string, Record<string, unknown>?][] = [
        ['GET', `/v1/topics/${raw}`],
        ['DELETE', `/v1/topics/${raw}`],
        ['POST', `/v1/topics/${raw}/partitions`, { body: { partitions: 2 } }],
        ['POST', `/v1/topics/${raw}/records`, { body: { records: [{ value: 'x' }] } }],
        ['POST', `/v1/topics/${raw}/partitions/0/batches`, { body: good(), headers: RECORD_BATCH }],
        ['GET', `/v1/topics/${raw}/partitions/0/batches?offset=0`],
        ['GET', `/v1/topics/${raw}/partitions/0/records?offset=0`],
        ['GET', `/v1/topics/${raw}/partitions/0/offsets?at=latest`],
      ];
      for (const [method, path, options] of routes) {
        await expectRejected(
          stack,
          topic,
          () => http(base, method, path, options as never),
          400,
          'INVALID_TOPIC',
        );
      }
    },
  );

  it.each(names.map(([raw, name, label]) => [label, raw, name]))(
    'rejects %s as a new topic’s name',
    async (_, __, name) => {
      await expectRejected(
        stack,
        topic,
        () => http(base, 'POST', '/v1/topics', { body: { name, partitions: 1 } }),
        400,
        'INVALID_TOPIC',
      );
    },
  );

  it('accepts 249 characters and the whole allowed alphabet', async () => {
    for (const name of ['y'.repeat(249), 'A.z_0-9']) {
      const res = await http(base, 'POST', '/v1/topics', { body: { name, partitions: 1 } });
      expect(res.status).toBe(201);
    }
  });

  it('does not route a literal slash, and rejects broken percent-encoding', async () => {
    expect((await http(base, 'GET', '/v1/topics/a/b')).status).toBe(404);
    const res = await http(base, 'GET', '/v1/topics/%zz');
    expect(res.status).toBe(400);
    expect(res.json().error.code).toBe('INVALID_REQUEST');
  });

  it('rejects bad topic names inside a framed produce and fetch', async () => {
    for (const name of ['..', 'a/b', 'a\u0000b', 'x'.repeat(250), '']) {
      const produce = encodeProduceRequest([{ topic: name, partition: 0, batches: good() }]);
      await expectRejected(
        stack,
        topic,
        () => http(base, 'POST', '/v1/produce', { body: produce, headers: OCTET }),
        400,
        'INVALID_TOPIC',
      );
      const fetch = encodeFetchRequest({ partitions: [{ topic: name, partition: 0, offset: 0 }] });
      const res = await http(base, 'POST', '/v1/fetch', { body: fetch, headers: OCTET });
      expect(res.status).toBe(400);
      expect(res.json().error.code).toBe('INVALID_TOPIC');
    }
  });
});

describe('B8: JSON bombs and malformed JSON', () => {
  it.each([
    [
      'deep nesting',
      `{"records":[{"value":"x","headers":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`,
      400,
    ],
    ['deep nesting, unclosed', '['.repeat(1_000_000), 400],
    ['many values', `{"records":[${'0,'.repeat(300_000)}0]}`, 400],
    ['__proto__ at the top', '{"records":[{"value":"x"}],"__proto__":{"polluted":true}}', 400],
    ['__proto__ in a record', '{"records":[{"value":"x","__proto__":{"partition":1}}]}', 400],
    ['__proto__ in headers', '{"records":[{"value":"x","headers":{"__proto__":"v"}}]}', 400],
    ['escaped __proto__ in headers', '{"records":[{"value":"x","headers":{"\\u005f_proto__":"v"}}]}', 400],
    ['not JSON', '{"records": [', 400],
    ['trailing garbage', '{"records":[{"value":"x"}]} x', 400],
    ['not an object', '"records"', 400],
    ['null', 'null', 400],
    ['empty', '', 400],
    ['unknown record field', '{"records":[{"value":"x","offset":3}]}', 400],
    ['unknown top-level field', '{"records":[{"value":"x"}],"acks":"all"}', 400],
    ['missing value', '{"records":[{"key":"k"}]}', 400],
    ['records not an array', '{"records":{"0":{"value":"x"}}}', 400],
    ['empty records', '{"records":[]}', 400],
    ['value not a string', '{"records":[{"value":42}]}', 400],
    ['header value not a string', '{"records":[{"value":"x","headers":{"h":1}}]}', 400],
    ['bad encoding', '{"records":[{"value":"x"}],"encoding":"hex"}', 400],
    ['bad base64', '{"records":[{"value":"a=b"}],"encoding":"base64"}', 400],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 400],
  ])('rejects %s', async (_, body, status) => {
    await expectRejected(stack, topic, produceJson(body), status, 'INVALID_REQUEST');
  });

  it('leaves Object.prototype alone', async () => {
    await produceJson('{"records":[{"value":"x","headers":{"__proto__":{"polluted":1}}}]}')();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects wrong content types with 415', async () => {
    await expectRejected(
      stack,
      topic,
      produceJson({ records: [{ value: 'x' }] }, { 'content-type': 'text/plain' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectRejected(
      stack,
      topic,
      produceJson('{"records":[{"value":"x"}]}', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectRejected(
      stack,
      topic,
      produceBatches(good(), { 'content-type': 'application/json' }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectRejected(stack, topic, produceBatches(good(), {}), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('accepts a JSON body without a content type, and with a charset', async () => {
    const none = await http(base, 'POST', `/v1/topics/${topic}/records`, {
      body: '{"records":[{"value":"x","partition":1}]}',
    });
    expect(none.status).toBe(200);
    const charset = await http(base, 'POST', `/v1/topics/${topic}/records`, {
      body: '{"records":[{"value":"x","partition":1}]}',
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    });
    expect(charset.status).toBe(200);
  });
});

describe('B9: arbitrary bytes round-trip exactly', () => {
  const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
  const record: fc.Arbitrary<ProducerRecord> = fc.record({
    key: fc.option(bytes, { nil: null }),
    value: fc.option(bytes, { nil: null }),
    headers: fc.array(
      fc.record({ key: fc.string({ maxLength: 10 }), value: fc.option(bytes, { nil: null }) }),
      {
        maxLength: 3,
      },
    ),
    timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
  });

  it('through binary produce and binary fetch', async () => {
    const t = await createTopic(base, 1);
    let next = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 20 }),
        fc.constantFrom('none', 'gzip', 'lz4'),
        async (records, compression) => {
          const batch = encodeRecordBatch(records, { compression: compression as 'none' | 'gzip' | 'lz4' });
          const produced = await http(base, 'POST', `/v1/topics/${t}/partitions/0/batches`, {
            body: batch,
            headers: RECORD_BATCH,
          });
          expect(produced.json()).toEqual({
            baseOffset: next,
            lastOffset: next + records.length - 1,
            duplicate: false,
          });
          const fetched = await http(base, 'GET', `/v1/topics/${t}/partitions/0/batches?offset=${next}`, {
            headers: ACCEPT_BATCH,
          });
          const stamped = Buffer.from(batch);
          stamped.writeBigInt64BE(BigInt(next), 0);
          expect(fetched.body).toEqual(stamped);
          const decoded = decodeRecordBatches(fetched.body).batches[0]!.records;
          expect(decoded.map((r) => [r.key, r.value, r.headers, r.timestamp])).toEqual(
            records.map((r) => [r.key, r.value, r.headers, r.timestamp]),
          );
          next += records.length;
        },
      ),
      { numRuns: 25 },
    );
  });

  it('through JSON produce and JSON fetch with encoding=base64', async () => {
    const t = await createTopic(base, 1);
    let next = 0;
    const b64 = (b: Buffer | null | undefined) => (b == null ? null : b.toString('base64'));
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 10 }), async (records) => {
        // JSON headers are a map: keep one value per name.
        const unique = records.map((r) => ({
          ...r,
          headers: [...new Map((r.headers ?? []).map((h) => [h.key, h])).values()].filter(
            (h) => h.key !== '__proto__',
          ),
        }));
        const body = {
          encoding: 'base64',
          records: unique.map((r) => ({
            key: b64(r.key),
            value: b64(r.value),
            headers: Object.fromEntries(r.headers.map((h) => [h.key, b64(h.value)])),
            timestamp: r.timestamp,
            partition: 0,
          })),
        };
        const produced = await http(base, 'POST', `/v1/topics/${t}/records`, { body });
        expect(produced.status, produced.body.toString()).toBe(200);
        const read = await http(
          base,
          'GET',
          `/v1/topics/${t}/partitions/0/records?offset=${next}&encoding=base64`,
        );
        expect(read.json().records).toEqual(
          body.records.map((r, i) => ({
            offset: next + i,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
          })),
        );
        next += records.length;
      }),
      { numRuns: 20 },
    );
  });
});
