/** Types for the parts of `snappyjs` 0.7 (pure-JS Snappy, raw format) that the codec uses. */
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}
