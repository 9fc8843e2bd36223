import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeFetchResponse,
  decodeProduceResponse,
  encodeFetchRequest,
  encodeProduceRequest,
} from '../../shared/api/framing';
import { API_LIMITS } from '../../shared/api/limits';
import { decodeRecordBatches, encodeRecordBatch } from '../../shared/codec/record-batch';
import { ACCEPT_BATCH, createTopic, http, OCTET, RECORD_BATCH, testStackForAll, uniqueName } from './support';

const stack = testStackForAll();
let base: string;
beforeAll(() => {
  base = stack.url;
});

const batch = (values: string[], options: { compression?: 'none' | 'gzip' | 'lz4' } = {}) =>
  encodeRecordBatch(
    values.map((v) => ({ key: null, value: Buffer.from(v) })),
    { compression: options.compression ?? 'none' },
  );

describe('Route: topics', () => {
  it('creates, lists, describes and deletes a topic', async () => {
    // Prepare
    const name = uniqueName('orders');
    // Act
    const created = await http(base, 'POST', '/v1/topics', {
      body: { name, partitions: 3, retentionMs: 604800000 },
    });
    const listed = await http(base, 'GET', '/v1/topics');
    const described = await http(base, 'GET', `/v1/topics/${name}`);
    // Assess
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      name,
      partitionCount: 3,
      retentionMs: 604800000,
      retentionBytes: null,
    });
    expect(typeof created.json().topicId).toBe('string');
    expect(listed.status).toBe(200);
    expect(listed.json().topics.map((t: { name: string }) => t.name)).toContain(name);
    expect(described.json().partitions).toEqual([
      { partition: 0, logStartOffset: 0, highWatermark: 0 },
      { partition: 1, logStartOffset: 0, highWatermark: 0 },
      { partition: 2, logStartOffset: 0, highWatermark: 0 },
    ]);
    const deleted = await http(base, 'DELETE', `/v1/topics/${name}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body.length).toBe(0);
    expect((await http(base, 'GET', `/v1/topics/${name}`)).status).toBe(404);
  });

  it('answers 409 TOPIC_ALREADY_EXISTS for a second create', async () => {
    const name = await createTopic(base);
    const res = await http(base, 'POST', '/v1/topics', { body: { name, partitions: 1 } });
    expect(res.status).toBe(409);
    expect(res.json().error.code).toBe('TOPIC_ALREADY_EXISTS');
  });

  it('answers 404 UNKNOWN_TOPIC_OR_PARTITION for a missing topic', async () => {
    for (const [method, path] of [
      ['GET', '/v1/topics/nope-x'],
      ['DELETE', '/v1/topics/nope-x'],
      ['GET', '/v1/topics/nope-x/partitions/0/batches?offset=0'],
      ['GET', '/v1/topics/nope-x/partitions/0/records?offset=0'],
      ['GET', '/v1/topics/nope-x/partitions/0/offsets?at=latest'],
    ] as const) {
      const res = await http(base, method, path, { headers: ACCEPT_BATCH });
      expect(res.status, path).toBe(404);
      expect(res.json().error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    }
  });

  it('rejects bad create bodies with the field, the limit and the value', async () => {
    const cases: [unknown, number, string, RegExp][] = [
      [{ name: 'ok-name' }, 400, 'INVALID_PARTITIONS', /partitions/],
      [{ name: 'ok-name', partitions: 0 }, 400, 'INVALID_PARTITIONS', /from 1 to 1024, but 0/],
      [{ name: 'ok-name', partitions: 1025 }, 400, 'INVALID_PARTITIONS', /≤ 1024, but 1025/],
      [{ name: 'ok-name', partitions: '3' }, 400, 'INVALID_PARTITIONS', /"3"/],
      [{ name: 'ok-name', partitions: 1.5 }, 400, 'INVALID_PARTITIONS', /1.5/],
      [{ name: 'ok-name', partitions: 1, retentionMs: -2 }, 400, 'INVALID_CONFIG', /retentionMs/],
      [{ name: 'ok-name', partitions: 1, retentionBytes: 0 }, 400, 'INVALID_CONFIG', /retentionBytes/],
      [{ name: 'ok-name', partitions: 1, extra: true }, 400, 'INVALID_REQUEST', /unknown field "extra"/],
      [{ name: 'a/b', partitions: 1 }, 400, 'INVALID_TOPIC', /"a\/b"/],
      [[], 400, 'INVALID_REQUEST', /JSON object/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await http(base, 'POST', '/v1/topics', { body: body as object });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json().error.code).toBe(code);
      expect(res.json().error.message).toMatch(message);
    }
    expect((await http(base, 'GET', '/v1/topics/ok-name')).status).toBe(404);
  });

  it('adds partitions, and refuses to shrink', async () => {
    const name = await createTopic(base, 2);
    const grown = await http(base, 'POST', `/v1/topics/${name}/partitions`, { body: { partitions: 4 } });
    expect(grown.status).toBe(200);
    expect(grown.json().partitionCount).toBe(4);
    expect(grown.json().partitions).toHaveLength(4);
    const shrink = await http(base, 'POST', `/v1/topics/${name}/partitions`, { body: { partitions: 3 } });
    expect(shrink.status).toBe(400);
    expect(shrink.json().error.code).toBe('INVALID_PARTITIONS');
    const missing = await http(base, 'POST', '/v1/topics/nope-y/partitions', { body: { partitions: 3 } });
    expect(missing.status).toBe(404);
  });
});

describe('Route: JSON produce and fetch', () => {
  it('partitions by key with Kafka’s partitioner and answers offsets in request order', async () => {
    // Prepare: facts.md's vectors for 12 partitions
    const name = await createTopic(base, 12);
    const keys = ['21', 'foobar', 'abc', 'tenant/acme', '', 'user-1', 'a-little-bit-longer-string', 'abc'];
    // Act
    const res = await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: { records: keys.map((key, i) => ({ key, value: `v${i}` })) },
    });
    // Assess
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.json().offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 6, offset: 0 },
      { partition: 3, offset: 0 },
      { partition: 1, offset: 0 },
      { partition: 9, offset: 0 },
      { partition: 8, offset: 0 },
      { partition: 11, offset: 0 },
      { partition: 3, offset: 1 },
    ]);
  });

  it('puts all null-key records of a request on one partition (sticky), and honours explicit partitions', async () => {
    const name = await createTopic(base, 8);
    const res = await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: {
        records: [{ value: 'a' }, { value: 'b', key: null }, { value: 'c' }, { value: 'd', partition: 5 }],
      },
    });
    const offsets = res.json().offsets as { partition: number; offset: number }[];
    expect(new Set(offsets.slice(0, 3).map((o) => o.partition)).size).toBe(1);
    expect(offsets.slice(0, 3).map((o) => o.offset)).toEqual([0, 1, 2]);
    expect(offsets[3]!.partition).toBe(5);
  });

  it('reads records back decoded, with headers and timestamps, skipping those below the offset', async () => {
    const name = await createTopic(base, 1);
    await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: {
        records: [
          { key: 'k1', value: 'hello', headers: { h: 'v', n: null }, timestamp: 1764288000000 },
          { key: null, value: null },
          { value: 'third' },
        ],
      },
    });
    const all = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=0`);
    expect(all.status).toBe(200);
    expect(all.json()).toMatchObject({ highWatermark: 3, logStartOffset: 0, nextOffset: 3 });
    expect(all.json().records[0]).toEqual({
      offset: 0,
      timestamp: 1764288000000,
      key: 'k1',
      value: 'hello',
      headers: { h: 'v', n: null },
    });
    expect(all.json().records[1]).toMatchObject({ offset: 1, key: null, value: null });
    // The one stored batch starts at 0: asking from 2 skips the records below 2.
    const tail = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=2`);
    expect(tail.json().records.map((r: { offset: number }) => r.offset)).toEqual([2]);
    expect(tail.json().nextOffset).toBe(3);
    const atEnd = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=3`);
    expect(atEnd.json()).toEqual({ records: [], highWatermark: 3, logStartOffset: 0, nextOffset: 3 });
  });

  it('carries binary data with encoding=base64 both ways, and refuses non-UTF-8 data in utf8', async () => {
    const name = await createTopic(base, 1);
    const bytes = Buffer.from([0, 255, 128, 10, 0xc3]);
    const res = await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: {
        encoding: 'base64',
        records: [{ key: bytes.toString('base64'), value: bytes.toString('base64') }],
      },
    });
    expect(res.status).toBe(200);
    const read = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=0&encoding=base64`);
    expect(Buffer.from(read.json().records[0].value, 'base64')).toEqual(bytes);
    const utf8 = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=0`);
    expect(utf8.status).toBe(400);
    expect(utf8.json().error.message).toMatch(/encoding=base64/);
  });

  it('stops a JSON fetch before maxBytes and says where to continue', async () => {
    const name = await createTopic(base, 1);
    const value = 'x'.repeat(1000);
    await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: { records: Array.from({ length: 20 }, () => ({ value })) },
    });
    const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=0&maxBytes=5000`);
    expect(res.status).toBe(200);
    expect(res.body.length).toBeLessThanOrEqual(5000);
    const n = res.json().records.length;
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(20);
    expect(res.json().nextOffset).toBe(n);
  });

  it('answers 416 with both bounds for an offset beyond the high-water mark', async () => {
    const name = await createTopic(base, 1);
    const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/records?offset=1`);
    expect(res.status).toBe(416);
    expect(res.json().error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 0,
      highWatermark: 0,
    });
  });

  it('answers 404 for a partition beyond the topic’s count', async () => {
    const name = await createTopic(base, 2);
    const res = await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: { records: [{ value: 'a', partition: 2 }] },
    });
    expect(res.status).toBe(404);
    expect(res.json().error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((await http(base, 'GET', `/v1/topics/${name}/partitions/2/records?offset=0`)).status).toBe(404);
  });
});

