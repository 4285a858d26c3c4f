// Many jobs, many browsers: the console's list is the API's (listJobs + onMyJobsUpdated), per user.
//
//   node tests/browser/many.mjs --url https://127.0.0.1:PORT/ --server-cert D/tls/server.pem \
//        --alice JWT --bob JWT --artifacts test-artifacts/console-many [--docs-screenshot docs/console.png]
//
// Context 1 (alice) submits a job. Context 2 (alice again, a fresh profile: no storage shared with 1) lists that
// job and follows it live to SUCCEEDED; a job alice submits in context 1 afterwards appears in context 2 by
// itself (onMyJobsUpdated from submitJob), fails, is retried from context 2 and context 1 sees the new attempt.
// Context 3 (bob, who pastes his token into the page's form) sees none of alice's jobs, before or after, only
// the one he submits; alice never sees his. Then bob's 22 jobs come in pages of 20 ("Load more jobs").
// One JSON line per checkpoint on stdout; exit 0 when all held.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, report, watchdog } from './launch.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    'server-cert': { type: 'string' },
    alice: { type: 'string' },
    bob: { type: 'string' },
    artifacts: { type: 'string', default: 'test-artifacts/console-many' },
    'docs-screenshot': { type: 'string' },
    chromium: { type: 'string', default: process.env.CHROMIUM || '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '90000' },
  },
});
assert.ok(args.url && args['server-cert'] && args.alice && args.bob, 'need --url, --server-cert, --alice and --bob');

mkdirSync(args.artifacts, { recursive: true });
let shots = 0;
const shot = async (page, name) => {
  const path = join(args.artifacts, `${String(++shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  report('screenshot', { path });
};


const browser = await launchChromium(args);
const overall = watchdog(args);

const pageErrors = [];
const identities = []; // [context, when, the page's "Acting as" text]
/** A fresh browser context (its own storage) with the console open as the token's user, subscribed and listed. */
async function open(name, token, { viaForm = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${name}: ${message.text()}`);
  });
  if (viaForm) {
    // As a person would: the page starts with the API key; paste the token into the header form.
    await page.goto(args.url);
    await page.waitForSelector('body[data-ready="true"]');
    identities.push([name, 'before', await page.locator('#identity').textContent()]);
    await page.getByText('Act as a signed-in user').click();
    await page.getByLabel('User-pool token').fill(token);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Use this token' }).click()]);
  } else {
    await page.goto(`${args.url}?token=${encodeURIComponent(token)}`);
  }
  // ready: first list shown; live: onMyJobsUpdated acknowledged and the list read again after that.
  await page.waitForSelector('body[data-ready="true"][data-live="true"]');
  identities.push([name, 'after', await page.locator('#identity').textContent()]);
  return page;
}

const card = (page, id) => page.locator(`li.job[data-job-id="${id}"]`);
const listed = (page) => page.locator('li.job').evaluateAll((items) => items.map((li) => [li.dataset.jobId, li.dataset.status]));
const waitStatus = (page, id, status, timeout = 20000) =>
  card(page, id).and(page.locator(`[data-status="${status}"]`)).waitFor({ timeout });

async function submit(page, type, payload) {
  const before = new Set((await listed(page)).map(([id]) => id));
  await page.getByLabel('Task type').fill(type);
  await page.getByLabel('Payload (JSON)').fill(JSON.stringify(payload));
  await page.getByRole('button', { name: 'Submit job' }).click();
  await page.waitForFunction((n) => document.querySelectorAll('li.job').length === n + 1, before.size);
  const id = (await listed(page)).map(([jobId]) => jobId).find((jobId) => !before.has(jobId));
  report('submitted', { type, id });
  return id;
}

/** Record every status and version a card shows from now on (proof of live updates, not a reload). */
async function record(page, id) {
  await page.evaluate((jobId) => {
    const li = document.querySelector(`li.job[data-job-id="${jobId}"]`);
    const seen = ((window.__seen ??= {})[jobId] = []);
    const note = () => seen.push([li.dataset.status, Number(li.dataset.version)]);
    note();
    new MutationObserver(note).observe(li, { attributes: true, attributeFilter: ['data-version'] });
  }, id);
}
const recorded = (page, id) => page.evaluate((jobId) => window.__seen[jobId], id);

