// lz4js 0.2.0 ships no type declarations; these cover what shared/codec/lz4.ts uses.
declare module 'lz4js' {
  /** Compresses src[sIndex, sIndex + sLength) into dst from index 0; returns the size, or 0 if nothing matched. */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
}

declare module 'lz4js/xxh32.js' {
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
