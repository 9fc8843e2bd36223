/**
 * Kafka's topic ids are 16-byte UUIDs; Sluice's are ULIDs, which are 128 bits too (26 Crockford
 * base32 characters, the first carrying 3 bits). The two convert both ways without loss, so Kafka
 * clients see a stable id that changes when a topic is deleted and created again.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const ZERO_UUID = Buffer.alloc(16);

export function topicIdToUuid(ulid: string): Buffer {
  let n = 0n;
  for (const ch of ulid.toUpperCase()) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new RangeError(`Not a ULID: ${ulid}`);
    n = (n << 5n) | BigInt(v);
  }
  const out = Buffer.alloc(16);
  out.writeBigUInt64BE(BigInt.asUintN(64, n >> 64n), 0);
  out.writeBigUInt64BE(BigInt.asUintN(64, n), 8);
  return out;
}

export function uuidToTopicId(uuid: Buffer): string {
  let n = (uuid.readBigUInt64BE(0) << 64n) | uuid.readBigUInt64BE(8);
  let s = '';
  for (let i = 0; i < 26; i++) {
    s = ALPHABET[Number(n & 31n)]! + s;
    n >>= 5n;
  }
  return s;
}
