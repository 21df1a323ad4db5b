import { Registry } from 'prom-client';
import { collectProcessMetrics, EVENT_LOOP_SAMPLE_MS } from '../metrics';

/** The event-loop monitor samples ten times a second, not a hundred, and a blocked loop still shows in full. */
describe('process metrics', () => {
  const lag = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)!.get()).values[0].value;

  it('sees a block of the event loop longer than the sampling interval, at its length', async () => {
    const registry = new Registry();
    collectProcessMetrics(registry);
    await new Promise((r) => setTimeout(r, 2 * EVENT_LOOP_SAMPLE_MS));
    const blockMs = 3 * EVENT_LOOP_SAMPLE_MS;
    const until = performance.now() + blockMs;
    while (performance.now() < until) {
      // the loop is blocked: no timer can fire
    }
    await new Promise((r) => setTimeout(r, 2 * EVENT_LOOP_SAMPLE_MS));
    // Registry.metrics() runs the collectors, which read the monitor.
    await registry.metrics();
    expect(await lag(registry, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual((blockMs - EVENT_LOOP_SAMPLE_MS) / 1000);
    // The monitor's histogram records whole sampling intervals: an unblocked loop reads the interval itself.
    expect(await lag(registry, 'nodejs_eventloop_lag_min_seconds')).toBeGreaterThanOrEqual((0.9 * EVENT_LOOP_SAMPLE_MS) / 1000);
  });
});
