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

  it('offers the advancing append the later ranges committed contiguously, and marks those it carried', async () => {
    // Prepare: four appends; b and c committed right after a, d not yet
    const pipeline = new AppendPipeline();
    const steps: string[] = [];
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((name) => controlledAppend(name, steps));
    const runs = [a!, b!, c!, d!].map((x) => pipeline.run('t#0', x.run));
    for (const x of [a!, b!, c!, d!]) {
      await turnOfEventLoop();
      x.turn().reserved();
    }
    await turnOfEventLoop();
    b!.turn().committed({ base: 2, end: 5, ids: ['b'] });
    c!.turn().committed({ base: 5, end: 6, ids: ['c'] });
    // Act
    const offered = a!.turn().followers(2);
    const notFromHere = a!.turn().followers(3);
    a!.turn().carriedOver(offered);
    // Assess
    expect(offered.map((r) => r.ids)).toEqual([['b'], ['c']]);
    expect(notFromHere).toEqual([]);
    expect([b!.turn().carried, c!.turn().carried, d!.turn().carried]).toEqual([true, true, false]);
    for (const x of [a!, b!, c!, d!]) x.finish('ok');
    await Promise.all(runs);
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
