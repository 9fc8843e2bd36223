/**
 * SigV4 with the AWS SDK's signer, for API Gateway (service `execute-api`) and Lambda function URLs
 * (service `lambda`). Loaded on first use, so the local-only path never loads the AWS SDK.
 */

import type { AwsCredentials, AwsCredentialsProvider } from './transport';

export type SigningService = 'execute-api' | 'lambda';

export interface Signer {
  sign(request: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body: Buffer | undefined;
  }): Promise<Record<string, string>>;
}

export async function createSigner(
  service: SigningService,
  region: string,
  credentials: AwsCredentials | AwsCredentialsProvider | undefined,
): Promise<Signer> {
  const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
    import('@smithy/signature-v4'),
    import('@aws-crypto/sha256-js'),
  ]);
  let provider: AwsCredentialsProvider;
  if (typeof credentials === 'function') provider = credentials;
  else if (credentials !== undefined) provider = async () => credentials;
  else {
    const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
    provider = defaultProvider();
  }
  const signer = new SignatureV4({ service, region, credentials: provider, sha256: Sha256 });
  return {
    async sign({ method, url, headers, body }) {
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        // API Gateway and function URLs check the path as sent; the signer encodes each segment once more,
        // as SigV4 wants for every service but S3.
        path: url.pathname,
        query,
        headers: { ...headers, host: url.host },
        body,
      });
      return signed.headers as Record<string, string>;
    },
  };
}
