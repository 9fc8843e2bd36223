import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { SluiceError } from '../errors';
import type { SegmentStore, StoredObject } from '../log/ports';
import { translateAwsError } from './errors';

export type { SegmentStore, StoredObject };

export class S3SegmentStore implements SegmentStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Buffer): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/vnd.kafka.record-batch',
        }),
      );
    } catch (err) {
      translateAwsError(err, 'S3 PutObject');
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Buffer> {
    let bytes: Buffer;
    try {
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }),
      );
      bytes = Buffer.from(await response.Body!.transformToByteArray());
    } catch (err) {
      translateAwsError(err, 'S3 GetObject');
    }
    // A body cut short by a reset must never be returned as a batch (reliability F8).
    if (bytes.length !== end - start) {
      throw new SluiceError(
        'STORAGE_UNAVAILABLE',
        `S3 GetObject returned ${bytes.length} bytes of ${key}, expected ${end - start}`,
      );
    }
    return bytes;
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<StoredObject> {
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
          }),
        );
      } catch (err) {
        translateAwsError(err, 'S3 ListObjectsV2');
      }
      for (const item of page.Contents ?? []) {
        if (item.Key) {
          yield { key: item.Key, size: item.Size ?? 0, lastModified: item.LastModified?.getTime() ?? 0 };
        }
      }
      token = page.NextContinuationToken;
    } while (token);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      try {
        await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (err) {
        translateAwsError(err, 'S3 DeleteObjects');
      }
    }
  }
}
