import fc from 'fast-check';
import pino from 'pino';
import type { ParticipantClient } from '../../../contracts';
import { AuditTrail } from '../audit';

/**
 * auditLog's period is checked at the gateway with the reports' rule
 * (schema/period.ts): a bad end is INVALID_PERIOD naming it, and no site is
 * asked — a site refusing the value must not read as the site being down
 * (BRANCH_UNAVAILABLE while every site is up).
 */
function trail() {
  const asked: unknown[] = [];
  const client = { call: async (_site: string, _op: string, query: unknown) => (asked.push(query), { entries: [] }) } as unknown as ParticipantClient;
  return { asked, audit: new AuditTrail(client, () => ['Q1', 'Q3'], pino({ level: 'silent' })) };
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (e: { extensions?: { code?: string; argument?: string } }) => `${e.extensions?.code}:${e.extensions?.argument}`,
  );

describe('auditLog(from, to)', () => {
  it.each([
    ['year 0000', { from: '0000-01-01T00:00:00Z' }, 'INVALID_PERIOD:from'],
    ['an extended year', { to: '+010000-01-01T00:00:00.000Z' }, 'INVALID_PERIOD:to'],
    ['a date without a time', { from: '2026-12-01' }, 'INVALID_PERIOD:from'],
    ['no zone', { to: '2026-12-01T00:00:00' }, 'INVALID_PERIOD:to'],
    ['from not before to', { from: '2026-12-01T00:00:00Z', to: '2026-12-01T00:00:00Z' }, 'INVALID_PERIOD:to'],
  ])('refuses %s with INVALID_PERIOD and asks no site', async (_name, period, expected) => {
    const { asked, audit } = trail();
    expect(await codeOf(audit.page(period))).toBe(expected);
    expect(asked).toEqual([]);
  });

  it('asks every site with the instants in UTC, whatever zone they were given in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
        fc.integer({ min: 1, max: 10 ** 9 }),
        fc.integer({ min: -14, max: 14 }),
        async (from, spanS, offsetH) => {
          const to = new Date(Math.min(from.getTime() + spanS * 1000, Date.parse('9999-12-31T00:00:00Z')));
          fc.pre(from < to);
          const zoned = (d: Date) => {
            const shifted = new Date(d.getTime() + offsetH * 3_600_000).toISOString().slice(0, 23);
            const sign = offsetH < 0 ? '-' : '+';
            return `${shifted}${sign}${String(Math.abs(offsetH)).padStart(2, '0')}:00`;
          };
          fc.pre(/^\d{4}-/.test(zoned(from)) && /^\d{4}-/.test(zoned(to)));
          const { asked, audit } = trail();
          await audit.page({ from: zoned(from), to: zoned(to) });
          expect(asked).toHaveLength(2);
          expect(asked[0]).toMatchObject({ from: from.toISOString(), to: to.toISOString() });
        },
      ),
    );
  });
});
