import { migrate, sql, type SqlExecutor } from '../../../sql';
import { emptyDatabase } from '../../../sql/__tests__/databases';
import { Participant, type ParticipantStep } from '../participant';
import type { Operation } from '../../../contracts';

/**
 * Chaos problem 3: a PREPARE that reached a site just before it froze, and the
 * coordinator's ABORT sent after its timeout, ran concurrently on SIGCONT. Under
 * READ COMMITTED the abort could not see the prepare's uncommitted rows, so a
 * lock (and a PREPARED row) outlived the abort. The gid's phase-1 slot makes the
 * second of the two see the first, whichever order they run in. PGlite runs one
 * transaction at a time, so only a PostgreSQL server can interleave them.
 */
const pgIt = process.env.PG_URL ? it : it.skip;

const reserve: Operation[] = [{ kind: 'reader.reserveLoan', readerId: 'Q1-DG0001', max: 5 }];

/** A gate the participant waits at inside PREPARE's transaction, and a promise that it got there. */
function pauseOnce(step: ParticipantStep) {
  let reached!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((r) => (reached = r));
  const gate = new Promise<void>((r) => (release = r));
  const pauseAt = async (at: ParticipantStep) => {
    if (at !== step) return;
    reached();
    await gate;
  };
  return { pauseAt, arrived, release };
}

async function leftovers(db: SqlExecutor, gid: string) {
  const [locks] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM libfed_lock WHERE gid = ${gid}`);
  const [prepared] = await db.query<{ n: number }>(sql`SELECT COUNT(*) AS n FROM libfed_tx WHERE gid = ${gid} AND state = 'PREPARED'`);
  return { locks: Number(locks.n), prepared: Number(prepared.n) };
}

describe('participant: PREPARE and ABORT of one gid are serialised', () => {
  let database: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
  let db: SqlExecutor;

  beforeEach(async () => {
    if (!process.env.PG_URL) return;
    database = await emptyDatabase('pa');
    db = database.db;
    await migrate(db, 'Q1');
    await db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES ('Q1', 'Quận 1', 'Lê Lợi')`);
    await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-DG0001', 'Trần Thị Ánh', 'Q1')`);
  });

  afterEach(async () => {
    await database?.drop();
  });

  pgIt('an ABORT arriving while the PREPARE is inside its transaction waits for it, then releases what it wrote', async () => {
    const { pauseAt, arrived, release } = pauseOnce('prepare-voted');
    const participant = new Participant({ siteId: 'Q1', db, pauseAt });
    const gid = 'Q1.gw-race-1';
    const vote = participant.prepare(gid, reserve, 'Q3', new Date(Date.now() + 60_000));
    await arrived;
    const abort = participant.abort(gid);
    // Give the abort time to run ahead if nothing holds it back.
    await new Promise((r) => setTimeout(r, 300));
    release();
    expect(await vote).toEqual({ vote: 'PREPARED' });
    expect(await abort).toBe('ABORTED');
    expect(await leftovers(db, gid)).toEqual({ locks: 0, prepared: 0 });
    // And the reader is free for the next transaction.
    expect(await participant.prepare('Q1.gw-race-2', reserve, 'Q3', new Date(Date.now() + 60_000))).toEqual({ vote: 'PREPARED' });
  });

  pgIt('a PREPARE arriving after the ABORT is refused and leaves nothing', async () => {
    const participant = new Participant({ siteId: 'Q1', db });
    const gid = 'Q1.gw-race-3';
    expect(await participant.abort(gid)).toBe('ABORTED');
    expect(await participant.prepare(gid, reserve, 'Q3', new Date(Date.now() + 60_000))).toMatchObject({ vote: 'REFUSED', code: 'TX_ABORTED' });
    expect(await leftovers(db, gid)).toEqual({ locks: 0, prepared: 0 });
  });

  pgIt('a duplicate PREPARE gets the same vote, and ABORT after it still releases everything', async () => {
    const participant = new Participant({ siteId: 'Q1', db });
    const gid = 'Q1.gw-race-4';
    const deadline = new Date(Date.now() + 60_000);
    expect(await participant.prepare(gid, reserve, 'Q3', deadline)).toEqual({ vote: 'PREPARED' });
    expect(await participant.prepare(gid, reserve, 'Q3', deadline)).toEqual({ vote: 'PREPARED' });
    expect(await participant.abort(gid)).toBe('ABORTED');
    expect(await participant.abort(gid)).toBe('ABORTED');
    expect(await leftovers(db, gid)).toEqual({ locks: 0, prepared: 0 });
  });

  pgIt('recovery releases a lock whose gid is no longer PREPARED, and gets past a commit site it cannot reach', async () => {
    const participant = new Participant({ siteId: 'Q1', db });
    // An orphan as the old protocol left it: a committed lock row, its participant row ABORTED.
    await db.query(sql`INSERT INTO libfed_lock (resource, gid, created_at) VALUES ('DOCGIA:Q1-DG0001', 'Q1.orphan', ${new Date()})`);
    await db.query(sql`INSERT INTO SACH (ISBN, TenSach, TacGia) VALUES ('1', 'a', 'b'), ('2', 'c', 'd')`);
    const past = new Date(Date.now() - 1000);
    await participant.prepare('Q5.stuck', [{ kind: 'book.update', isbn: '1', title: 't' }], 'Q5', past);
    await participant.prepare('Q3.stuck', [{ kind: 'book.update', isbn: '2', title: 't' }], 'Q3', past);
    const resolved = await participant.recover(async (site) => {
      if (site === 'Q5') throw new Error('Q5 is down');
      return 'ABORTED';
    });
    expect(resolved).toEqual([{ gid: 'Q3.stuck', outcome: 'ABORTED' }]);
    expect(await leftovers(db, 'Q1.orphan')).toEqual({ locks: 0, prepared: 0 });
    expect(await leftovers(db, 'Q5.stuck')).toEqual({ locks: 1, prepared: 1 });
  });
});
