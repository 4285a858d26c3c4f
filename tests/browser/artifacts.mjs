// The console links a job's artifacts (issue 11): submit a task that saves three files, wait for
// SUCCEEDED, and check the card lists them as download links minted by job(id) that really download.
//
//   node tests/browser/artifacts.mjs --url https://127.0.0.1:PORT/ --server-cert D/tls/server.pem \
//        --artifacts test-artifacts/console [--chromium /usr/bin/chromium]
//
// One JSON line per checkpoint on stdout; exit 0 when all held. Certificates as in console.mjs.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, report, watchdog } from './launch.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    'server-cert': { type: 'string' },
    artifacts: { type: 'string', default: 'test-artifacts/console' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
assert.ok(args.url && args['server-cert'], 'need --url and --server-cert');
mkdirSync(args.artifacts, { recursive: true });


const browser = await launchChromium(args);
const overall = watchdog(args);

const page = await (await browser.newContext({ viewport: { width: 1000, height: 900 } })).newPage();
page.setDefaultTimeout(20000);
try {
  await page.goto(args.url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('Task type').fill('test-artifacts');
  await page.getByLabel('Payload (JSON)').fill(JSON.stringify({ kib: 4, delay: 0.5 }));
  await page.locator('#submit').click();
  const card = page.locator('li.job').first();
  await card.and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
  // The SUCCEEDED event names the files without URLs; the console then reads job(id) for the links.
  await card.locator('.artifacts a').nth(2).waitFor();
  const links = await card.locator('.artifacts a').evaluateAll((as) =>
    as.map((a) => ({ name: a.textContent, href: a.getAttribute('href'), download: a.getAttribute('download') })));
  const listed = await card.locator('.artifacts li').allTextContents();
  const csv = links.find((l) => l.name === 'report.csv');
  const downloaded = await page.evaluate(async (href) => (await fetch(href)).text(), csv.href);
  await page.screenshot({ path: join(args.artifacts, 'artifacts.png'), fullPage: true });
  report('linked', { links, listed, csvHead: downloaded.slice(0, 20) });
  report('ok');
} catch (error) {
  report('failed', { error: String(error) });
  process.exitCode = 1;
} finally {
  clearTimeout(overall);
  await browser.close();
}
