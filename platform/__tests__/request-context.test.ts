import fc from 'fast-check';
import { boundedLabel } from '../labels';
import { currentRequest, requestIdFrom, runInRequest } from '../request-context';

const SANE = /^[A-Za-z0-9._-]{1,128}$/;

describe('requestIdFrom', () => {
  it('keeps a sane token as it is', () => {
    fc.assert(fc.property(fc.stringMatching(SANE), (id) => requestIdFrom(id) === id));
  });

  it('replaces anything else (too long, another character, a repeated header, none) with a fresh sane id', () => {
    const insane = fc.oneof(
      fc.string({ minLength: 129, maxLength: 300, unit: fc.constantFrom('a', 'B', '7', '-') }),
      fc.string({ maxLength: 50 }).filter((s) => !SANE.test(s)),
      fc.array(fc.stringMatching(SANE), { minLength: 1, maxLength: 3 }),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(insane, (header) => {
        const id = requestIdFrom(header as string | string[] | undefined);
        return SANE.test(id) && id !== header;
      }),
    );
  });
});

describe('runInRequest', () => {
  it('gives every await inside the work its scope, and nothing outside', async () => {
    const seen = await runInRequest({ requestId: 'r-1' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      return currentRequest()?.requestId;
    });
    expect([seen, currentRequest()]).toEqual(['r-1', undefined]);
  });
});

describe('boundedLabel', () => {
  it('lets through the first max distinct values, maps later newcomers to overflow and empty to its own value', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ maxLength: 4 }), { nil: undefined })), fc.integer({ min: 1, max: 5 }), (values, max) => {
        const label = boundedLabel({ max });
        const kept = new Set<string>();
        for (const v of values) {
          const got = label(v);
          if (!v) expect(got).toBe('anonymous');
          else if (kept.has(v) || kept.size < max) {
            kept.add(v);
            expect(got).toBe(v);
          } else expect(got).toBe('other');
        }
        expect(kept.size).toBeLessThanOrEqual(max);
      }),
    );
  });
});
