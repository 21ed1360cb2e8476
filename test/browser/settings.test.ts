import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import {
  chromiumAvailable,
  launchBrowser,
  newPage,
  screenshot,
  screenshotFailures,
  signIn,
} from './browser.js';

/**
 * The Settings pages in a real Chromium against `sightline start`: an owner adds a user,
 * changes its role and removes it, reads the retention as configured, changes their password
 * and signs in with the new one; a viewer sees the users without any control; and the sign-in
 * form says when to try again after too many failures.
 */

const OWNER = { email: 'owner@settings.test', password: 'settings-owner-first-pw' };
const VIEWER = { email: 'viewer@settings.test', password: 'settings-viewer-pw-1' };
const NEW_USER = 'ana@settings.test';
const NEW_PASSWORD = 'settings-owner-second-pw';

interface UserView {
  id: string;
  email: string;
  role: string;
  disabledAt: string | null;
}

describe.skipIf(!chromiumAvailable())('the Settings pages in Chromium', () => {
  const sightline = sightlineForSuite({
    user: OWNER,
    env: {
      // Configured values the retention page must show (the rest are the defaults).
      SIGHTLINE_STORE__RETENTION__DAYS__LOGS: '3',
      SIGHTLINE_STORE__RETENTION__DAYS__METRIC_ROLLUPS1H: '0',
      SIGHTLINE_AUTH__LOGIN__MAX_FAILURES_PER_EMAIL: '3',
    },
  });
  let browser: Browser;
  let page: Page;

  const usersByKey = async (): Promise<UserView[]> => {
    const response = await fetch(`${sightline.server.apiUrl}/api/v1/users`, {
      headers: { authorization: `Bearer ${sightline.server.key}` },
    });
    return ((await response.json()) as { data: UserView[] }).data;
  };

  beforeAll(async () => {
    const viewer = await fetch(`${sightline.server.apiUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sightline.server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...VIEWER, role: 'viewer' }),
    });
    expect(viewer.status, await viewer.clone().text()).toBe(201);
    browser = await launchBrowser();
    page = await newPage(browser, sightline.server.apiUrl);
    await signIn(page, OWNER.email, OWNER.password, '/settings/users');
  });

  screenshotFailures(() => page);

  afterAll(async () => {
    await browser?.close();
  });

  it('the owner adds a viewer with a generated password, changes its role and removes it', async () => {
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: 'Users of the organization' });
    await table.getByRole('row', { name: new RegExp(`${OWNER.email} \\(you\\)`) }).waitFor();
    expect(await page.title()).toBe('Users · Sightline');

    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Email').fill(NEW_USER);
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Add user' }).click();
    const password = (await page.getByTestId('new-user-password').textContent()) ?? '';
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    const row = table.getByRole('row', { name: new RegExp(NEW_USER) });
    await expect.poll(() => row.getByLabel(`Role of ${NEW_USER}`).inputValue()).toBe('viewer');
    await screenshot(page, 'settings-users');
    // The password shown is the one the user signs in with.
    const signedIn = await fetch(`${sightline.server.apiUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: NEW_USER, password }),
    });
    expect(signedIn.status).toBe(200);
    await page.getByRole('button', { name: 'Done' }).click();

    await row.getByLabel(`Role of ${NEW_USER}`).selectOption('member');
    await row.getByRole('button', { name: `Change role of ${NEW_USER}` }).click();
    await expect
      .poll(async () => (await usersByKey()).find((u) => u.email === NEW_USER)?.role)
      .toBe('member');
    await row.getByRole('button', { name: `Change role of ${NEW_USER}` }).waitFor({ state: 'detached' });
    expect(await row.getByLabel(`Role of ${NEW_USER}`).inputValue()).toBe('member');

    // The owner's own row has no controls: nobody removes themselves, and a changed own role
    // would leave this page's session stale.
    const ownRow = table.getByRole('row', { name: new RegExp(`${OWNER.email} \\(you\\)`) });
    expect(await ownRow.getByRole('button').count()).toBe(0);
    expect(await ownRow.getByRole('combobox').count()).toBe(0);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: `Remove ${NEW_USER}` }).click();
    await row.getByText(/^removed /).waitFor();
    expect((await usersByKey()).find((u) => u.email === NEW_USER)?.disabledAt).toMatch(/^\d{4}-/);
  });

  it('shows the retention per table with the configured values in human terms', async () => {
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Retention' }).click();
    const table = page.getByRole('table', { name: 'Retention per table' });
    await table.waitFor();
    expect(page.url()).toMatch(/\/settings\/retention$/);
    const answer = (await (
      await fetch(`${sightline.server.apiUrl}/api/v1/settings/retention`, {
        headers: { authorization: `Bearer ${sightline.server.key}` },
      })
    ).json()) as { data: Array<{ table: string; days: number }> };
    // Every configured table has its row with its value.
    expect(await table.locator('tbody tr').count()).toBe(answer.data.length);
    for (const { table: name, days } of answer.data) {
      await table.getByText(`store.retention.days.${name} = ${days}`).waitFor();
    }
    const cells = async (name: string) => table.locator(`tr[data-table="${name}"] td`).allTextContents();
    expect(await cells('logs')).toEqual(['Log records', 'raw', 'store.retention.days.logs = 3', '3 days']);
    expect((await cells('metricRollups1h'))[3]).toBe('forever');
    expect((await cells('metricRollups5m'))[3]).toBe('90 days (about 3 months)');
    expect((await cells('metricRollups1m'))[3]).toBe('30 days');
    expect((await cells('deadLetters'))[3]).toBe('7 days');
    expect((await cells('queryStats'))[3]).toBe('14 days (2 weeks)');
    await page.getByText('Store: duckdb').waitFor();
    await screenshot(page, 'settings-retention');
  });

  it('changes the owner’s password; the old one stops working and the new one signs in', async () => {
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Change your password' }).waitFor();
    await page.getByText(OWNER.email, { exact: true }).first().waitFor();

    await page.getByLabel('Current password').fill(OWNER.password);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('New password again').fill(`${NEW_PASSWORD}x`);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('The two new passwords differ').waitFor();

    await page.getByLabel('Current password').fill('not the current one');
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('that is not your current password').waitFor();

    await page.getByLabel('Current password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed. Your other sessions have been signed out.').waitFor();
    await screenshot(page, 'settings-account');
    // This session stays signed in.
    await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('table', { name: 'Users of the organization' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Sightline' }).waitFor();
    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong email or password').waitFor();
    await page.getByLabel('Password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });

  it('a viewer sees the users and keys without any control, and no retention', async () => {
    const viewerPage = await newPage(browser, sightline.server.apiUrl);
    try {
      await signIn(viewerPage, VIEWER.email, VIEWER.password, '/settings/users');
      const table = viewerPage.getByRole('table', { name: 'Users of the organization' });
      await table.getByRole('row', { name: new RegExp(OWNER.email) }).waitFor();
      await viewerPage.getByText('you can see the users but not add, change or remove them').waitFor();
      expect(await viewerPage.getByRole('form', { name: 'Add a user' }).count()).toBe(0);
      expect(await table.getByRole('combobox').count()).toBe(0);
      expect(await table.getByRole('button').count()).toBe(0);
      const nav = viewerPage.getByRole('navigation', { name: 'Settings' });
      expect(await nav.getByRole('link').allTextContents()).toEqual(['API keys', 'Users', 'Account']);
      await screenshot(viewerPage, 'settings-users-viewer');

      await nav.getByRole('link', { name: 'API keys' }).click();
      await viewerPage.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(await viewerPage.getByRole('form', { name: 'Create an API key' }).count()).toBe(0);

      // Typed in by hand, the retention page shows the API's refusal and what to do.
      await viewerPage.goto('/settings/retention');
      await viewerPage.getByText('reading the retention settings needs the member role or higher').waitFor();
      await viewerPage.getByText('ask an owner or admin').waitFor();
    } finally {
      await viewerPage.context().close();
    }
  });

  it('the sign-in form says when to try again after too many failed attempts', async () => {
    const fresh = await newPage(browser, sightline.server.apiUrl);
    try {
      await fresh.goto('/sign-in');
      await fresh.getByLabel('Email').fill('guess@settings.test');
      for (let i = 0; i < 3; i++) {
        await fresh.getByLabel('Password').fill(`wrong guess number ${i}`);
        const answered = fresh.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
        await fresh.getByRole('button', { name: 'Sign in' }).click();
        expect((await answered).status()).toBe(401);
        await fresh.getByText('Wrong email or password').waitFor();
      }
      await fresh.getByLabel('Password').fill('one more wrong guess');
      await fresh.getByRole('button', { name: 'Sign in' }).click();
      const alert = fresh.getByRole('alert');
      await alert.getByText('Sign-in is paused').waitFor();
      expect(await alert.textContent()).toMatch(
        /too many failed sign-ins for this email or from this address; try again in 15 minutes\.$/,
      );
      await screenshot(fresh, 'settings-sign-in-limited');
    } finally {
      await fresh.context().close();
    }
  });
});
