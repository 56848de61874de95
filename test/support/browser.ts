/**
 * The browser harness for the web UI's page tests (issue 8 §4; shared/reference/ui-screens.md):
 * Debian's Chromium (installed with apt-get when missing, like `ceph-server.ts` installs Ceph),
 * driven by playwright-core — never a browser download of Playwright's own, which fails on this
 * network. Pages keep their real Content-Security-Policy (no `bypassCSP`), and the harness records
 * console errors, uncaught page errors and CSP violations so a test can assert that nothing ran.
 * axe-core is evaluated through the DevTools protocol, not added as a `<script>` tag, so the
 * pages' strict nonce CSP does not block it.
 *
 * Cookies: Chromium stores a `__Host-` cookie (`Secure`, `HttpOnly`, `SameSite=Lax`) sent over
 * plain http by a server on 127.0.0.1 or on localhost, both being potentially trustworthy origins
 * (checked by test/ui/browser-harness.test.ts); UI tests use {@link UI_TEST_HOST}.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { AxeResults, ImpactValue, RunOptions } from 'axe-core';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { expect } from 'vitest';

const run = promisify(execFile);

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * The host UI tests serve pages on and point the browser at. Chromium treats both 127.0.0.1 and
 * localhost as secure contexts and keeps `Secure`/`__Host-` cookies set over http by either; the
 * literal address avoids any resolver (localhost may resolve to ::1 first).
 */
export const UI_TEST_HOST = '127.0.0.1';

/**
 * Flags for a root, offline machine: no sandbox (root), no GPU, and none of Chromium's own
 * background connections (the closed network refuses them, many at a time, at every start).
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Serialises installs between the test workers: apt-get and dpkg refuse to run twice at once. */
const INSTALL_LOCK = '/tmp/custody-chromium-install.lock';
const INSTALL_TIMEOUT_MS = 15 * 60_000;

let installing: Promise<string> | undefined;

/**
 * Returns the path of Debian's Chromium ({@link CHROMIUM_PATH}). When it is missing, installs the
 * `chromium` package (`apt-get install -y --no-install-recommends chromium`, after `apt-get
 * update` when the package lists are missing or stale), one worker at a time. Throws when the
 * browser is still not there afterwards.
 */
export function ensureChromium(): Promise<string> {
  if (existsSync(CHROMIUM_PATH)) return Promise.resolve(CHROMIUM_PATH);
  installing ??= installChromium().finally(() => {
    installing = undefined;
  });
  return installing;
}