try {
  // 1. Alice, first browser: submits a job that runs for a few seconds.
  const alice1 = await open('alice-1', args.alice);
  assert.equal((await listed(alice1)).length, 0, 'a fresh user starts with no jobs');
  const longId = await submit(alice1, 'sleep', { seconds: 5, steps: 10 });

  // 2. Alice, second browser (fresh storage): the job is listed by the API and followed live.
  const alice2 = await open('alice-2', args.alice);
  await card(alice2, longId).waitFor();
  await record(alice2, longId);
  const firstSight = await recorded(alice2, longId);
  await shot(alice2, 'alice-second-browser');
  await waitStatus(alice2, longId, 'SUCCEEDED');
  const seenLive = await recorded(alice2, longId);
  report('second-browser', { id: longId, firstSight, seenLive, listed: await listed(alice2),
    result: JSON.parse(await card(alice2, longId).locator('pre.result').textContent()) });

  // 3. Bob: none of alice's jobs.
  const bob = await open('bob', args.bob, { viaForm: true });
  const bobBefore = await listed(bob);
  const bobEmptyText = await bob.locator('#no-jobs').isVisible();
  await shot(bob, 'bob-empty');

  // 4. A job alice submits in browser 1 now appears in browser 2 by itself; it fails; browser 2 retries it.
  await alice2.evaluate(() => {
    const announcer = document.querySelector('#announcer');
    window.__announced = [];
    new MutationObserver(() => window.__announced.push(announcer.textContent)).observe(announcer,
      { childList: true, characterData: true, subtree: true });
  });
  const failId = await submit(alice1, 'fail', { message: 'flaky', retryable: false });
  await card(alice2, failId).waitFor();
  await waitStatus(alice2, failId, 'FAILED');
  await record(alice1, failId);
  const retryButton = alice2.getByRole('button', { name: `Retry fail job ${failId.slice(0, 8)}` });
  await retryButton.focus();
  await alice2.keyboard.press('Enter');
  await alice1.waitForFunction((id) => (window.__seen[id] ?? []).some(([status]) => status === 'PENDING'), failId);
  await alice1.waitForFunction((id) => {
    const li = document.querySelector(`li.job[data-job-id="${id}"]`);
    return li?.dataset.status === 'FAILED' && li.querySelector('.attempts')?.textContent === '2 attempts';
  }, failId);
  report('retried', { id: failId, seenInFirst: await recorded(alice1, failId),
    announcedInSecond: await alice2.evaluate(() => window.__announced),
    attempts: await card(alice2, failId).locator('.attempts').textContent(),
    retryVisibleAgain: await retryButton.isVisible(), announced: await alice1.locator('#announcer').textContent() });
  await shot(alice2, 'alice-retried');

  // 5. Bob's own job: he sees it (and only it); alice sees nothing of it.
  const bobId = await submit(bob, 'echo', { from: 'bob' });
  await waitStatus(bob, bobId, 'SUCCEEDED');
  report('isolation', { identities, bobBefore, bobEmptyText, bobAfter: await listed(bob), alice1: await listed(alice1),
    alice2: await listed(alice2), bobId });
  await shot(bob, 'bob-own-job');

  // 6. Paging: 21 more of bob's jobs through the API (not the page); a reload shows the newest 20 and
  //    "Load more jobs" the other two, newest first, after which the button is gone.
  const graphqlUrl = new URL('graphql', args.url).href;
  const apiSubmitted = [];
  for (let n = 0; n < 21; n += 1) {
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: args.bob },
      body: JSON.stringify({ query: 'mutation ($input: SubmitJobInput!) { submitJob(input: $input) { id owner } }',
        variables: { input: { type: 'echo', payload: JSON.stringify({ n }) } } }),
    });
    apiSubmitted.push((await response.json()).data.submitJob.id);
  }
  // They appear on bob's page by themselves (onMyJobsUpdated); once all have finished no event is left to
  // come, so what the reload shows is the listing alone.
  await bob.waitForFunction(() => {
    const items = [...document.querySelectorAll('li.job')];
    return items.length === 22 && items.every((li) => li.dataset.status === 'SUCCEEDED');
  }, undefined, { timeout: 30000 });
  await bob.reload();
  await bob.waitForSelector('body[data-ready="true"][data-live="true"]');
  const firstPage = await listed(bob);
  const loadMore = bob.getByRole('button', { name: 'Load more jobs' });
  const moreVisible = await loadMore.isVisible();
  await loadMore.focus();
  await bob.keyboard.press('Enter');
  await bob.waitForFunction(() => document.querySelectorAll('li.job').length === 22);
  report('paged', { apiSubmitted, firstPage: firstPage.map(([id]) => id), moreVisible,
    all: (await listed(bob)).map(([id]) => id), moreAfter: await loadMore.isVisible(), bobId,
    announced: await bob.locator('#announcer').textContent() });

  if (args['docs-screenshot']) {
    // The README's picture: a running job beside a failed and a finished one, as alice.
    const runningId = await submit(alice1, 'sleep', { seconds: 6, steps: 12 });
    await alice1.waitForFunction((id) => {
      const li = document.querySelector(`li.job[data-job-id="${id}"]`);
      return li?.dataset.status === 'RUNNING' && Number(li.querySelector('progress')?.value) >= 40;
    }, runningId, { timeout: 20000 });
    await alice1.screenshot({ path: args['docs-screenshot'], fullPage: true });
    report('screenshot', { path: args['docs-screenshot'] });
  }

  assert.deepEqual(pageErrors, [], 'no errors in the pages');
  report('ok', { pageErrors });
} catch (error) {
  report('failed', { error: String(error?.stack ?? error), pageErrors });
  process.exitCode = 1;
} finally {
  clearTimeout(overall);
  await browser.close();
}
