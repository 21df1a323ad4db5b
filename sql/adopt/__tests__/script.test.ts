import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mssql, postgres } from '../../dialect';
import { MIGRATIONS } from '../../migrations';
import { declaredKind, kindOf, parse } from '../../__tests__/tsql';
import { migrationPlan } from '../plan';
import { renderScript } from '../script';

const ROOT = join(__dirname, '..', '..', '..');

/** `libfed migrate` as an operator runs it, with a sites config that gives Q1 its legacy zone. */
async function libfedMigrate(args: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'libfed-migrate-'));
  try {
    const config = readFileSync(join(ROOT, 'schema', 'sites.yaml'), 'utf8').replace(/(- id: Q1\n)/, '$1    legacyTimeZone: "+07:00"\n');
    writeFileSync(join(dir, 'sites.yaml'), config);
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'libfed.js'), 'migrate', ...args, '--config', join(dir, 'sites.yaml'), '--data', dir]);
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The script's batches after its header: each `-- note`, `IF <due>`, `BEGIN`, statements, `END`. */
function batches(script: string) {
  const [header, ...rest] = script.split(/\nGO\n/).map((b) => b.trim()).filter(Boolean);
  return {
    header,
    steps: rest.map((text) => {
      const m = /^-- (.*)\nIF (.*)\nBEGIN\n([\s\S]*)\nEND$/.exec(text);
      if (!m) throw new Error(`not a guarded batch:\n${text}`);
      // Statements end with `;` at the end of a line (continuation lines are indented further).
      const statements = m[3].split(/;\n(?= {4}\S)|;$/).map((s) => s.trim()).filter(Boolean);
      return { text, note: m[1], due: m[2], statements };
    }),
  };
}

/** Procedural statements of the adoption steps, which the parser does not read. */
const PROCEDURAL = /^(DECLARE @\w+ |SELECT @\w+ = |EXEC sp_executesql @\w+$|IF (@\w+ IS NOT NULL|EXISTS \(SELECT 1 FROM sys\.foreign_keys)|THROW 5\d{4}, N'|BEGIN TRANSACTION$|COMMIT TRANSACTION$)/;

describe('libfed migrate --print --dialect mssql', () => {
  let script: string;

  beforeAll(async () => {
    script = await libfedMigrate(['--site', 'Q1', '--print', '--dialect', 'mssql']);
  });

  it('prints exactly the plan for the site, with its legacy zone', () => {
    expect(script).toBe(renderScript(mssql, 'Q1', migrationPlan(mssql, 'Q1', { legacyOffsetMinutes: 420 })));
    expect(script).toContain('DATEADD(minute, -420, NgayMuon)');
  });

  it('holds no PostgreSQL-only syntax', () => {
    for (const pattern of [/\bLIMIT\b/i, /\bSERIAL\b/i, /\bRETURNING\b/i, /\bON CONFLICT\b/i, /\$\d/, /\bDO \$/, /::/, /\b(TABLE|INDEX|COLUMN) IF NOT EXISTS\b/i, /\bILIKE\b/i, /timestamptz/i]) {
      expect(script).not.toMatch(pattern);
    }
  });

  it('is GO batches: session settings first, then every step guarded by a catalog check', () => {
    const { header, steps } = batches(script);
    expect(header.split('\n').filter((l) => !l.startsWith('--'))).toEqual(expect.arrayContaining(['SET XACT_ABORT ON;', 'SET QUOTED_IDENTIFIER ON;']));
    expect(header.split('\n').every((l) => l.startsWith('--') || /^SET \w+ (ON|OFF);$/.test(l))).toBe(true);
    expect(steps.length).toBe(migrationPlan(mssql, 'Q1').length);
    for (const step of steps) expect(step.due).toMatch(/OBJECT_ID|COL_LENGTH|COLUMNPROPERTY|sys\.\w+|libfed_migrations|EXISTS \(SELECT 1 FROM (PHIEUMUON|QUYENSACH)/);
  });

  it('guards each DDL statement by the very object it makes', () => {
    for (const { due, statements } of batches(script).steps) {
      for (const s of statements) {
        const table = /^CREATE TABLE (\w+)/.exec(s);
        if (table) expect(due).toBe(`OBJECT_ID(N'${table[1]}', N'U') IS NULL`);
        const index = /^CREATE (?:UNIQUE )?INDEX (\w+) ON (\w+)/.exec(s);
        if (index) expect(due).toBe(`NOT EXISTS (SELECT 1 FROM sys.indexes WHERE object_id = OBJECT_ID(N'${index[2]}') AND name = N'${index[1]}')`);
        const column = /^ALTER TABLE (\w+) ADD (?!CONSTRAINT)(\w+)/.exec(s);
        if (column) expect(due).toBe(`COL_LENGTH(N'${column[1]}', N'${column[2]}') IS NULL`);
      }
    }
  });

  it('writes every migration and its ledger row', () => {
    for (const m of MIGRATIONS) expect(script).toContain(`WHERE id = ${m.id})\nBEGIN\n    INSERT INTO libfed_migrations (id, name, applied_at) VALUES (${m.id}, N'${m.name}', SYSUTCDATETIME());`);
  });

  it('names the constraints it adds', () => {
    for (const table of ['CHINHANH', 'SACH', 'QUYENSACH', 'DOCGIA', 'PHIEUMUON']) expect(script).toContain(`ALTER TABLE ${table} ADD version int NOT NULL CONSTRAINT DF_${table}_version DEFAULT 1`);
    expect(script).toContain('ALTER TABLE DOCGIA ADD CONSTRAINT PK_DOCGIA PRIMARY KEY (MaDG)');
  });

  it('every statement and every guard parses as T-SQL of the kind it starts with', () => {
    const failures: string[] = [];
    for (const { due, statements } of batches(script).steps) {
      const check = `SELECT CASE WHEN ${due} THEN 1 ELSE 0 END AS due`;
      try {
        if (kindOf(parse(check)) !== 'select') failures.push(check);
      } catch (error) {
        failures.push(`${(error as Error).message.slice(0, 80)}: ${check}`);
      }
      for (const s of statements) {
        if (PROCEDURAL.test(s)) continue;
        try {
          const kind = kindOf(parse(s));
          if (kind !== declaredKind(s)) failures.push(`parsed as ${kind}: ${s}`);
        } catch (error) {
          failures.push(`${(error as Error).message.slice(0, 80)}: ${s}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('the parse check can fail: a PostgreSQL statement in a batch is caught', () => {
    expect(() => parse("ALTER TABLE phieumuon ALTER COLUMN NgayMuon TYPE timestamptz(3) USING (NgayMuon - interval '420 minutes') AT TIME ZONE 'UTC'")).toThrow();
  });
});

describe('libfed migrate --print for PostgreSQL', () => {
  it('is one DO block per step, each guarded, and changes no value without a guard', () => {
    const script = renderScript(postgres, 'Q1', migrationPlan(postgres, 'Q1', { legacyOffsetMinutes: 420 }));
    const blocks = script.trim().split('\n\n').slice(1);
    expect(blocks.length).toBe(migrationPlan(postgres, 'Q1').length);
    for (const block of blocks) expect(block).toMatch(/^-- .*\nDO \$libfed\$\nBEGIN\n {2}IF .* THEN\n[\s\S]*\n {2}END IF;\nEND\n\$libfed\$;$/);
  });
});
