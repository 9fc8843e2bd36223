/**
 * Configuration read once from the environment, validated, and passed in (never read deep inside).
 * Every setting has a documented default; a missing required one fails fast with its variable's name.
 */

export interface StorageConfig {
  /** AWS region. @default 'us-east-1' (from AWS_REGION / AWS_DEFAULT_REGION) */
  readonly region: string;
  /** Endpoint override for LocalStack or the embedded emulators (AWS_ENDPOINT_URL). @default undefined: real AWS */
  readonly endpoint?: string;
  /** Separate endpoints for the embedded emulators, which listen on two ports. */
  readonly dynamoEndpoint?: string;
  readonly s3Endpoint?: string;
  /**
   * The endpoints are Sluice's own embedded emulators (dynalite, s3rver), started on this machine by the
   * local stack or a test, not LocalStack or AWS: createAwsClients then leaves out what only AWS needs.
   * @default false
   */
  readonly embedded?: boolean;
  readonly bucket: string;
  readonly topicsTable: string;
  readonly logTable: string;
  readonly groupsTable: string;
}

export function storageConfigFromEnv(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`environment variable ${name} must be set`);
    return value;
  };
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: env.AWS_ENDPOINT_URL || undefined,
    dynamoEndpoint: env.AWS_ENDPOINT_URL_DYNAMODB || undefined,
    s3Endpoint: env.AWS_ENDPOINT_URL_S3 || undefined,
    bucket: required('SLUICE_BUCKET'),
    topicsTable: required('SLUICE_TOPICS_TABLE'),
    logTable: required('SLUICE_LOG_TABLE'),
    groupsTable: required('SLUICE_GROUPS_TABLE'),
  };
}
