import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from '../../../scripts/system.ts';
import { startEmbeddedSystem } from '../../support/embedded-system.ts';
import { testenv } from '../../support/testenv.ts';

/** Where the browser tests keep their screenshots (gitignored; CI keeps them as artifacts). */
export const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');

export interface UiSystem {
  readonly baseUrl: string;
  readonly urls: Readonly<Record<string, string>>;
  readonly browser: Browser;
  /** A fresh browser context (own sessionStorage: one signed-in user) and a page in it. */
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  /** Page errors and CSP violations seen in any page (a working UI has none). */
  readonly problems: string[];
  /** Every API answer of 5xx or 429 (the system under load is expected to have none; named in failure messages). */
  readonly serverErrors: string[];
  close(): Promise<void>;
}

/**
 * The whole system in this process (every service on a free port, in-memory stores, one in-process event bus), the
 * gateway serving the UI, and headless Chromium (the Debian package, nothing downloaded).
 */
export async function startUiSystem(): Promise<UiSystem> {
  const { system, bus, urls } = await startEmbeddedSystem({
    // The test machine's CPUs are shared with other suites: a slow moment must not turn into a 504 on a picture.
    UPSTREAM_TIMEOUT_MS: '10000',
  });
  if (!urls.gateway) throw new Error('the gateway (services/gateway/src/main.ts) is needed to serve the UI');
  const browser = await chromium.launch({ executablePath: testenv('CHROMIUM_PATH'), args: ['--no-sandbox'] });
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const serverErrors: string[] = [];
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    baseUrl: urls.gateway,
    urls,
    browser,
    problems,
    serverErrors,
    async newPage({ width = 1280, height = 860 } = {}) {
      const context = await browser.newContext({
        baseURL: urls.gateway,
        viewport: { width, height },
        deviceScaleFactor: 1,
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(20000);
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
      page.on('response', (res) => {
        if (res.status() >= 500 || res.status() === 429)
          serverErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`);
      });
      page.on('console', (msg) => {
        if (msg.type() === 'error' && /Content Security Policy|Refused to/.test(msg.text()))
          problems.push(msg.text());
      });
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await system.shutdown('test over');
      await bus.close();
    },
  };
}

/** A full-page screenshot in artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/** Width, height and size of a PNG file, read from its signature and IHDR chunk. */
export function pngInfo(path: string): { width: number; height: number; bytes: number } {
  const buf = readFileSync(path);
  const signature = buf.subarray(0, 8).toString('hex');
  if (signature !== '89504e470d0a1a0a' || buf.subarray(12, 16).toString('latin1') !== 'IHDR') {
    throw new Error(`${path} is not a PNG`);
  }
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bytes: statSync(path).size };
}
