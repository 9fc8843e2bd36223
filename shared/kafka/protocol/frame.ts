/**
 * Frames on a Kafka connection (https://kafka.apache.org/protocol#protocol_common):
 *
 *   RequestOrResponse => Size int32, Message bytes{Size}
 *
 * The decoder cuts a byte stream into whole frames. A size below the smallest request header or above
 * the listener's limit is a protocol error: the connection is closed without reading the body, as
 * Kafka does when a frame exceeds socket.request.max.bytes.
 */
import { KafkaProtocolError } from './reader';

/** Largest request frame the listener reads: a full produce request (4 MiB of batches) and its framing. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** ApiKey int16, ApiVersion int16, CorrelationId int32, ClientId length int16. */
const MIN_FRAME_BYTES = 10;

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Part of a frame has arrived and the rest has not. */
  get midFrame(): boolean {
    return this.buffered > 0;
  }

  /** Takes the next bytes from the socket; returns the frames they complete (without size prefixes). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      const head = this.peek(4);
      const size = head.readInt32BE(0);
      if (size < MIN_FRAME_BYTES || size > this.maxFrameBytes) {
        throw new KafkaProtocolError(
          `Frame size ${size} is outside ${MIN_FRAME_BYTES}..${this.maxFrameBytes} bytes`,
        );
      }
      if (this.buffered < 4 + size) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      frames.push(all.subarray(4, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }
}
