import { describe, expect, it } from 'vitest';
import { AppendPipeline, type AppendTurn } from '../../shared/log/pipeline';

/** An append under test control: it records when it starts and advances, and ends when told. */
function controlledAppend(name: string, steps: string[]) {
  let finish!: (outcome: 'ok' | 'fail') => void;
  const finished = new Promise<'ok' | 'fail'>((resolve) => {
    finish = resolve;
  });
  let turn!: AppendTurn;
  const run = async (t: AppendTurn) => {
    turn = t;
    steps.push(`${name} reserves`);
    return finished.then(async (outcome) => {
      if (outcome === 'fail') throw new Error(`${name} failed`);
      return name;
    });
  };
  return { run, finish, turn: () => turn };
}

const turnOfEventLoop = () => new Promise((resolve) => setImmediate(resolve));

describe('Class: AppendPipeline', () => {
  it('lets the next append reserve once the earlier one has reserved, and advance once it has ended', async () => {
    // Prepare
    const pipeline = new AppendPipeline();
    const steps: string[] = [];
    const a = controlledAppend('a', steps);
    const b = controlledAppend('b', steps);
    // Act
    const ranA = pipeline.run('t#0', a.run);
    const ranB = pipeline.run('t#0', b.run);
    await turnOfEventLoop();
    const beforeReserved = [...steps];
    a.turn().reserved();
    await turnOfEventLoop();
    let bMayAdvance = false;
    void b.turn().earlierAdvanced.then(() => {
      bMayAdvance = true;
    });
    await turnOfEventLoop();
    const advanceBeforeEnd = bMayAdvance;
    a.finish('ok');
    await ranA;
    await turnOfEventLoop();
    // Assess
    expect(beforeReserved).toEqual(['a reserves']);
    expect(steps).toEqual(['a reserves', 'b reserves']);
    expect(a.turn().followed).toBe(true);
    expect(b.turn().followed).toBe(false);
    expect(advanceBeforeEnd).toBe(false);
    expect(bMayAdvance).toBe(true);
    b.finish('ok');
    expect(await ranB).toBe('b');
    expect(pipeline.size).toBe(0);
  });

  it('opens both gates when an append fails before reserving, and chains the advance gate', async () => {
    // Prepare
    const pipeline = new AppendPipeline();
    const steps: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((name) => controlledAppend(name, steps));
    const ranA = pipeline.run('t#0', a!.run);
    const ranB = pipeline.run('t#0', b!.run);
    const ranC = pipeline.run('t#0', c!.run);
    // Act: a fails without calling reserved(); b reserves and c's advance must still wait for b
    a!.finish('fail');
    await expect(ranA).rejects.toThrow('a failed');
    await turnOfEventLoop();
    b!.turn().reserved();
    await turnOfEventLoop();
    let cMayAdvance = false;
    void c!.turn().earlierAdvanced.then(() => {
      cMayAdvance = true;
    });
    await turnOfEventLoop();
    const cBeforeB = cMayAdvance;
    b!.finish('ok');
    await ranB;
    await turnOfEventLoop();
    // Assess
    expect(steps).toEqual(['a reserves', 'b reserves', 'c reserves']);
    expect(cBeforeB).toBe(false);
    expect(cMayAdvance).toBe(true);
    c!.finish('ok');
    await ranC;
  });

  it('keeps partitions apart', async () => {
    // Prepare
    const pipeline = new AppendPipeline();
    const steps: string[] = [];
    const a = controlledAppend('a', steps);
    const b = controlledAppend('b', steps);
    // Act
    const ranA = pipeline.run('t#0', a.run);
    const ranB = pipeline.run('t#1', b.run);
    await turnOfEventLoop();
    // Assess: b never waited for a's reserve
    expect(steps).toEqual(['a reserves', 'b reserves']);
    expect(a.turn().followed).toBe(false);
    a.finish('ok');
    b.finish('ok');
    await Promise.all([ranA, ranB]);
    expect(pipeline.size).toBe(0);
  });
});
