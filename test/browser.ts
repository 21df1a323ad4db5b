import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** The system's Chromium (Debian's `chromium` package; `.ci/run` installs it when absent). */
export const CHROMIUM = '/usr/bin/chromium';

/** `describe`, or a skipped one saying why, when there is no Chromium to drive. */
export function describeInChromium(name: string, body: () => void): void {
  if (existsSync(CHROMIUM)) describe(name, body);
  else describe.skip(`${name} (skipped: no browser at ${CHROMIUM}; install Debian's chromium package, as .ci/run does)`, body);
}

export interface OfflineBrowser {
  context: BrowserContext;
  /** Every URL a page asked for outside this machine; each was aborted. */
  outside: string[];
  /** Every URL a page asked for. */
  requests: string[];
  /** Closes the browser and removes its profile; safe to call twice. */
  close(): Promise<void>;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Headless Chromium in a fresh profile, with every request to a host other
 * than this machine aborted and recorded: a page that works here works with
 * no network but the gateway's.
 */
export async function offlineBrowser(): Promise<OfflineBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'libfed-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args, headless: true });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const outside: string[] = [];
  const requests: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    requests.push(url);
    const { protocol, hostname } = new URL(url);
    if (protocol === 'data:' || LOCAL_HOSTS.has(hostname)) return route.continue();
    outside.push(url);
    return route.abort('internetdisconnected');
  });
  let closing: Promise<void> | undefined;
  return {
    context,
    outside,
    requests,
    close: () =>
      (closing ??= (async () => {
        try {
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      })()),
  };
}
