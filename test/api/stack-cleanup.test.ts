import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../../shared/local/stack';

describe('Function: startLocalStack', () => {
  it('runs the cleanup pass on a timer, as the scheduled function does on AWS', async () => {
    // Prepare
    const lines: string[] = [];
    const stack = await startLocalStack({
      port: 0,
      inMemory: true,
      cleanupIntervalMs: 100,
      log: (l) => lines.push(l),
    });
    try {
      // Act
      const deadline = Date.now() + 20_000;
      while (!lines.some((l) => l.includes(' cleanup {')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await stack.stop();
    }
    // Assess
    const line = lines.find((l) => l.includes(' cleanup {'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!.slice(line!.indexOf('{')))).toMatchObject({ complete: true });
  });
});
