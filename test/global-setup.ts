import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Builds the PGlite template once per `npm test` run (see prepare-template.ts). */
export default function globalSetup(): void {
  const dir = mkdtempSync(join(tmpdir(), 'libfed-template-'));
  execFileSync(process.execPath, ['--import', 'tsx', join(__dirname, 'prepare-template.ts'), dir], {
    cwd: join(__dirname, '..'),
    stdio: 'inherit',
  });
  process.env.LIBFED_TEMPLATE_DIR = dir;
}
