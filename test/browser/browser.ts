import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterEach } from 'vitest';
import { requireService } from '../harness/service-missing.js';

/**
 * Shared helpers of the browser tests: Debian's Chromium driven by playwright-core (no browser
 * download), a page at 1280 px as the UI is specified for, sign-in through the real form,
 * and a screenshot per screen under test-results/.
 */

export const CHROMIUM = process.env.SIGHTLINE_CHROMIUM ?? '/usr/bin/chromium';

/** Whether the browser tests can run here; skipped with an install hint when not (failed in CI). */
export function chromiumAvailable(): boolean {
  return requireService(
    'Chromium',
    existsSync(CHROMIUM),
    'install it with `apt-get install -y chromium` (or set SIGHTLINE_CHROMIUM to a Chromium binary)',
  );
}

/** ENVIRONMENT.md: Debian's Chromium starts in about 0.2 s with these. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

export async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL,
    viewport: { width: 1280, height: 900 },
    // The copy button of a new key writes to the clipboard.
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Through the sign-in form, as a person would; waits until the app shell shows. */
export async function signIn(page: Page, email: string, password: string, path = '/logs'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

export const RESULTS_DIR = resolve(import.meta.dirname, '../../test-results');

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, `ui-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Registers an afterEach that screenshots what the page showed when a test failed, beside the
 * per-screen screenshots. The page is asked for then: the files make it in beforeAll.
 */
export function screenshotFailures(page: () => Page | undefined): void {
  afterEach(async (context) => {
    const shown = page();
    if (context.task.result?.state === 'fail' && shown !== undefined) {
      await screenshot(shown, `failed-${context.task.name.slice(0, 40).replace(/\W+/g, '-')}`);
    }
  });
}

const UI_DIR = resolve(import.meta.dirname, '../../dist/ui');

/**
 * The gzipped size of the scripts and styles a page loaded: their `.gz` twins as the build wrote
 * them (vite.config.ts), so the number is what a browser that takes gzip downloads.
 */
export function gzippedSize(assetPaths: readonly string[]): { bytes: number; files: string[] } {
  let bytes = 0;
  const files: string[] = [];
  for (const path of new Set(assetPaths)) {
    const file = join(UI_DIR, path);
    const gz = `${file}.gz`;
    if (!existsSync(gz)) continue;
    bytes += statSync(gz).size;
    files.push(path);
  }
  return { bytes, files };
}

/** The build's index.html, to check the page the server answers is this build's. */
export function builtIndex(): string {
  return readFileSync(join(UI_DIR, 'index.html'), 'utf8');
}
