import type { CoherentCache } from '../coherent-cache';
import { LocalCoherenceBus } from '../local-bus';
import { settle, startCaches, type BusKind } from './helpers';

/**
 * Invalidations travel apart from directory replies, so one can arrive after
 * the holder has already left and re-joined the line. Here the in-process bus
 * holds every message until the test releases it.
 */
describe('an invalidation that arrives after the holder re-joined the line', () => {
  const line = 'Book:978-604-1';
  let held: (() => void)[] = [];
  let kind: BusKind;
  let caches: CoherentCache[] = [];
  const db = new Map<string, string>();
  const fromDb = (key: string) => async () => db.get(key);
  /** Delivers every held message, and those they cause, until none is left. */
  const release = async () => {
    for (await settle(); held.length > 0; await settle()) held.splice(0).forEach((deliver) => deliver());
  };

  beforeEach(() => {
    held = [];
    const bus = new LocalCoherenceBus({ deliver: (task) => void held.push(task) });
    kind = { name: 'local', busFor: () => bus, cleanup: () => bus.stop() };
    db.set(line, 'v0');
    db.set('Book:other', 'x');
  });

  afterEach(async () => {
    await Promise.all(caches.map((cache) => cache.stop()));
    caches = [];
    await kind.cleanup();
  });

  it('neither drops the newer copy nor takes it out of the directory', async () => {
    const [a, b] = (caches = await startCaches(kind, ['A', 'B'], { maxLines: 1 }));
    await a.read(line, 'sel', fromDb(line));
    db.set(line, 'v1');
    const firstWrite = b.write([line]); // its invalidation to A is held
    await settle();
    await a.read('Book:other', 'sel', fromDb('Book:other')); // evicts the line: A leaves the directory
    expect(await a.read(line, 'sel', fromDb(line))).toBe('v1'); // and joins it again, after the write
    await release(); // the old invalidation reaches A now
    await firstWrite;
    expect(a.stateOf(line)).toBe('S');
    db.set(line, 'v2');
    const secondWrite = b.write([line]); // must still find A in the directory
    await release();
    expect(await secondWrite).toEqual({ kind: 'invalidated', lines: [line], revoked: [] });
    expect(a.stateOf(line)).toBe('I');
    expect(await a.read(line, 'sel', fromDb(line))).toBe('v2');
  });
});
