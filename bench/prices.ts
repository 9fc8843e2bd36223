/**
 * AWS list prices used by the cost model, in one place: US East (N. Virginia), on-demand, first pricing
 * tier, no free tier, no discounts. Dollars. "GB" is what AWS bills as a GB (2^30 bytes).
 *
 * Checked on PRICES_CHECKED. Each price names its source. "verified" means the number was read in the
 * provider's own page or blog, or in a verbatim transcription of it; "unverified" means it was found only
 * in secondary sources that agree with each other, and should be checked on the page before it is quoted.
 * Prices change: re-check them before a decision, and update the date.
 */

export const PRICES_CHECKED = '2026-11-28';
export const PRICES_REGION = 'us-east-1';

export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
  readonly verified: boolean;
}

const price = (usd: number, unit: string, source: string, verified: boolean): Price => ({
  usd,
  unit,
  source,
  verified,
});

export const PRICES = {
  // https://aws.amazon.com/s3/pricing/ — S3 Standard (read in a transcription of the page's tables)
  s3PutPer1k: price(0.005, 'per 1,000 PUT/COPY/POST/LIST', 'https://aws.amazon.com/s3/pricing/', true),
  s3GetPer1k: price(0.0004, 'per 1,000 GET', 'https://aws.amazon.com/s3/pricing/', true),
  s3StorageGbMonth: price(0.023, 'per GB-month, first 50 TB', 'https://aws.amazon.com/s3/pricing/', true),

  // https://aws.amazon.com/dynamodb/pricing/on-demand/ — after the November 2024 cut (was $1.25 / $0.25);
  // several independent write-ups dated 2026 quote these, citing the page.
  dynamoWruPerMillion: price(
    0.625,
    'per million write request units',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    true,
  ),
  dynamoRruPerMillion: price(
    0.125,
    'per million read request units',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    true,
  ),
  dynamoStorageGbMonth: price(
    0.25,
    'per GB-month (Standard table class; first 25 GB free)',
    'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    false,
  ),

  // https://aws.amazon.com/lambda/pricing/ — Arm (Graviton); the functions are ARM_64 (cdk/sluice-construct.ts)
  lambdaArmGbSecond: price(
    0.0000133334,
    'per GB-second (arm64, first 7.5 billion GB-s)',
    'https://aws.amazon.com/lambda/pricing/',
    false,
  ),
  lambdaRequestPerMillion: price(0.2, 'per million requests', 'https://aws.amazon.com/lambda/pricing/', true),

  // https://aws.amazon.com/api-gateway/pricing/ — REST APIs, first 333 million requests per month
  apiGatewayRestPerMillion: price(
    3.5,
    'per million REST API requests (first 333 M)',
    'https://aws.amazon.com/api-gateway/pricing/',
    false,
  ),

  // https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer — to the internet, after the first 100 GB
  // free per month; within the region (consumers on EC2/Lambda in us-east-1) it is free.
  dataTransferOutGb: price(
    0.09,
    'per GB out to the internet (first 10 TB tier)',
    'https://aws.amazon.com/ec2/pricing/on-demand/',
    false,
  ),

  // https://aws.amazon.com/kinesis/data-streams/pricing/ — On-demand Standard. Stream-hour and ingest are
  // quoted in AWS's own blog "Kinesis On-demand Advantage saves 60%+ on streaming costs" (2026-03-09,
  // https://aws.amazon.com/blogs/big-data/kinesis-on-demand-advantage-saves-60-on-streaming-costs/),
  // which also says each record is billed rounded up to 1 KB.
  kinesisOnDemandStreamHour: price(
    0.04,
    'per stream-hour',
    'https://aws.amazon.com/kinesis/data-streams/pricing/',
    true,
  ),
  kinesisOnDemandIngestGb: price(
    0.08,
    'per GB written (records rounded up to 1 KB)',
    'https://aws.amazon.com/kinesis/data-streams/pricing/',
    true,
  ),
  kinesisOnDemandRetrievalGb: price(
    0.04,
    'per GB read (shared-throughput consumers)',
    'https://aws.amazon.com/kinesis/data-streams/pricing/',
    false,
  ),

  // Provisioned mode: a shard takes 1 MB/s or 1,000 records/s in, 2 MB/s out shared by its consumers.
  kinesisShardHour: price(
    0.015,
    'per shard-hour',
    'https://aws.amazon.com/kinesis/data-streams/pricing/',
    false,
  ),
  kinesisPutUnitPerMillion: price(
    0.014,
    'per million PUT payload units (25 KB each)',
    'https://aws.amazon.com/kinesis/data-streams/pricing/',
    false,
  ),

  // https://aws.amazon.com/msk/pricing/ — MSK Serverless; the same five numbers in several independent
  // transcriptions of the page (2022 to 2026), not read on the page itself.
  mskServerlessClusterHour: price(0.75, 'per cluster-hour', 'https://aws.amazon.com/msk/pricing/', false),
  mskServerlessPartitionHour: price(
    0.0015,
    'per partition-hour',
    'https://aws.amazon.com/msk/pricing/',
    false,
  ),
  mskServerlessInGb: price(0.1, 'per GB written', 'https://aws.amazon.com/msk/pricing/', false),
  mskServerlessOutGb: price(0.05, 'per GB read', 'https://aws.amazon.com/msk/pricing/', false),
  mskServerlessStorageGbMonth: price(
    0.1,
    'per GB-month stored',
    'https://aws.amazon.com/msk/pricing/',
    false,
  ),
} as const;

export type PriceName = keyof typeof PRICES;

/**
 * Published latencies for the estimate of latency on AWS, in ms, as [typical, slow-tail]. These are
 * orders of magnitude from documentation and common measurements, not guarantees.
 */
export const LATENCIES_MS = {
  // S3 whitepaper "Best Practices Design Patterns: Optimizing Amazon S3 Performance", timeouts and retries:
  // for small requests (< 512 KB) "median latencies are often in the range of tens of milliseconds", and it
  // advises retrying a GET or PUT after 2 s. https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/timeouts-and-retries-for-latency-sensitive-applications.html
  s3Put: { typical: 30, tail: 150, source: 'S3 performance whitepaper (tens of ms median)', verified: false },
  s3Get: { typical: 20, tail: 100, source: 'S3 performance whitepaper (tens of ms median)', verified: false },
  // DynamoDB: "single-digit millisecond performance at any scale" (https://aws.amazon.com/dynamodb/).
  dynamoWrite: { typical: 6, tail: 20, source: 'DynamoDB: single-digit ms', verified: false },
  dynamoRead: { typical: 4, tail: 15, source: 'DynamoDB: single-digit ms', verified: false },
  // API Gateway REST overhead (Latency − IntegrationLatency): 10–30 ms is the common figure in write-ups.
  apiGateway: {
    typical: 15,
    tail: 40,
    source: 'API Gateway REST overhead, secondary sources',
    verified: false,
  },
  // A warm Lambda invoke adds a few ms; a cold start of a Node.js arm64 function ~200–500 ms (not modelled).
  lambdaInvoke: {
    typical: 3,
    tail: 15,
    source: 'Lambda warm invoke overhead, secondary sources',
    verified: false,
  },
} as const;
