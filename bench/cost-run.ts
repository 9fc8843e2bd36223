/**
 * The cost part of the benchmark alone: a short end-to-end run for the unit costs (webAccessLog only),
 * then the cost model, written into the cost sections of bench/results.md and of the README's benchmark
 * section in place (the other sections keep the numbers of the last full `npm run bench`).
 *
 *   node --openssl-legacy-provider --import tsx bench/cost-run.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CostSection, costReport, costSections } from './cost';
import { runE2EBench } from './e2e';

/** Replaces the body of the section headed `heading` (up to the next heading of that level or above). */
export function replaceSection(doc: string, heading: string, body: string): string {
  const level = heading.match(/^#+/)?.[0].length ?? 2;
  const start = doc.indexOf(`\n${heading}\n`);
  if (start < 0) return doc;
  const from = start + heading.length + 2;
  const next = new RegExp(`\\n#{1,${level}} `, 'g');
  next.lastIndex = from;
  const end = next.exec(doc)?.index ?? doc.length;
  return `${doc.slice(0, from)}\n${body}\n${doc.slice(end)}`;
}

function sectionBody(c: CostSection): string {
  return `${c.intro}\n\n${c.table}\n`;
}

async function main(): Promise<void> {
  const say = (line: string) => console.error(`[bench:cost] ${line}`);
  say('end to end (short, webAccessLog) for the unit costs…');
  const e2e = await runE2EBench({
    workloads: ['webAccessLog'],
    throughputSeconds: 2,
    latencySeconds: 4,
    idleSeconds: 4,
    log: say,
  });
  say('cost model (the producer runs on a virtual clock)…');
  const report = await costReport(e2e, 'webAccessLog');
  const sections = costSections(report, { ackP50: e2e.latency.ackP50Ms, e2eP50: e2e.latency.e2eP50Ms });
  for (const c of sections) console.log(`\n## ${c.title}\n\n${c.table}`);

  const results = new URL('./results.md', import.meta.url);
  let md = readFileSync(results, 'utf8');
  for (const c of sections) md = replaceSection(md, `## ${c.title}`, sectionBody(c));
  writeFileSync(results, md);

  const readmeKeys = new Set(['scenarios', 'knobs', 'estimate']);
  for (const file of ['../README.md', './README-section.md']) {
    const url = new URL(file, import.meta.url);
    let doc = readFileSync(url, 'utf8');
    for (const c of sections) {
      if (readmeKeys.has(c.key)) doc = replaceSection(doc, `### ${c.title}`, sectionBody(c));
    }
    writeFileSync(url, doc);
  }
  say('wrote the cost sections of bench/results.md, bench/README-section.md and README.md');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
