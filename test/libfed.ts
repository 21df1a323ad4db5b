import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../launch/chain';

/** What one `libfed` run printed and how it ended. */
export interface LibfedRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `libfed` command as an operator would: a child process of the package's bin, from the project root. */
export function libfed(args: string[]): Promise<LibfedRun> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'libfed.js'), ...args], { cwd: ROOT, env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.once('close', (code) => done({ code, stdout, stderr })));
}