describe('Route: binary produce and fetch', () => {
  it('appends RecordBatches and returns them as stored, base offsets stamped', async () => {
    // Prepare
    const name = await createTopic(base, 1);
    const first = batch(['a', 'b', 'c'], { compression: 'lz4' });
    const second = batch(['d'], { compression: 'gzip' });
    // Act
    const p1 = await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: first,
      headers: RECORD_BATCH,
    });
    const p2 = await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: second,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const fetched = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0`, {
      headers: ACCEPT_BATCH,
    });
    // Assess
    expect(p1.json()).toEqual({ baseOffset: 0, lastOffset: 2, duplicate: false });
    expect(p2.json()).toEqual({ baseOffset: 3, lastOffset: 3, duplicate: false });
    expect(fetched.status).toBe(200);
    expect(fetched.headers['content-type']).toBe('application/vnd.kafka.record-batch');
    expect(fetched.headers['x-high-watermark']).toBe('4');
    expect(fetched.headers['x-log-start-offset']).toBe('0');
    expect(fetched.headers['x-next-offset']).toBe('4');
    const stamped = Buffer.from(second);
    stamped.writeBigInt64BE(3n, 0);
    expect(fetched.body).toEqual(Buffer.concat([first, stamped]));
    const decoded = decodeRecordBatches(fetched.body).batches.flatMap((b) =>
      b.records.map((r) => r.value?.toString()),
    );
    expect(decoded).toEqual(['a', 'b', 'c', 'd']);
  });

  it('cuts a fetch at maxBytes on a batch boundary, but always sends the first batch', async () => {
    const name = await createTopic(base, 1);
    const b = batch(['0123456789'.repeat(10)]);
    for (let i = 0; i < 3; i++) {
      await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, { body: b, headers: RECORD_BATCH });
    }
    const two = await http(
      base,
      'GET',
      `/v1/topics/${name}/partitions/0/batches?offset=0&maxBytes=${2 * b.length + 10}`,
      {
        headers: ACCEPT_BATCH,
      },
    );
    expect(two.body.length).toBe(2 * b.length);
    expect(two.headers['x-next-offset']).toBe('2');
    const one = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0&maxBytes=1`, {
      headers: ACCEPT_BATCH,
    });
    expect(one.body.length).toBe(b.length);
    expect(one.headers['x-next-offset']).toBe('1');
  });

  it('waits up to maxWaitMs for data (long poll) and answers empty at the high-water mark', async () => {
    const name = await createTopic(base, 1);
    const started = Date.now();
    const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0&maxWaitMs=300`, {
      headers: ACCEPT_BATCH,
    });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(res.headers['x-high-watermark']).toBe('0');
  });

  it('answers 406 with the Accept to send, never base64 under a binary type, unless the first Accept type is binary', async () => {
    const name = await createTopic(base, 1);
    const b = batch(['z']);
    await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, { body: b, headers: RECORD_BATCH });
    const accepts: Record<string, string>[] = [
      {},
      { accept: '*/*' },
      { accept: 'application/json, application/vnd.kafka.record-batch' },
    ];
    for (const headers of accepts) {
      const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0`, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(406);
      expect(res.headers['content-type']).toBe('application/json');
      expect(res.json().error).toMatchObject({
        code: 'NOT_ACCEPTABLE',
        accept: 'application/vnd.kafka.record-batch',
        message: expect.stringMatching(
          /send the header Accept: application\/vnd\.kafka\.record-batch .*for JSON, use GET \/v1\/topics\/.*\/partitions\/0\/records/,
        ),
      });
    }
    const bytes = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0`, {
      headers: ACCEPT_BATCH,
    });
    expect(bytes.status).toBe(200);
    expect(bytes.body.subarray(8)).toEqual(b.subarray(8));
    // The multi-partition fetch too.
    const framed = await http(base, 'POST', '/v1/fetch', {
      body: encodeFetchRequest({ partitions: [{ topic: name, partition: 0, offset: 0 }] }),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect([framed.status, framed.json().error.code]).toEqual([406, 'NOT_ACCEPTABLE']);
  });

  it('answers 416 with both bounds in the body', async () => {
    const name = await createTopic(base, 1);
    await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: batch(['a']),
      headers: RECORD_BATCH,
    });
    const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=2`, {
      headers: ACCEPT_BATCH,
    });
    expect(res.status).toBe(416);
    expect(res.json().error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 0,
      highWatermark: 1,
    });
  });

  it('stores an idempotent producer’s retry once and answers the first offsets', async () => {
    const name = await createTopic(base, 1);
    const b = encodeRecordBatch([{ value: Buffer.from('once') }], {
      producerId: 7,
      producerEpoch: 0,
      baseSequence: 0,
    });
    const first = await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: b,
      headers: RECORD_BATCH,
    });
    const retry = await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: b,
      headers: RECORD_BATCH,
    });
    expect(first.json()).toEqual({ baseOffset: 0, lastOffset: 0, duplicate: false });
    expect(retry.status).toBe(200);
    expect(retry.json()).toMatchObject({ baseOffset: 0, lastOffset: 0, duplicate: true });
    const gap = encodeRecordBatch([{ value: Buffer.from('gap') }], {
      producerId: 7,
      producerEpoch: 0,
      baseSequence: 5,
    });
    const res = await http(base, 'POST', `/v1/topics/${name}/partitions/0/batches`, {
      body: gap,
      headers: RECORD_BATCH,
    });
    expect(res.status).toBe(409);
    expect(res.json().error.code).toBe('OUT_OF_ORDER_SEQUENCE');
  });
});

