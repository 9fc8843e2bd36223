/**
 * The two copies of an LZ77 decoder, shared by the LZ4 and Snappy block decoders: a run of literal
 * bytes from the input, and a match that repeats bytes already decoded. Callers check every bound
 * first; these only copy.
 */

/**
 * A block decoder: decodes `src[sPos, sEnd)` into `dst[dStart, dEnd)` with every length and offset
 * bounds-checked, and returns the bytes written, or −1 when the input is malformed or does not fit.
 */
export type BlockDecoder = (
  src: Uint8Array,
  sPos: number,
  sEnd: number,
  dst: Uint8Array,
  dStart: number,
  dEnd: number,
) => number;

/** Copies `length` literal bytes from `src[sPos]` to `dst[dPos]`; short runs byte by byte (cheaper than set()). */
export function copyLiterals(
  src: Uint8Array,
  sPos: number,
  dst: Uint8Array,
  dPos: number,
  length: number,
): void {
  if (length < 32) {
    for (let i = 0; i < length; i++) dst[dPos + i] = src[sPos + i]!;
  } else {
    dst.set(src.subarray(sPos, sPos + length), dPos);
  }
}

/** Copies `length` bytes from `offset` bytes back in `dst` to `dst[dPos]`; returns the position after them. */
export function copyMatch(dst: Uint8Array, dPos: number, offset: number, length: number): number {
  let from = dPos - offset;
  if (offset >= length && length >= 32) {
    dst.copyWithin(dPos, from, from + length);
    return dPos + length;
  }
  // Overlapping copies repeat the last `offset` bytes, so they go byte by byte.
  const stop = dPos + length;
  while (dPos < stop) dst[dPos++] = dst[from++]!;
  return dPos;
}
