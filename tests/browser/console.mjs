// Drives the web console in Debian's chromium with playwright-core (no browser download).
//
//   node tests/browser/console.mjs --url https://127.0.0.1:PORT/ --server-cert D/tls/server.pem \
//        --api-key KEY [--token JWT] --artifacts test-artifacts/console [--cut-socket] [--chromium /usr/bin/chromium]
//
// --token: the page acts as that user (`?token=`), so each run starts from an empty list of its own.
//
// Scenario: submit a sleep job and watch the bar reach 100 % with SUCCEEDED and the right result; a
// failing job shows its error; a long job is cancelled (CANCELLED shown); a reload finds the list intact
// (re-read from listJobs: the browser stores no job).
// With --cut-socket the page's WebSocket is cut while the first job runs and stays down until the job has
// finished on the server; restored, the page must still end showing the right final state (it re-syncs
// with job(id) after Amplify reconnects). One JSON line per checkpoint on stdout; exit 0 when all held.
//
// Certificates: the page is served with the local CA's certificate. Chromium is told to accept exactly
// that server key (--ignore-certificate-errors-spki-list, a pin) rather than ignoring all HTTPS errors.
// Node (the job(id) probe below) trusts the CA through NODE_EXTRA_CA_CERTS.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, report, watchdog } from './launch.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    'server-cert': { type: 'string' },
    'api-key': { type: 'string' },
    token: { type: 'string' },
    artifacts: { type: 'string', default: 'test-artifacts/console' },
    'cut-socket': { type: 'boolean', default: false },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
assert.ok(args.url && args['server-cert'] && args['api-key'], 'need --url, --server-cert and --api-key');

