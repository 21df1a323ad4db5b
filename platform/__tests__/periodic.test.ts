import { periodic } from '../periodic';

describe('periodic', () => {
  it('never runs two rounds at once: runNow joins the round that runs, and a failed round reaches onError', async () => {
    let release!: () => void;
    let rounds = 0;
    const errors: unknown[] = [];
    const task = periodic(
      () => {
        rounds += 1;
        return rounds === 1 ? new Promise<void>((r) => (release = r)) : Promise.reject(new Error('site down'));
      },
      60_000,
      (e) => errors.push(e),
    );
    try {
      const first = task.runNow();
      expect(task.runNow()).toBe(first);
      expect(rounds).toBe(1);
      release();
      await first;
      await task.runNow();
      expect(rounds).toBe(2);
      expect(errors.map((e) => (e as Error).message)).toEqual(['site down']);
    } finally {
      task.stop();
    }
  });
});
