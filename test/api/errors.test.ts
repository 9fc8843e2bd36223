import { describe, expect, it } from 'vitest';
import { codeForStatus, ERRORS, type ErrorCode, SluiceError } from '../../shared/errors';

describe('Table: ERRORS', () => {
  it('does not retry an unexpected error (as Kafka), and gives each transient failure a retriable code', () => {
    // Assess
    expect(new SluiceError('UNKNOWN_SERVER_ERROR')).toMatchObject({ status: 500, retriable: false });
    for (const code of [
      'THROTTLED',
      'CONCURRENT_UPDATE',
      'NETWORK_EXCEPTION',
      'STORAGE_UNAVAILABLE',
      'REQUEST_TIMED_OUT',
      'APPEND_ABORTED',
    ] as const) {
      expect(ERRORS[code].retriable, code).toBe(true);
    }
  });

  it('gives every status a code stands for to that code only, and to a code of that status', () => {
    // Prepare
    const entries = Object.entries(ERRORS) as [ErrorCode, { status: number; answers?: readonly number[] }][];

    // Assess
    for (const [code, entry] of entries) {
      for (const status of entry.answers ?? []) {
        expect(codeForStatus(status), `${status}`).toBe(code);
        // Only UNAUTHORIZED also stands for a status of its own family (403 from IAM).
        if (status !== entry.status) expect([code, status]).toEqual(['UNAUTHORIZED', 403]);
      }
    }
  });
});

describe('Function: codeForStatus', () => {
  it('maps answers an intermediary gave by their status, as the client did before the table held it', () => {
    // Act
    const mapped = Object.fromEntries(
      [400, 401, 403, 404, 405, 409, 413, 415, 416, 429, 500, 501, 502, 503, 504].map((s) => [
        s,
        codeForStatus(s),
      ]),
    );

    // Assess
    expect(mapped).toEqual({
      400: 'INVALID_REQUEST',
      401: 'UNAUTHORIZED',
      403: 'UNAUTHORIZED',
      404: 'NOT_FOUND',
      405: 'METHOD_NOT_ALLOWED',
      409: 'INVALID_REQUEST',
      413: 'MESSAGE_TOO_LARGE',
      415: 'UNSUPPORTED_MEDIA_TYPE',
      416: 'OFFSET_OUT_OF_RANGE',
      429: 'THROTTLED',
      500: 'UNKNOWN_SERVER_ERROR',
      501: 'UNKNOWN_SERVER_ERROR',
      502: 'NETWORK_EXCEPTION',
      503: 'STORAGE_UNAVAILABLE',
      504: 'REQUEST_TIMED_OUT',
    });
    expect(ERRORS[codeForStatus(502)].retriable).toBe(true);
  });
});