const cut = args['cut-socket'];
const prefix = cut ? 'cut-socket-' : '';
mkdirSync(args.artifacts, { recursive: true });
let shots = 0;
const shot = async (page, name) => {
  const path = join(args.artifacts, `${prefix}${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  report('screenshot', { path });
};

// base64(sha256(SubjectPublicKeyInfo)) of the leaf certificate (server.pem holds the leaf, then the CA).

const graphqlUrl = new URL('graphql', args.url).href;
async function serverJob(id) {
  const response = await fetch(graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json',
      ...(args.token ? { authorization: args.token } : { 'x-api-key': args['api-key'] }) },
    body: JSON.stringify({ query: 'query ($id: ID!) { job(id: $id) { status version } }', variables: { id } }),
  });
  return (await response.json()).data.job;
}

const browser = await launchChromium(args);
const overall = watchdog(args);

const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, reducedMotion: 'reduce' });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(String(error)));
page.on('console', (message) => {
  if (message.type() === 'error') pageErrors.push(message.text());
});

// The socket cut: the page's WebSockets to /graphql/realtime go through a route we can close, and while
// cut, new ones are refused and the context is offline (as a real network loss looks to the page).
const sockets = [];
let refusing = false;
if (cut) {
  await page.routeWebSocket(/\/graphql\/realtime$/, (ws) => {
    if (refusing) {
      void ws.close({ code: 1011, reason: 'network down (test)' });
      return;
    }
    const server = ws.connectToServer();
    sockets.push({ ws, server });
  });
}
async function cutSocket() {
  refusing = true;
  await context.setOffline(true);
  for (const { ws, server } of sockets.splice(0)) {
    await server.close({ code: 1001, reason: 'network down (test)' });
    await ws.close({ code: 1006, reason: 'network down (test)' });
  }
}
async function restoreSocket() {
  refusing = false;
  await context.setOffline(false);
}

const job = (id) => page.locator(`li.job[data-job-id="${id}"]`);
const statusOf = (id) => job(id).getAttribute('data-status');
const progressOf = (id) => job(id).locator('progress').evaluate((p) => (p.hasAttribute('value') ? p.value : null));

// Keyboard only: labelled fields, Tab to the button, Enter.
async function submit(type, payload) {
  const before = await page.locator('li.job').count();
  await page.getByLabel('Task type').fill(type);
  await page.getByLabel('Payload (JSON)').fill(JSON.stringify(payload));
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'submit', 'Tab from the payload reaches Submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('li.job').length === n + 1, before);
  const id = await page.locator('li.job').first().getAttribute('data-job-id');
  // Record every value the progress bar takes, to show it advancing.
  await page.evaluate((jobId) => {
    const bar = document.querySelector(`li.job[data-job-id="${jobId}"] progress`);
    const seen = ((window.__progress ??= {})[jobId] = []);
    const record = () => seen.push(bar.hasAttribute('value') ? bar.value : null);
    record();
    new MutationObserver(record).observe(bar, { attributes: true, attributeFilter: ['value'] });
  }, id);
  report('submitted', { type, id });
  return id;
}
const waitStatus = (id, status, timeout) =>
  job(id).and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout });
const announced = () => page.locator('#announcer').textContent();

try {
  await page.goto(args.token ? `${args.url}?token=${encodeURIComponent(args.token)}` : args.url);
  await page.waitForSelector('body[data-ready="true"]');
  assert.ok(!page.url().includes('token='), 'the token is taken out of the address bar');
  assert.equal(await page.locator('#announcer').getAttribute('aria-live'), 'polite');
  await shot(page, 'empty');

  // 1. A job that succeeds: the bar advances and reaches 100 %.
  const okId = await submit('sleep', { seconds: 2, steps: 8 });
  await page.waitForFunction((id) => {
    const li = document.querySelector(`li.job[data-job-id="${id}"]`);
    const bar = li?.querySelector('progress');
    return li?.dataset.status === 'RUNNING' && bar?.hasAttribute('value') && bar.value > 0 && bar.value < 100;
  }, okId);
  await shot(page, 'running');
  if (cut) {
    const before = { status: await statusOf(okId), progress: await progressOf(okId) };
    await cutSocket();
    await page.waitForFunction(() => !document.querySelector('#connection')?.dataset.state?.startsWith('Connected'));
    report('socket-cut', { connection: await page.getAttribute('#connection', 'data-state'), before });
    // Keep it down until the job has finished on the server: every event after the cut is missed.
    const deadline = Date.now() + 15000;
    let remote;
    while ((remote = await serverJob(okId)).status !== 'SUCCEEDED') {
      assert.ok(Date.now() < deadline, `the job did not finish on the server: ${JSON.stringify(remote)}`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // polling the server, not waiting on the page
    }
    const stale = { status: await statusOf(okId), progress: await progressOf(okId) };
    assert.equal(stale.status, 'RUNNING', 'nothing reached the page while the socket was cut');
    await shot(page, 'socket-cut');
    await restoreSocket();
    report('socket-restored', { stale, server: remote });
    await waitStatus(okId, 'SUCCEEDED', 25000); // Amplify reconnects 5 s after the network is back
    await page.waitForSelector('#connection[data-state="Connected"]');
  } else {
    await waitStatus(okId, 'SUCCEEDED', 15000);
  }
  const okCard = job(okId);
  const result = JSON.parse(await okCard.getByRole('region', { name: /result/i }).or(okCard.locator('pre.result')).first().textContent());
  const okProgress = await progressOf(okId);
  const seenProgress = await page.evaluate((id) => window.__progress[id], okId);
  report('succeeded', { id: okId, result, progress: okProgress, percentText: await okCard.locator('.percent').textContent(),
    badge: await okCard.locator('.badge').textContent(), seenProgress, elapsed: await okCard.locator('time.elapsed').textContent(),
    announced: await announced() });
  await shot(page, 'succeeded');

  // 2. A job that fails: its error is shown.
  const failId = await submit('fail', { message: 'demo failure', retryable: false });
  await waitStatus(failId, 'FAILED', 15000);
  report('failed-job', { id: failId, error: await job(failId).locator('.job-error').textContent(),
    badge: await job(failId).locator('.badge').textContent(), announced: await announced() });
  await shot(page, 'failed');

  // 3. A long job, cancelled from the keyboard while it runs.
  const cancelId = await submit('sleep', { seconds: 30, steps: 60 });
  await page.waitForFunction((id) => {
    const li = document.querySelector(`li.job[data-job-id="${id}"]`);
    return li?.dataset.status === 'RUNNING' && Number(li.querySelector('progress')?.value) > 0;
  }, cancelId);
  await shot(page, 'cancel-running');
  const cancelButton = page.getByRole('button', { name: `Cancel sleep job ${cancelId.slice(0, 8)}` });
  await cancelButton.focus();
  await page.keyboard.press('Enter');
  await waitStatus(cancelId, 'CANCELLED', 15000);
  report('cancelled', { id: cancelId, badge: await job(cancelId).locator('.badge').textContent(),
    cancelVisible: await cancelButton.isVisible(), announced: await announced() });
  await shot(page, 'cancelled');

  // 4. Reload: the list is intact, re-read from the API with listJobs (the token stays in this tab's session).
  const listed = async () => page.locator('li.job').evaluateAll((items) => items.map((li) => [li.dataset.jobId, li.dataset.status]));
  const beforeReload = await listed();
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction((n) => document.querySelectorAll('li.job').length === n, beforeReload.length);
  const afterReload = await listed();
  report('reloaded', { before: beforeReload, after: afterReload,
    result: JSON.parse(await job(okId).locator('pre.result').textContent()) });
  await shot(page, 'reloaded');

  assert.deepEqual(pageErrors, [], 'no errors in the page');
  report('ok', { pageErrors });
} catch (error) {
  report('failed', { error: String(error?.stack ?? error), pageErrors });
  await page.screenshot({ path: join(args.artifacts, `${prefix}failure.png`), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  clearTimeout(overall);
  await browser.close();
}