describe('Route: offsets', () => {
  it('looks up earliest, latest and by timestamp', async () => {
    const name = await createTopic(base, 1);
    await http(base, 'POST', `/v1/topics/${name}/records`, {
      body: { records: [1000, 2000, 3000].map((timestamp) => ({ value: String(timestamp), timestamp })) },
    });
    const at = async (spec: string) =>
      (await http(base, 'GET', `/v1/topics/${name}/partitions/0/offsets?at=${spec}`)).json();
    expect(await at('earliest')).toMatchObject({ offset: 0 });
    expect(await at('latest')).toMatchObject({ offset: 3 });
    expect(await at('1500')).toMatchObject({ offset: 1, timestamp: 2000 });
    expect(await at('0')).toMatchObject({ offset: 0, timestamp: 1000 });
    expect(await at('9999')).toMatchObject({ offset: 3 });
  });

  it('rejects a bad at', async () => {
    const name = await createTopic(base, 1);
    for (const spec of ['', 'newest', '1e3', '-1', '0x10', '9007199254740992']) {
      const res = await http(base, 'GET', `/v1/topics/${name}/partitions/0/offsets?at=${spec}`);
      expect(res.status, spec).toBe(400);
      expect(res.json().error.code).toBe('INVALID_REQUEST');
    }
    expect((await http(base, 'GET', `/v1/topics/${name}/partitions/0/offsets`)).status).toBe(400);
  });
});

