/**
 * How the transport reads failures: an error answer becomes the SluiceError it stands for (its JSON error
 * body, else its status), a failure without an answer becomes REQUEST_TIMED_OUT with `details.network`.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { codeForStatus, isErrorCode, SluiceError } from '../shared/errors';

export function headerRecord(headers: IncomingHttpHeaders | Headers): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers instanceof Headers) {
    headers.forEach((v, k) => {
      out[k] = v;
    });
    return out;
  }
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The SluiceError an error answer stands for: its JSON error body, else its status. */
export function errorFromResponse(
  method: string,
  path: string,
  status: number,
  body: Buffer,
  headers: Record<string, string>,
): SluiceError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: unknown } | undefined)?.error;
  const requestId = headers['x-amzn-requestid'];
  if (typeof error === 'object' && error !== null) {
    const { code, message, ...details } = error as Record<string, unknown>;
    const known = isErrorCode(code);
    return new SluiceError(
      known ? code : 'UNKNOWN_SERVER_ERROR',
      typeof message === 'string' ? message : undefined,
      { details: { ...details, ...(known ? {} : { code }), status, ...(requestId ? { requestId } : {}) } },
    );
  }
  // Not Sluice's shape: an intermediary (a proxy, API Gateway without its gateway responses) answered.
  const code = codeForStatus(status);
  const text =
    typeof (parsed as { message?: unknown } | undefined)?.message === 'string'
      ? (parsed as { message: string }).message
      : body.toString('utf8', 0, Math.min(body.length, 200)).replace(/\s+/g, ' ').trim();
  return new SluiceError(code, `HTTP ${status} from ${method} ${path}${text ? `: ${text}` : ''}`, {
    details: { status, ...(requestId ? { requestId } : {}) },
  });
}

export function networkError(endpoint: string, err: NodeJS.ErrnoException, sent: boolean): SluiceError {
  const code = err.code ?? err.name;
  const what = sent ? 'lost the connection to' : 'cannot connect to';
  return new SluiceError('REQUEST_TIMED_OUT', `${what} ${endpoint} (${code}: ${err.message})`, {
    cause: err,
    details: { network: code },
  });
}

export function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}
