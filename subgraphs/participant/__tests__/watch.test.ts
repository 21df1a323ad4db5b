import { migrate, sql, type SqlExecutor } from '../../../sql';
import { emptyDatabase } from '../../../sql/__tests__/databases';
import { Participant } from '../participant';
import type { Operation } from '../../../contracts';

/**
 * A gateway's watch at the site (docs/ARCHITECTURE.md §5, "Watching the
 * sites"): a dirty line logged while it waits ends it, whichever commit logs
 * it; a log that already has rows answers at once; overdue participants are
 * counted. Every wait here is a minute: only the event under test can end it
 * before the test's own timeout. On a real PostgreSQL server (PG_URL).
 */
const pgIt = process.env.PG_URL ? it : it.skip;
const MINUTE = 60_000;
const reserve: Operation[] = [{ kind: 'reader.reserveLoan', readerId: 'Q1-DG0001', max: 5 }];
const LINES = ['Reader:Q1-DG0001', 'Reader'];

describe('participant: watch', () => {
  let database: Awaited<ReturnType<typeof emptyDatabase>> | undefined;
  let db: SqlExecutor;
  let participant: Participant;

  beforeEach(async () => {
    if (!process.env.PG_URL) return;
    database = await emptyDatabase('watch');
    db = database.db;
    await migrate(db, 'Q1');
    await db.query(sql`INSERT INTO CHINHANH (MaCN, TenCN, DiaChi) VALUES ('Q1', 'Quận 1', 'Lê Lợi')`);
    await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-DG0001', 'Trần Thị Ánh', 'Q1')`);
    await db.query(sql`INSERT INTO DOCGIA (MaDG, HoTen, MaCN_DangKy) VALUES ('Q1-DG0002', 'Lê Văn Bình', 'Q1')`);
    participant = new Participant({ siteId: 'Q1', db });
  });

  afterEach(async () => {
    participant?.endWatches();
    await database?.drop();
  });

  /** The watch's answer, and whether it has come yet. */
  const watching = (waitMs: number, wakeOnDirty: boolean) => {
    const state = { answered: false };
    const answer = participant.watch(waitMs, wakeOnDirty).finally(() => (state.answered = true));
    return { answer, state };
  };

  pgIt('a commit that logs dirty lines ends a waiting watch; the next one answers at once until the log is clean', async () => {
    const watch = watching(MINUTE, true);
    await participant.local('Q1.watch-1', reserve, LINES);
    expect(await watch.answer).toEqual({ dirty: true, overdue: 0 });
    expect(await participant.watch(MINUTE, true)).toEqual({ dirty: true, overdue: 0 });
    await participant.clean(await participant.dirty());
    const idle = watching(MINUTE, true);
    // A commit with no lines logs nothing: the watch goes on waiting.
    await participant.local('Q1.watch-2', reserve, []);
    await db.query(sql`SELECT 1`);
    expect(idle.state.answered).toBe(false);
    participant.endWatches();
    expect(await idle.answer).toEqual({ dirty: false, overdue: 0 });
  });

  pgIt('phase 2 of a prepared participant (the coordinator or recovery) wakes it too', async () => {
    expect(await participant.prepare('Q1.watch-3', reserve, 'Q3', new Date(Date.now() + MINUTE), LINES)).toEqual({ vote: 'PREPARED' });
    const watch = watching(MINUTE, true);
    await participant.commit('Q1.watch-3');
    expect(await watch.answer).toEqual({ dirty: true, overdue: 0 });
  });

  pgIt('a watch that did not ask to be woken (a gateway without a cache) waits out its time', async () => {
    const watch = watching(MINUTE, false);
    await participant.local('Q1.watch-4', reserve, LINES);
    await db.query(sql`SELECT 1`);
    expect(watch.state.answered).toBe(false);
    participant.endWatches();
    expect(await watch.answer).toEqual({ dirty: true, overdue: 0 });
  });

  pgIt('counts the participants PREPARED past their deadline, not those within it', async () => {
    expect(await participant.prepare('Q1.watch-5', reserve, 'Q3', new Date(Date.now() - 1000), [])).toEqual({ vote: 'PREPARED' });
    const other: Operation[] = [{ kind: 'reader.reserveLoan', readerId: 'Q1-DG0002', max: 5 }];
    expect(await participant.prepare('Q1.watch-6', other, 'Q3', new Date(Date.now() + MINUTE), [])).toEqual({ vote: 'PREPARED' });
    expect(await participant.watch(0, true)).toMatchObject({ overdue: 1 });
    await participant.abort('Q1.watch-5');
    expect(await participant.watch(0, true)).toMatchObject({ overdue: 0 });
  });
});
