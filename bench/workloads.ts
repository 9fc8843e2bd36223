/**
 * Deterministic, seeded event generators for benchmarks: the same seed gives the same events, byte for
 * byte, on every machine. Sizes are the typical serialized JSON size; each event varies around it.
 *
 *   jsonEvent     ~200 B   a generic application event (the codec benchmark's workload)
 *   webAccessLog  ~300 B   an HTTP access log line as JSON, keyed by client IP
 *   iotReading    ~120 B   a sensor reading, keyed by device id
 *   orderEvent    ~800 B   a nested order with line items, keyed by order id
 */

export type WorkloadName = 'jsonEvent' | 'webAccessLog' | 'iotReading' | 'orderEvent';

export interface BenchEvent {
  readonly key: Buffer;
  readonly value: Buffer;
}

export interface Workload {
  readonly name: WorkloadName;
  readonly description: string;
  /** Typical size of one event's value, in bytes. */
  readonly approxValueBytes: number;
  next(random: Random): { key: string; value: unknown };
}

/** mulberry32: a tiny, fast, seedable PRNG returning numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  private readonly source: () => number;

  constructor(seed: number) {
    this.source = mulberry32(seed);
  }

  float(): number {
    return this.source();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.source() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.source() * items.length)]!;
  }

  hex(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += '0123456789abcdef'[Math.floor(this.source() * 16)];
    return s;
  }
}

const BASE_TIME = Date.UTC(2026, 0, 15, 9, 0, 0);
const PATHS = ['/', '/login', '/api/v1/orders', '/api/v1/orders/{id}', '/static/app.js', '/search', '/cart'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = [200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 500];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1',
  'curl/8.5.0',
];
const EVENT_TYPES = ['page_view', 'click', 'signup', 'add_to_cart', 'checkout_started', 'search'];
const SKUS = ['SKU-1001', 'SKU-1002', 'SKU-2040', 'SKU-3300', 'SKU-4711', 'SKU-5150', 'SKU-9000'];
const CURRENCIES = ['EUR', 'USD', 'GBP'];
const COUNTRIES = ['FR', 'DE', 'US', 'GB', 'ES', 'IT', 'NL'];

export const WORKLOADS: Record<WorkloadName, Workload> = {
  jsonEvent: {
    name: 'jsonEvent',
    description: 'generic application event, ~200 B JSON',
    approxValueBytes: 200,
    next: (r) => {
      const user = `user-${r.int(1, 50_000)}`;
      return {
        key: user,
        value: {
          id: r.hex(12),
          type: r.pick(EVENT_TYPES),
          userId: user,
          sessionId: r.hex(8),
          ts: new Date(BASE_TIME + r.int(0, 86_400_000)).toISOString(),
          page: r.pick(PATHS),
          country: r.pick(COUNTRIES),
          durationMs: r.int(1, 5000),
          app: { version: `4.${r.int(0, 20)}.${r.int(0, 9)}`, platform: r.pick(['web', 'ios', 'android']) },
        },
      };
    },
  },
  webAccessLog: {
    name: 'webAccessLog',
    description: 'HTTP access log line, ~300 B JSON',
    approxValueBytes: 300,
    next: (r) => {
      const ip = `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
      return {
        key: ip,
        value: {
          time: new Date(BASE_TIME + r.int(0, 86_400_000)).toISOString(),
          remoteAddr: ip,
          host: 'shop.example.com',
          protocol: 'HTTP/1.1',
          method: r.pick(METHODS),
          path: r.pick(PATHS).replace('{id}', String(r.int(1, 99_999))),
          status: r.pick(STATUSES),
          bytes: r.int(120, 250_000),
          durationMs: r.int(1, 2500),
          referer: r.float() < 0.5 ? 'https://example.com/' : null,
          userAgent: r.pick(AGENTS),
          requestId: r.hex(16),
        },
      };
    },
  },
  iotReading: {
    name: 'iotReading',
    description: 'sensor reading, ~120 B JSON',
    approxValueBytes: 120,
    next: (r) => {
      const device = `dev-${r.int(1, 5000).toString().padStart(5, '0')}`;
      return {
        key: device,
        value: {
          device,
          ts: BASE_TIME + r.int(0, 86_400_000),
          tempC: Math.round((15 + r.float() * 20) * 100) / 100,
          humidity: Math.round(r.float() * 10_000) / 100,
          battery: r.int(5, 100),
          pressureHpa: Math.round((990 + r.float() * 40) * 10) / 10,
          rssi: -r.int(40, 95),
        },
      };
    },
  },
  orderEvent: {
    name: 'orderEvent',
    description: 'order with line items and addresses, ~800 B nested JSON',
    approxValueBytes: 800,
    next: (r) => {
      const orderId = `ord-${r.hex(10)}`;
      const items = Array.from({ length: r.int(1, 5) }, () => ({
        sku: r.pick(SKUS),
        quantity: r.int(1, 5),
        unitPrice: r.int(199, 19_999) / 100,
      }));
      const address = () => ({
        street: `${r.int(1, 200)} Rue de la Paix`,
        city: r.pick(['Paris', 'Berlin', 'Austin', 'London', 'Madrid']),
        postcode: String(r.int(10_000, 99_999)),
        country: r.pick(COUNTRIES),
      });
      return {
        key: orderId,
        value: {
          type: 'OrderPlaced',
          orderId,
          customer: {
            id: `cust-${r.int(1, 100_000)}`,
            email: `c${r.int(1, 100_000)}@example.com`,
            tier: r.pick(['standard', 'gold']),
          },
          items,
          total: Math.round(items.reduce((s, i) => s + i.quantity * i.unitPrice, 0) * 100) / 100,
          currency: r.pick(CURRENCIES),
          shipping: address(),
          billing: address(),
          placedAt: new Date(BASE_TIME + r.int(0, 86_400_000)).toISOString(),
          channel: r.pick(['web', 'ios', 'android']),
          payment: {
            method: r.pick(['card', 'paypal', 'transfer']),
            last4: String(r.int(1000, 9999)),
            authId: r.hex(20),
          },
          status: { code: 'PLACED', reason: null, updatedBy: 'checkout-service', attempt: r.int(1, 3) },
          metadata: { campaign: r.pick(['spring', 'none', 'newsletter']), traceId: r.hex(32) },
        },
      };
    },
  },
};

/** `count` events of a workload, the same for the same seed. */
export function generateEvents(name: WorkloadName, count: number, seed = 42): BenchEvent[] {
  const workload = WORKLOADS[name];
  const random = new Random(seed);
  const events: BenchEvent[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const { key, value } = workload.next(random);
    events[i] = { key: Buffer.from(key), value: Buffer.from(JSON.stringify(value)) };
  }
  return events;
}
