import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_APIS } from '../../shared/kafka/apis/index';
import { type KafkaTestStack, RawKafkaConnection, startKafkaTestStack } from './support';

let kafka: KafkaTestStack;
beforeAll(async () => {
  kafka = await startKafkaTestStack();
});
afterAll(async () => {
  await kafka?.stop();
});

function readApiKeys(r: import('../../shared/kafka/protocol/reader').KafkaReader) {
  return r.array((r) => {
    const entry = { apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() };
    r.taggedFields();
    return entry;
  });
}

describe('API: ApiVersions', () => {
  it('advertises exactly KAFKA_APIS at v0–v3, classic and flexible', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const expected = KAFKA_APIS.map((a) => ({
      apiKey: a.key,
      minVersion: a.minVersion,
      maxVersion: a.maxVersion,
    })).sort((a, b) => a.apiKey - b.apiKey);
    for (const version of [0, 1, 2, 3]) {
      const flexible = version >= 3;
      const { body } = await c.request(
        18,
        version,
        (w) => {
          if (flexible) w.string('sluice-test').string('1.0').taggedFields();
        },
        // ApiVersions answers with response header v0 even when flexible
        { flexible, responseHeaderV1: false },
      );
      expect(body.int16()).toBe(0);
      expect(readApiKeys(body)).toEqual(expected);
      if (version >= 1) expect(body.int32()).toBe(0);
      body.taggedFields();
      expect(body.remaining).toBe(0);
    }
    c.close();
  });

  it('answers an unsupported ApiVersions version with UNSUPPORTED_VERSION and the list, at v0', async () => {
    const c = await RawKafkaConnection.connect(kafka.port);
    const { correlationId, body } = await c.request(18, 9, (w) => w.string('x').string('y').taggedFields(), {
      flexible: true,
      responseHeaderV1: false,
    });
    expect(correlationId).not.toBe(-1);
    const classic = body.withFlexible(false);
    expect(classic.int16()).toBe(35);
    expect(readApiKeys(classic).some((k) => k.apiKey === 18 && k.maxVersion === 3)).toBe(true);
    expect(classic.remaining).toBe(0);
    c.close();
  });
});
