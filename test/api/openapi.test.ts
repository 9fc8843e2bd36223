import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { API_LIMITS } from '../../shared/api/limits';
import { ROUTES } from '../../shared/api/routes';

type Operation = { operationId?: string; responses?: Record<string, unknown>; parameters?: unknown[] };
type PathItem = Record<string, Operation | unknown>;
interface OpenApi {
  openapi: string;
  info: { description: string };
  paths: Record<string, PathItem>;
  components: Record<string, Record<string, unknown>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const doc = parse(readFileSync('docs/openapi.yaml', 'utf8')) as OpenApi;

function operations(): { method: string; path: string; operationId: string | undefined; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        operationId: (op as Operation).operationId,
        op: op as Operation,
      })),
  );
}

/** Every `$ref` in the document, to check that each resolves. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) refs(n, found);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

describe('File: docs/openapi.yaml', () => {
  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
  });

  it('lists exactly the routes, methods and operationIds of the route table', () => {
    const documented = operations()
      .map((o) => `${o.method} ${o.path} ${o.operationId}`)
      .sort();
    const table = ROUTES.map((r) => `${r.method} ${r.path} ${r.operation}`).sort();
    expect(documented).toEqual(table);
  });

  it('declares every path parameter of every route', () => {
    for (const { path } of operations()) {
      const item = doc.paths[path] as { parameters?: { $ref?: string; name?: string }[] };
      const declared = (item.parameters ?? []).map((p) => p.name ?? p.$ref?.split('/').at(-1));
      for (const [, name] of path.matchAll(/\{(\w+)\}/g))
        expect(declared, `${path} {${name}}`).toContain(name);
    }
  });

  it('gives every operation a success and an error response, and resolves every $ref', () => {
    for (const { path, method, op } of operations()) {
      const codes = Object.keys(op.responses ?? {});
      expect(
        codes.some((c) => c.startsWith('2')),
        `${method} ${path}`,
      ).toBe(true);
      if (path !== '/v1/groups')
        expect(
          codes.some((c) => /^[45]/.test(c)),
          `${method} ${path}`,
        ).toBe(true);
    }
    for (const ref of refs(doc)) {
      const [, section, name] = /^#\/components\/(\w+)\/([\w-]+)/.exec(ref) ?? [];
      expect(doc.components[section!]?.[name!], ref).toBeDefined();
    }
  });

  it('states the limits the code enforces', () => {
    const text = doc.info.description.replaceAll(',', '');
    for (const n of [
      API_LIMITS.maxBodyBytes,
      API_LIMITS.maxRecordsPerRequest,
      API_LIMITS.maxPartitionsPerRequest,
      API_LIMITS.maxJsonDepth,
      API_LIMITS.maxJsonValues,
      API_LIMITS.maxFetchBytes,
      API_LIMITS.defaultFetchMaxBytes,
      API_LIMITS.maxWaitMs,
    ]) {
      expect(text, String(n)).toContain(String(n));
    }
  });
});
