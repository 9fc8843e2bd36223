import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURE_FUNCTIONS = join(ROOT, 'test', 'cdk', 'fixtures', 'functions');
export const FIXTURE_FUNCTIONS_WITHOUT_CLEANUP = join(
  ROOT,
  'test',
  'cdk',
  'fixtures',
  'functions-without-cleanup',
);

/** The feature flags of cdk.json, so that tests synthesize what `npx cdk synth` does. */
export function cdkContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

/** Context that skips esbuild: template tests need the entry files to exist, not their bundles. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * Renders a CloudFormation string value as text: `{ Ref: X }` becomes `${X}`, `Fn::GetAtt [X, Y]`
 * becomes `${X.Y}`, `Fn::Join` joins its parts.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if ('Ref' in v) return `\${${String(v.Ref)}}`;
    if ('Fn::GetAtt' in v) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/**
 * IAM's resource matching: `*` matches any run of characters (including `/`), `?` one character,
 * everything else literally and case-sensitively.
 */
export function iamMatches(pattern: string, resource: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(resource);
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}
