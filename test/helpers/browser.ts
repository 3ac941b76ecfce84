// Headless Debian Chromium driven by playwright-core, for tests against the Temporal UI. Never
// downloads a browser: it runs /usr/bin/chromium (or CELLOS_CHROMIUM) with a fresh, throwaway profile
// and the flags that keep it off this machine's closed network.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

const repoRoot = resolve(import.meta.dirname, '..', '..');

export const CHROMIUM_PATH = process.env.CELLOS_CHROMIUM ?? '/usr/bin/chromium';

/** Without the background-networking flags Chromium keeps dialling Google's hosts, refused here. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** The fresh --user-data-dir of this browser (removed on close). */
  readonly userDataDir: string;
  /** Closes the browser (killing it if it does not close in time) and removes its profile. Idempotent. */
  close(): Promise<void>;
}

/** Launches Chromium with a new, empty profile and returns its first page. */
export async function launchBrowser(
  opts: {
    width?: number;
    height?: number;
    /** Only these origins are reached; other requests (e.g. the Temporal UI's news feed) are aborted. */
    allowOrigins?: readonly string[];
  } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no Chromium at ${CHROMIUM_PATH}: install Debian's chromium (scripts/setup.sh does) or set CELLOS_CHROMIUM`,
    );
  }
  const userDataDir = await mkdtemp(join(tmpdir(), 'cellos-chromium-'));
  let context: BrowserContext | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (context) {
        const closed = context.close().then(
          () => true,
          () => false,
        );
        await Promise.race([closed, sleep(10_000).then(() => false)]);
      }
      // Playwright kills the browser on close (and on a failed launch); this catches whatever it missed.
      await killProfileProcesses(userDataDir);
      await rm(userDataDir, { recursive: true, force: true }).catch(() => undefined);
    })());
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: { width: opts.width ?? 1440, height: opts.height ?? 1000 },
      timeout: 30_000,
    });
    if (opts.allowOrigins) {
      const allowed = new Set(opts.allowOrigins.map((o) => new URL(o).origin));
      await context.route('**/*', (route) =>
        allowed.has(new URL(route.request().url()).origin) ? route.continue() : route.abort('blockedbyclient'),
      );
    }
    context.setDefaultTimeout(15_000);
    const page = context.pages()[0] ?? (await context.newPage());
    return { context, page, userDataDir, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** SIGKILLs the Chromium processes (and their process groups) started with this profile. */
async function killProfileProcesses(userDataDir: string): Promise<void> {
  const flag = `--user-data-dir=${userDataDir}`;
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!argv.includes(flag)) continue;
    // The browser process leads its own group (Playwright spawns it detached); its helpers are in it.
    if (!argv.some((a) => a.startsWith('--type='))) killQuietly(-Number(pid));
    killQuietly(Number(pid));
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Where a test's screenshots go: test-results/ui/<name>.png under the repo (gitignored). */
export function screenshotPath(name: string): string {
  return join(repoRoot, 'test-results', 'ui', `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
}

/**
 * A full-page screenshot saved as a test artifact; returns its path. (The Temporal UI scrolls inside its
 * own main pane, so "full page" is the viewport there: give such pages a tall viewport.)
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const path = screenshotPath(name);
  await mkdir(dirname(path), { recursive: true });
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** innerText with runs of whitespace (line breaks of the JSON and markdown views) collapsed. */
export async function textOf(locator: Locator): Promise<string> {
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}

/** Clicks a tab of the UI's workflow page and waits for its URL. */
export async function openTab(page: Page, testId: string, path: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.waitForURL((url) => url.pathname.endsWith(`/${path}`));
}

/** The Result JSON view of the workflow page's history tab (written against UI 2.54.1). */
export function resultJsonView(page: Page): Locator {
  return page
    .getByTestId('input-and-result')
    .locator('div', { has: page.locator('h3', { hasText: /^Result$/ }) })
    .locator('.cm-content')
    .last();
}