describe('Route: multi-partition produce and fetch (binary framing)', () => {
  it('produces to several partitions of several topics and fetches them back in one request each', async () => {
    // Prepare
    const a = await createTopic(base, 2);
    const b = await createTopic(base, 1);
    const body = encodeProduceRequest([
      { topic: a, partition: 0, batches: batch(['a0', 'a1']) },
      { topic: a, partition: 1, batches: batch(['a2'], { compression: 'lz4' }) },
      { topic: b, partition: 0, batches: batch(['b0']) },
    ]);
    // Act
    const produced = await http(base, 'POST', '/v1/produce', { body, headers: OCTET });
    // Assess
    expect(produced.status, produced.body.toString()).toBe(200);
    expect(produced.headers['content-type']).toBe('application/octet-stream');
    const results = decodeProduceResponse(produced.body);
    expect(results).toEqual([
      { topic: a, partition: 0, baseOffset: 0, lastOffset: 1, duplicate: false },
      { topic: a, partition: 1, baseOffset: 0, lastOffset: 0, duplicate: false },
      { topic: b, partition: 0, baseOffset: 0, lastOffset: 0, duplicate: false },
    ]);
    // An unknown partition anywhere fails the whole request before anything is written.
    const unknown = await http(base, 'POST', '/v1/produce', {
      body: encodeProduceRequest([
        { topic: b, partition: 0, batches: batch(['b1']) },
        { topic: b, partition: 3, batches: batch(['none']) },
      ]),
      headers: OCTET,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json().error.code).toBe('UNKNOWN_TOPIC_OR_PARTITION');

    const fetched = await http(base, 'POST', '/v1/fetch', {
      body: encodeFetchRequest({
        partitions: [
          { topic: a, partition: 0, offset: 1 },
          { topic: a, partition: 1, offset: 0 },
          { topic: b, partition: 0, offset: 5 },
        ],
        maxWaitMs: 0,
      }),
      headers: OCTET,
    });
    expect(fetched.status).toBe(200);
    const parts = decodeFetchResponse(fetched.body);
    expect(parts.map((p) => [p.topic, p.partition, p.highWatermark, p.nextOffset])).toEqual([
      [a, 0, 2, 2],
      [a, 1, 1, 1],
      [b, 0, 1, 5],
    ]);
    const values = (buf: Buffer) =>
      decodeRecordBatches(buf).batches.flatMap((x) => x.records.map((r) => r.value?.toString()));
    expect(values(parts[0]!.records)).toEqual(['a0', 'a1']);
    expect(values(parts[1]!.records)).toEqual(['a2']);
    expect(parts[2]!.error?.code).toBe('OFFSET_OUT_OF_RANGE');
    expect(parts[2]!.error?.details).toMatchObject({ logStartOffset: 0, highWatermark: 1 });
  });

  it('keeps a framed fetch answer within maxBytes, framing included', async () => {
    const name = await createTopic(base, 2);
    const b = batch(['x'.repeat(400)]);
    for (let i = 0; i < 4; i++) {
      await http(base, 'POST', '/v1/produce', {
        body: encodeProduceRequest([
          { topic: name, partition: 0, batches: b },
          { topic: name, partition: 1, batches: b },
        ]),
        headers: OCTET,
      });
    }
    const maxBytes = 3 * b.length + 200;
    const res = await http(base, 'POST', '/v1/fetch', {
      body: encodeFetchRequest({
        partitions: [
          { topic: name, partition: 0, offset: 0 },
          { topic: name, partition: 1, offset: 0 },
        ],
        maxBytes,
      }),
      headers: OCTET,
    });
    expect(res.body.length).toBeLessThanOrEqual(maxBytes);
    const parts = decodeFetchResponse(res.body);
    expect(parts[0]!.records.length + parts[1]!.records.length).toBe(3 * b.length);
    expect(parts[0]!.nextOffset).toBe(3);
    expect(parts[1]!.nextOffset).toBe(0);
  });

  it('rejects malformed frames and bad framed values with 400, writing nothing', async () => {
    const name = await createTopic(base, 1);
    const good = encodeProduceRequest([{ topic: name, partition: 0, batches: batch(['x']) }]);
    const fetchBody = (offset: bigint) => {
      const buf = encodeFetchRequest({ partitions: [{ topic: name, partition: 0, offset: 0 }] });
      buf.writeBigInt64BE(offset, buf.length - 12);
      return buf;
    };
    const cases: [string, string, Buffer, number, string][] = [
      ['/v1/produce', 'truncated', good.subarray(0, good.length - 1), 400, 'INVALID_REQUEST'],
      ['/v1/produce', 'trailing bytes', Buffer.concat([good, Buffer.from([0])]), 400, 'INVALID_REQUEST'],
      [
        '/v1/produce',
        'bad magic',
        Buffer.concat([Buffer.from('XX'), good.subarray(2)]),
        400,
        'INVALID_REQUEST',
      ],
      ['/v1/produce', 'a fetch frame', fetchBody(0n), 400, 'INVALID_REQUEST'],
      ['/v1/produce', 'empty', Buffer.alloc(0), 400, 'INVALID_REQUEST'],
      ['/v1/fetch', 'negative offset', fetchBody(-1n), 400, 'INVALID_REQUEST'],
      ['/v1/fetch', 'offset 2^53', fetchBody(2n ** 53n), 400, 'INVALID_REQUEST'],
    ];
    for (const [path, what, body, status, code] of cases) {
      const res = await http(base, 'POST', path, { body, headers: OCTET });
      expect(res.status, what).toBe(status);
      expect(res.json().error.code, what).toBe(code);
    }
    const badTopic = encodeProduceRequest([{ topic: '..', partition: 0, batches: batch(['x']) }]);
    expect(
      (await http(base, 'POST', '/v1/produce', { body: badTopic, headers: OCTET })).json().error.code,
    ).toBe('INVALID_TOPIC');
    const tooLong = encodeFetchRequest({
      partitions: [{ topic: name, partition: 0, offset: 0 }],
      maxWaitMs: 20_001,
    });
    const res = await http(base, 'POST', '/v1/fetch', { body: tooLong, headers: OCTET });
    expect(res.json().error.message).toBe('maxWaitMs must be ≤ 20000, but 20001 was provided');
    const json = await http(base, 'POST', '/v1/produce', {
      body: good,
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(415);
    expect((await http(base, 'GET', `/v1/topics/${name}`)).json().partitions[0].highWatermark).toBe(0);
  });
});

describe('Route table: unknown routes and methods', () => {
  it('answers 404 NOT_FOUND and 405 METHOD_NOT_ALLOWED', async () => {
    const missing = await http(base, 'GET', '/v1/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('NOT_FOUND');
    const method = await http(base, 'PUT', '/v1/topics');
    expect(method.status).toBe(405);
    expect(method.json().error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', allowed: ['POST', 'GET'] });
  });

  it('rejects unknown and repeated query parameters', async () => {
    const name = await createTopic(base, 1);
    const unknown = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0&ofset=1`);
    expect(unknown.status).toBe(400);
    expect(unknown.json().error.message).toMatch(/unknown query parameter "ofset"/);
    const twice = await http(base, 'GET', `/v1/topics/${name}/partitions/0/batches?offset=0&offset=1`);
    expect(twice.status).toBe(400);
    expect((await http(base, 'GET', '/v1/topics?x=1')).status).toBe(400);
  });

  it('enforces the fetch limits with messages that state the limit and the value', async () => {
    const name = await createTopic(base, 1);
    const path = `/v1/topics/${name}/partitions/0/batches?offset=0`;
    const cases: [string, string][] = [
      [`&maxBytes=${API_LIMITS.maxFetchBytes + 1}`, `maxBytes must be ≤ 4194304, but "4194305" was provided`],
      ['&maxBytes=0', 'maxBytes must be an integer from 1 to 4194304, but "0" was provided'],
      ['&maxWaitMs=20001', 'maxWaitMs must be ≤ 20000, but "20001" was provided'],
    ];
    for (const [query, message] of cases) {
      const res = await http(base, 'GET', path + query);
      expect(res.status).toBe(400);
      expect(res.json().error.message).toBe(message);
    }
  });
});