async function installChromium(): Promise<string> {
  await withInstallLock(async () => {
    if (existsSync(CHROMIUM_PATH)) return;
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const options = { env, maxBuffer: 64 * 1024 * 1024 };
    const install = (): Promise<unknown> => run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], options);
    try {
      await install();
    } catch {
      // No package lists yet, or lists naming .debs the mirror no longer has: refresh and retry.
      await run('apt-get', ['update'], options);
      await install();
    }
  });
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} does not exist`);
  return CHROMIUM_PATH;
}

/** Runs `task` while holding a lock directory; a lock older than the install timeout is stale. */
async function withInstallLock(task: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(INSTALL_LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = await stat(INSTALL_LOCK).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (held > INSTALL_TIMEOUT_MS) await rmdir(INSTALL_LOCK).catch(() => undefined);
      else if (Date.now() > deadline) throw new Error(`another process held ${INSTALL_LOCK} for too long while installing chromium`, { cause: error });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    await task();
  } finally {
    await rmdir(INSTALL_LOCK).catch(() => undefined);
  }
}

/**
 * Launches headless Debian Chromium (installing it when missing) through playwright-core.
 * Playwright gives every launch a fresh, empty user-data-dir of its own, deleted on `close()`.
 * Close it in `afterAll`.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** One `securitypolicyviolation` event the page fired, as the browser reported it. */
export interface CspViolation {
  /** The directive that blocked the resource, e.g. `script-src-elem` or `script-src-attr`. */
  readonly effectiveDirective: string;
  /** `inline`, `eval` or the blocked URL. */
  readonly blockedURI: string;
  readonly documentURI: string;
  /** The first characters of the blocked inline code, when the policy asks for a sample. */
  readonly sample: string;
}

/** What a page reported while a test drove it; the arrays fill as events arrive. */
export interface PageDiagnostics {
  /** Text of every `console.error` message, CSP refusals included. */
  readonly consoleErrors: string[];
  /** Uncaught exceptions thrown by the page's scripts. */
  readonly pageErrors: string[];
  /** Every CSP violation, from the page's own `securitypolicyviolation` events. */
  readonly cspViolations: CspViolation[];
}

/** Options for {@link newPage}: any context option except `bypassCSP`, which tests must not use. */
export type NewPageOptions = Omit<BrowserContextOptions, 'bypassCSP'>;

const diagnostics = new WeakMap<Page, PageDiagnostics>();
const BINDING = '__custodyHarnessCspViolation';

/**
 * The few browser globals the in-page functions below touch. The project compiles without the DOM
 * library (it is server code), so they are typed here instead.
 */
interface InPage {
  readonly document: {
    addEventListener(type: 'securitypolicyviolation', listener: (event: CspViolation) => void, capture: boolean): void;
  };
  readonly [binding: string]: unknown;
}

/** Installed in every document before its own scripts; the DevTools protocol runs it despite CSP. */
function reportViolations(binding: string): void {
  const inPage = globalThis as unknown as InPage;
  inPage.document.addEventListener(
    'securitypolicyviolation',
    (event) => {
      const report = inPage[binding] as ((violation: CspViolation) => void) | undefined;
      report?.({ effectiveDirective: event.effectiveDirective, blockedURI: event.blockedURI, documentURI: event.documentURI, sample: event.sample });
    },
    true,
  );
}

/**
 * Opens a page in a fresh browser context (own cookies and storage; the pages' CSP enforced).
 * Its console errors, page errors and CSP violations are recorded: read them with
 * {@link pageDiagnostics}. Closing the page's context is the caller's job (`page.context().close()`).
 */
export async function newPage(browser: Browser, options: NewPageOptions = {}): Promise<Page> {
  const context = await browser.newContext({ ...options, bypassCSP: false });
  const record: PageDiagnostics = { consoleErrors: [], pageErrors: [], cspViolations: [] };
  await context.exposeBinding(BINDING, (_source, violation: CspViolation) => {
    record.cspViolations.push(violation);
  });
  await context.addInitScript(reportViolations, BINDING);
  const page = await context.newPage();
  diagnostics.set(page, record);
  page.on('console', (message) => {
    if (message.type() === 'error') record.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => record.pageErrors.push(error.message));
  return page;
}

/** The console errors, page errors and CSP violations recorded for a page from {@link newPage}. */
export function pageDiagnostics(page: Page): PageDiagnostics {
  const record = diagnostics.get(page);
  if (record === undefined) throw new Error('pageDiagnostics: this page was not opened with newPage()');
  return record;
}

/** The impacts an accessibility scan can report. */
export type AxeImpact = Exclude<ImpactValue, null>;

/** One axe-core rule that failed on the page. */
export interface AccessibilityViolation {
  /** The axe rule id, e.g. `image-alt` or `label`. */
  readonly id: string;
  readonly impact: AxeImpact | null;
  readonly help: string;
  readonly helpUrl: string;
  /** CSS selectors of the offending elements. */
  readonly targets: string[];
}

let axeSource: Promise<string> | undefined;

/**
 * Runs axe-core on the page as it is now and returns the violations whose impact is in
 * `impact` (default serious and critical). axe is evaluated over the DevTools protocol, so it runs
 * under the page's strict CSP without a script tag; it is loaded once per document.
 */
export async function accessibilityViolations(page: Page, options: { impact?: readonly AxeImpact[] } = {}): Promise<AccessibilityViolation[]> {
  const impacts: readonly AxeImpact[] = options.impact ?? ['serious', 'critical'];
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe === 'object');
  if (!loaded) {
    axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(await axeSource);
  }
  const results = await page.evaluate(async () => {
    const { axe } = globalThis as unknown as { axe: { run(options: RunOptions): Promise<AxeResults> } };
    const report = await axe.run({ resultTypes: ['violations'] });
    return report.violations.map((v) => ({ id: v.id, impact: v.impact ?? null, help: v.help, helpUrl: v.helpUrl, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return results.filter((v) => v.impact !== null && impacts.includes(v.impact));
}

/**
 * Writes a full-page PNG of the page to `test-results/screenshots/<name>.png` under the repository
 * root (directories created) and returns its path. `name` is a plain file name: letters, digits,
 * `.`, `_` and `-`.
 */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name)) throw new Error(`saveScreenshot: not a plain file name: ${JSON.stringify(name)}`);
  const dir = join(REPO_ROOT, 'test-results', 'screenshots');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true, type: 'png' });
  return path;
}

/**
 * Asserts that the page raised no CSP violation, uncaught page error or console error (as
 * recorded by {@link newPage}) and that axe finds no serious or critical violation, then saves a
 * screenshot named `name` ({@link saveScreenshot}). `name` also labels the failed assertions.
 */
export async function expectCleanPage(page: Page, name: string): Promise<void> {
  const diagnostics = pageDiagnostics(page);
  expect(diagnostics.cspViolations, `${name}: CSP violations`).toEqual([]);
  expect(diagnostics.pageErrors, `${name}: page errors`).toEqual([]);
  expect(diagnostics.consoleErrors, `${name}: console errors`).toEqual([]);
  expect(await accessibilityViolations(page), `${name}: accessibility`).toEqual([]);
  await saveScreenshot(page, name);
}

/**
 * Opens a fresh page ({@link newPage}) at `url`, asserts it was sent to `/sign-in`, signs in
 * through the form with `token` (the "API token" field and the "Sign in" button) and waits until
 * the browser is back at `arrived` — by default `url` itself; a predicate when the page's URL
 * may differ (a query string dropped, say). Returns the signed-in page.
 */
export async function newSignedInPage(browser: Browser, url: string, token: string, arrived: string | ((url: URL) => boolean) = url): Promise<Page> {
  const page = await newPage(browser);
  await page.goto(url);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(arrived);
  return page;
}
