import fc from 'fast-check';
import { PhiAccrualDetector } from '../phi';

/** A detector on a hand-moved clock: time passes only when the test says so (docs/ARCHITECTURE.md §10 rule 12). */
function detector(intervalMs: number, options: { acceptablePauseMs?: number; minStdDevMs?: number; threshold?: number } = {}) {
  const clock = { now: 0 };
  const d = new PhiAccrualDetector({ now: () => clock.now, expectedIntervalMs: intervalMs, ...options });
  return { d, clock };
}

describe('PhiAccrualDetector', () => {
  const interval = fc.integer({ min: 50, max: 1000 });

  it('never suspects heartbeats that come at their interval, give or take their jitter', () => {
    fc.assert(
      fc.property(interval, fc.array(fc.double({ min: -0.4, max: 0.4, noNaN: true }), { minLength: 1, maxLength: 200 }), (ms, jitters) => {
        const { d, clock } = detector(ms);
        for (const j of jitters) {
          clock.now += ms * (1 + j);
          // Just before the heartbeat lands is the longest silence a regular site shows.
          expect(d.suspected()).toBe(false);
          d.heartbeat();
          expect(d.phi()).toBeLessThan(1);
        }
      }),
    );
  });

  it('always suspects a silence past mean + acceptable pause + 6 standard deviations (floor included)', () => {
    fc.assert(
      fc.property(interval, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 100_000 }), (ms, beats, pauseMs, extraMs) => {
        const { d, clock } = detector(ms, { acceptablePauseMs: pauseMs, minStdDevMs: 100 });
        for (let i = 0; i < beats; i++) {
          clock.now += ms;
          d.heartbeat();
        }
        // Regular beats: the window's spread is at most the seed's (ms/4), under the floor or not.
        const std = Math.max(100, ms / 4);
        clock.now += ms + pauseMs + 6 * std + extraMs;
        expect(d.suspected()).toBe(true);
      }),
    );
  });

  it('phi never falls while the silence grows', () => {
    fc.assert(
      fc.property(interval, fc.array(fc.integer({ min: 1, max: 3000 }), { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 2, maxLength: 50 }), (ms, past, steps) => {
        const { d, clock } = detector(ms);
        for (const gap of past) {
          clock.now += gap;
          d.heartbeat();
        }
        let previous = d.phi();
        for (const step of steps) {
          clock.now += step;
          const phi = d.phi();
          expect(phi).toBeGreaterThanOrEqual(previous);
          previous = phi;
        }
      }),
    );
  });

  it('suspects a site that never sends a first heartbeat, and forgets a long silence once heartbeats resume', () => {
    const { d, clock } = detector(250);
    clock.now += 2000;
    expect(d.suspected()).toBe(true);
    d.heartbeat();
    expect(d.phi()).toBe(0);
    // The 2 s silence did not widen the window: the next one is seen as fast as the first.
    clock.now += 1300;
    expect(d.suspected()).toBe(true);
  });

  it('suspects a frozen site within about 1.3 s at the defaults (250 ms heartbeats)', () => {
    const { d, clock } = detector(250);
    for (let i = 0; i < 40; i++) {
      clock.now += 250;
      d.heartbeat();
    }
    clock.now += 1000;
    expect(d.suspected()).toBe(false);
    clock.now += 400;
    expect(d.suspected()).toBe(true);
  });

  it('watch answers: early ones (a site with something to report) never make an idle one look late, nor hide a silence', () => {
    // Each answer is early (sooner than the interval) or idle (the wait, plus up to 10% for the round trip), counted from the one before.
    const answer = fc.oneof(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.double({ min: 1, max: 1.1, noNaN: true }));
    fc.assert(
      fc.property(interval, fc.array(answer, { maxLength: 200 }), fc.integer({ min: 0, max: 100_000 }), (ms, answers, extraMs) => {
        const { d, clock } = detector(ms, { acceptablePauseMs: 500, minStdDevMs: 100 });
        for (const a of answers) {
          clock.now += ms * a;
          expect(d.suspected()).toBe(false);
          d.heartbeat();
        }
        // Idle answers recorded: at most 1.1 × the interval, so the spread stays under the seed's.
        clock.now += 1.1 * ms + 500 + 6 * Math.max(100, ms / 4) + extraMs;
        expect(d.suspected()).toBe(true);
      }),
    );
  });

  it('suspects a site whose watch hangs within about 2 s at the defaults (a 1 s wait)', () => {
    const { d, clock } = detector(1000);
    for (let i = 0; i < 20; i++) {
      clock.now += 1000 + (i % 3);
      d.heartbeat();
    }
    clock.now += 1800;
    expect(d.suspected()).toBe(false);
    clock.now += 300;
    expect(d.suspected()).toBe(true);
  });

  it('refuses options that make no detector', () => {
    expect(() => new PhiAccrualDetector({ now: () => 0, expectedIntervalMs: 0 })).toThrow('expectedIntervalMs must be positive, got 0');
    expect(() => new PhiAccrualDetector({ now: () => 0, expectedIntervalMs: 100, minStdDevMs: 0 })).toThrow('minStdDevMs must be positive');
  });
});
