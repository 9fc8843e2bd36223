/**
 * The long reliability run: `npm run test:reliability -- --seed N --minutes M [--scale long|short]
 * [--only <scenario prefix>]`. Runs every scenario in rotation, each run with its own seed derived from
 * N, until M minutes have passed (finishing the run in progress), then prints a markdown table:
 * scenario, runs, operations, faults injected, violations found. Exits 1 if any violation was found,
 * after printing each with its seed and the operations involved.
 */

import { formatViolations } from './checker';
import { Random } from './prng';
import { SCENARIOS, type Scale, type ScenarioResult } from './scenarios';

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

function parseNumber(name: string, fallback: number): number {
  const raw = arg(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name} must be a non-negative number, but "${raw}" was given`);
  return n;
}

interface Row {
  runs: number;
  operations: number;
  faults: number;
  violations: number;
  seeds: number[];
  covers: string;
}

export function table(rows: Map<string, Row>): string {
  const lines = [
    '| scenario | covers | runs | operations | faults injected | violations |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  let total: Row = { runs: 0, operations: 0, faults: 0, violations: 0, seeds: [], covers: '' };
  for (const [name, r] of rows) {
    lines.push(`| ${name} | ${r.covers} | ${r.runs} | ${r.operations} | ${r.faults} | ${r.violations} |`);
    total = {
      ...total,
      runs: total.runs + r.runs,
      operations: total.operations + r.operations,
      faults: total.faults + r.faults,
      violations: total.violations + r.violations,
    };
  }
  lines.push(`| **total** | | ${total.runs} | ${total.operations} | ${total.faults} | ${total.violations} |`);
  return lines.join('\n');
}

async function main() {
  const seed = parseNumber('seed', Date.now() % 1_000_000);
  const minutes = parseNumber('minutes', 10);
  const scale = (arg('scale', 'long') as Scale) ?? 'long';
  const only = arg('only');
  const scenarios = only
    ? SCENARIOS.filter((s) => s.name.toLowerCase().includes(only.toLowerCase()))
    : SCENARIOS;
  if (scenarios.length === 0) throw new Error(`no scenario matches --only ${only}`);
  const started = Date.now();
  const until = started + minutes * 60_000;
  const rng = new Random(seed);
  const rows = new Map<string, Row>(
    scenarios.map((s) => [
      s.name,
      { runs: 0, operations: 0, faults: 0, violations: 0, seeds: [], covers: s.covers },
    ]),
  );
  const failures: ScenarioResult[] = [];
  console.log(
    `Sluice reliability run: seed ${seed}, ${minutes} minutes, scale ${scale}, ${new Date(started).toISOString()}`,
  );
  let i = 0;
  do {
    const scenario = scenarios[i++ % scenarios.length]!;
    const runSeed = rng.int(1, 2 ** 31 - 1);
    const t0 = Date.now();
    let result: ScenarioResult;
    try {
      result = await scenario.run({ seed: runSeed, scale });
    } catch (err) {
      result = {
        scenario: scenario.name,
        seed: runSeed,
        operations: 0,
        faults: 0,
        violations: [
          {
            invariant: 'L1',
            message: `the scenario itself failed: ${(err as Error).stack ?? err}`,
            events: [],
          },
        ],
        counts: { L1: 1 },
      };
    }
    const row = rows.get(scenario.name)!;
    const found = Object.values(result.counts).reduce((a, b) => a + b, 0);
    row.runs++;
    row.operations += result.operations;
    row.faults += result.faults;
    row.violations += found;
    row.seeds.push(runSeed);
    console.log(
      `${new Date().toISOString()} ${scenario.name} seed ${runSeed}: ${result.operations} ops, ${result.faults} faults, ${found} violations, ${Math.round((Date.now() - t0) / 1000)} s${result.notes ? ` (${result.notes})` : ''}`,
    );
    if (found > 0) {
      failures.push(result);
      console.log(formatViolations(result.violations));
    }
  } while (Date.now() < until);
  console.log(
    `\nSeed ${seed}, ${Math.round((Date.now() - started) / 60_000)} minutes, ${new Date().toISOString().slice(0, 10)}, scale ${scale}\n`,
  );
  console.log(table(rows));
  if (failures.length > 0) {
    console.log(
      `\nFailing runs (replay one with: npm run test:reliability -- --only "<scenario>" ... or the scenario's seed):`,
    );
    for (const f of failures) console.log(`- ${f.scenario}: seed ${f.seed}: ${JSON.stringify(f.counts)}`);
    process.exitCode = 1;
  }
  // Emulators and agents may keep handles open: the run is over.
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
