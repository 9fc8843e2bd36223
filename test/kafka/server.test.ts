/**
 * The protocol server alone (no storage): dispatch, ordering of answers, handler failures, idle and
 * in-flight limits, over real sockets on 127.0.0.1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/api/services';
import { crc32c } from '../../shared/codec/crc32c';
import { encodeRecordBatch } from '../../shared/codec/record-batch';
import { apiVersions } from '../../shared/kafka/apis/api-versions';
import type { KafkaApi, ListenerContext } from '../../shared/kafka/apis/types';
import { encodeEmptyBatch, nextOffsetAfter } from '../../shared/kafka/batches';
import { KafkaApiError } from '../../shared/kafka/protocol/errors';
import { KafkaServer, type KafkaServerEvent, type KafkaServerOptions } from '../../shared/kafka/server';
import { TcpTransport } from '../../shared/kafka/transport';
import { RawKafkaConnection, requestFrame } from './support';

/** A test API (key 1000): answers its int32 after waiting that many ms; negative: throws. */
const echo: KafkaApi<{ wait: number; fail: boolean }, { value: number; errorCode: number }> = {
  key: 1000,
  name: 'Echo',
  minVersion: 0,
  maxVersion: 1,
  flexibleFrom: 1,
  decode: (r) => {
    const wait = r.int32();
    r.taggedFields();
    return { wait, fail: wait < 0 };
  },
  async handle(req) {
    if (req.fail) throw new KafkaApiError('POLICY_VIOLATION');
    await new Promise((r) => setTimeout(r, req.wait));
    return { value: req.wait, errorCode: 0 };
  },
  encode: (w, res) => {
    w.int16(res.errorCode).int32(res.value).taggedFields();
  },
  errorResponse: (_req, errorCode) => ({ value: -1, errorCode }),
};

/** Key 1001: a handler that throws, with no generic error: the server closes the connection. */
const broken: KafkaApi<null, null> = {
  key: 1001,
  name: 'Broken',
  minVersion: 0,
  maxVersion: 0,
  flexibleFrom: Number.POSITIVE_INFINITY,
  decode: () => null,
  handle: async () => {
    throw new Error('boom');
  },
  encode: () => {},
};

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function serve(options: KafkaServerOptions = {}) {
  const events: KafkaServerEvent[] = [];
  const context: ListenerContext = {
    services: {} as Services,
    nodeId: 0,
    advertised: { host: '127.0.0.1', port: 0 },
    clusterId: 'test',
    now: Date.now,
    apis: [apiVersions, echo, broken],
    produce: { produce: async () => [] },
  };
  const server = new KafkaServer(context, { ...options, log: (e) => events.push(e) });
  const transport = new TcpTransport();
  const { port } = await transport.listen('127.0.0.1', 0, (s) => server.accept(s));
  stop = async () => {
    await transport.close();
    server.closeAll();
  };
  return { port, events, server };
}

const echoFrame = (id: number, wait: number, version = 0) =>
  requestFrame(1000, version, id, (w) => w.int32(wait).taggedFields(), { flexible: version >= 1 });

describe('Class: KafkaServer', () => {
  it('answers pipelined requests in request order even when later ones finish first', async () => {
    const { port } = await serve();
    const c = await RawKafkaConnection.connect(port);
    c.write(Buffer.concat([echoFrame(1, 60), echoFrame(2, 0), echoFrame(3, 30, 1)]));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await c.next()).readInt32BE(0));
    expect(ids).toEqual([1, 2, 3]);
    c.close();
  });

  it('answers a handler failure with the API’s generic error, or closes the connection when it has none', async () => {
    const { port, events } = await serve();
    const c = await RawKafkaConnection.connect(port);
    c.write(echoFrame(7, -1));
    const frame = await c.next();
    expect([frame.readInt32BE(0), frame.readInt16BE(4)]).toEqual([7, 44]); // POLICY_VIOLATION
    c.write(requestFrame(1001, 0, 8, () => {}));
    await c.closed;
    expect(events.some((e) => e.type === 'handler-error' && e.api === 'Broken')).toBe(true);
    const other = await RawKafkaConnection.connect(port);
    other.write(echoFrame(9, 0));
    expect((await other.next()).readInt32BE(0)).toBe(9);
    other.close();
  });

  it('closes idle connections, but not one waiting for an answer', async () => {
    const { port } = await serve({ idleMs: 150 });
    const idle = await RawKafkaConnection.connect(port);
    const busy = await RawKafkaConnection.connect(port);
    busy.write(echoFrame(1, 400));
    await idle.closed;
    expect((await busy.next()).readInt32BE(0)).toBe(1);
    busy.close();
  });

  it('stops reading a connection at maxInFlight requests and resumes as answers go out', async () => {
    const { port } = await serve({ maxInFlight: 2 });
    const c = await RawKafkaConnection.connect(port);
    c.write(Buffer.concat(Array.from({ length: 6 }, (_, i) => echoFrame(i, 20))));
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await c.next()).readInt32BE(0));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5]);
    c.close();
  });
});

describe('Empty batches over offsets without records', () => {
  it('covers a gap with a valid batch of no records that clients skip', () => {
    const three = encodeRecordBatch(
      [{ value: Buffer.from('a') }, { value: Buffer.from('b') }, { value: Buffer.from('c') }],
      {
        compression: 'none',
        baseOffset: 5,
      },
    );
    expect(nextOffsetAfter(three)).toBe(8);
    expect(nextOffsetAfter(Buffer.alloc(0))).toBeUndefined();
    const gap = encodeEmptyBatch(8, 4);
    expect(gap.readUInt32BE(17)).toBe(crc32c(gap, 21, gap.length));
    expect([gap.readInt8(16), gap.readInt32BE(57), gap.readInt32BE(8) + 12]).toEqual([2, 0, gap.length]);
    expect(nextOffsetAfter(Buffer.concat([three, gap]))).toBe(12);
  });
});

describe('Back-pressure', () => {
  it('answers all 20,000 requests of a client that stopped reading its answers for a while', async () => {
    const { port } = await serve({ maxInFlight: 4 });
    const c = await RawKafkaConnection.connect(port);
    c.socket.pause(); // a client that stops reading
    const big = requestFrame(18, 0, 1, () => {});
    // Enough requests that unread answers would fill the socket buffers many times over.
    const frames = Buffer.concat(Array.from({ length: 20_000 }, () => big));
    c.write(frames);
    await new Promise((r) => setTimeout(r, 300));
    c.socket.resume();
    let answered = 0;
    while (answered < 20_000) {
      await c.next(10_000);
      answered++;
    }
    expect(answered).toBe(20_000);
    c.close();
  });
});
