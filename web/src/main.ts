// The appsync-jobs web console: submit jobs and watch all of yours live through Amplify JS v6 (generateClient()).
//
// Endpoint and auth come from `amplify_outputs.json` next to the page: the local server serves one describing
// itself, and the CDK stack's `AmplifyOutputs` output has the same shape. With a user-pool token (`?token=` or
// the form in the header) the page acts as that user: Amplify's `userPool` mode with a custom token provider.
//
// The list is the API's, not the browser's: listJobs (newest first, "Load more" follows nextToken) plus one
// onMyJobsUpdated subscription for every change to any of the caller's jobs, including jobs submitted
// elsewhere. Staying correct: every update carries `version` and older ones are dropped; each start_ack of
// that subscription (Hub "Subscription ack", also after every reconnect) re-reads the first page, and a
// return to Connected re-reads each unfinished job with job(id), so nothing published while the socket was
// down, or before the subscription was live, is missed.
import './style.css';
import { Amplify } from 'aws-amplify';
import {
  CONNECTION_STATE_CHANGE,
  ConnectionState,
  generateClient,
  type GraphQLQuery,
  type GraphQLSubscription,
} from 'aws-amplify/api';
import { decodeJWT } from 'aws-amplify/auth';
import { Hub } from 'aws-amplify/utils';
import {
  CANCEL_JOB,
  EXAMPLES,
  GET_JOB,
  LIST_JOBS,
  ON_MY_JOBS_UPDATED,
  RETRY_JOB,
  SUBMIT_JOB,
  describeError,
  isTerminal,
  needsLinks,
  type Job,
  type JobPage,
} from './jobs';
import { JobStore, type Entry } from './store';
import { JobView, shortId } from './view';

// Amplify's Hub event for each start_ack (CONTROL_MSG.SUBSCRIPTION_ACK in @aws-amplify/api-graphql).
const SUBSCRIPTION_ACK = 'Subscription ack';
const PAGE_SIZE = 20;
// The token lives in this tab's sessionStorage (it survives a reload, not the tab); jobs are never stored.
const TOKEN_KEY = 'appsync-jobs.console.token';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>('submit-form');
const typeInput = $<HTMLInputElement>('task-type');
const payloadInput = $<HTMLTextAreaElement>('payload');
const payloadError = $<HTMLParagraphElement>('payload-error');
const submitButton = $<HTMLButtonElement>('submit');
const submitError = $<HTMLParagraphElement>('submit-error');
const jobList = $<HTMLOListElement>('jobs');
const noJobs = $<HTMLParagraphElement>('no-jobs');
const loadMore = $<HTMLButtonElement>('load-more');
const listError = $<HTMLParagraphElement>('list-error');
const connection = $<HTMLSpanElement>('connection');
const announcer = $<HTMLDivElement>('announcer');

const newClient = () => generateClient();
type Client = ReturnType<typeof newClient>;
let client: Client;
const store = new JobStore();
const views = new Map<string, JobView>();
const syncing = new Map<string, boolean>(); // job id -> another read requested while one is in flight
let nextToken: string | null = null;
let firstPageRead = false;
let relisting: Promise<void> | null = null;
let relistAgain = false;

// ---------------------------------------------------------------- announcements and connection state

function announce(text: string): void {
  // Replace the text so a polite screen reader reads the latest change once.
  announcer.textContent = text;
}

const CONNECTION_TEXT: Record<string, string> = {
  [ConnectionState.Connected]: 'Live updates: connected',
  [ConnectionState.ConnectedPendingKeepAlive]: 'Live updates: connected (waiting for keep-alive)',
  [ConnectionState.ConnectedPendingNetwork]: 'Live updates: network lost',
  [ConnectionState.ConnectedPendingDisconnect]: 'Live updates: closing',
  [ConnectionState.ConnectionDisrupted]: 'Live updates: disrupted, reconnecting…',
  [ConnectionState.ConnectionDisruptedPendingNetwork]: 'Live updates: offline, will reconnect when the network is back',
  [ConnectionState.Connecting]: 'Live updates: connecting…',
  [ConnectionState.Disconnected]: 'Live updates: idle',
};

let connectionState: string = ConnectionState.Disconnected;
function onConnectionState(state: string): void {
  const previous = connectionState;
  connectionState = state;
  connection.dataset.state = state;
  connection.textContent = CONNECTION_TEXT[state] ?? `Live updates: ${state}`;
  if (state !== ConnectionState.Connected) delete document.body.dataset.live;
  if (state === ConnectionState.Connected && previous !== ConnectionState.Connected) {
    // (Re)connected: whatever happened to an unfinished job while we were away, read it now. Jobs beyond the
    // first page are not in the re-list that the start_ack triggers, so each is read on its own.
    for (const entry of store.entries.values()) if (!isTerminal(entry.job)) void resync(entry.job.id, false);
  }
}

// ---------------------------------------------------------------- state changes

function label(job: Job): string {
  return `${job.type} job ${shortId(job.id)}`;
}

/**
 * Take a job from any source; stale versions are ignored. A status change of a job on the page is announced
 * whatever brought it (after a reconnect it is the re-read that does); a job new to the page only when `live`
 * (an event or a mutation's answer), as listing a page is not news.
 */
function apply(job: Job | null | undefined, live: boolean): 'added' | 'updated' | null {
  if (!job) return null;
  const before = store.entries.get(job.id)?.job.status;
  const change = store.upsert(job);
  if (!change) return null;
  if (change.added) show(change.entry);
  else views.get(job.id)?.render();
  if (before === undefined) {
    if (live) announce(`New ${label(job)}: ${job.status}`);
  } else if (before !== job.status) {
    const detail = job.status === 'FAILED' && job.error ? ` (${job.error.type}: ${job.error.message})` : '';
    announce(`${label(job)} is ${job.status}${detail}`);
  }
  // Events describe artifacts without URLs (a URL is minted per reader): read the job once for its links.
  if (isTerminal(job) && needsLinks(job) && !linked.has(job.id)) {
    linked.add(job.id);
    void resync(job.id);
  }
  return change.added ? 'added' : 'updated';
}

/** Jobs whose artifact links were already fetched once (so a job without a store does not loop). */
const linked = new Set<string>();

function show(entry: Entry): void {
  const view = new JobView(entry, { cancel: (id) => void cancel(id), retry: (id) => void retry(id) });
  views.set(entry.job.id, view);
  const after = store.nextAfter(entry.job);
  const before = after ? views.get(after)?.root : undefined;
  if (before) jobList.insertBefore(view.root, before);
  else jobList.append(view.root);
  noJobs.hidden = true;
}

async function listPage(token: string | null): Promise<JobPage> {
  const { data } = await client.graphql<GraphQLQuery<{ listJobs: JobPage }>>({
    query: LIST_JOBS,
    variables: { limit: PAGE_SIZE, nextToken: token },
  });
  return data.listJobs;
}

function showListError(error: unknown): void {
  listError.textContent = `Could not read your jobs: ${describeError(error)}`;
}

/** Read the first page again and merge it (versions decide). Calls during a read coalesce into one more read. */
function relist(): Promise<void> {
  if (relisting) {
    relistAgain = true;
    return relisting;
  }
  relisting = (async () => {
    do {
      relistAgain = false;
      try {
        const page = await listPage(null);
        listError.textContent = '';
        for (const job of page.items) apply(job, false);
        if (!firstPageRead) {
          firstPageRead = true;
          nextToken = page.nextToken;
        }
      } catch (error) {
        showListError(error);
      }
    } while (relistAgain);
  })().finally(() => {
    relisting = null;
    loadMore.hidden = !nextToken;
    noJobs.hidden = store.entries.size > 0;
  });
  return relisting;
}

async function more(): Promise<void> {
  if (!nextToken) return;
  loadMore.disabled = true;
  loadMore.setAttribute('aria-busy', 'true');
  try {
    const page = await listPage(nextToken);
    listError.textContent = '';
    for (const job of page.items) apply(job, false);
    nextToken = page.nextToken;
    announce(`Loaded ${page.items.length} more jobs${nextToken ? '' : '; that is all of them'}`);
  } catch (error) {
    showListError(error);
  } finally {
    loadMore.disabled = false;
    loadMore.removeAttribute('aria-busy');
    loadMore.hidden = !nextToken;
    if (loadMore.hidden) $('jobs-heading').focus(); // the focused button is gone: keep keyboard users in the list
  }
}

/** Read the job with job(id). `again`: if a read is in flight, read once more after it (it may predate a reconnect). */
async function resync(id: string, again = true): Promise<void> {
  if (syncing.has(id)) {
    if (again) syncing.set(id, true);
    return;
  }
  try {
    do {
      syncing.set(id, false);
      try {
        const { data } = await client.graphql<GraphQLQuery<{ job: Job | null }>>({ query: GET_JOB, variables: { id } });
        apply(data?.job, true);
      } catch (error) {
        views.get(id)?.setNote(`Could not refresh: ${describeError(error)}`, 'error');
      }
    } while (syncing.get(id));
  } finally {
    syncing.delete(id);
  }
}

function followMine(): void {
  client
    .graphql<GraphQLSubscription<{ onMyJobsUpdated: Job | null }>>({ query: ON_MY_JOBS_UPDATED })
    .subscribe({
      next: ({ data }) => apply(data?.onMyJobsUpdated, true),
      error: (error: unknown) => {
        delete document.body.dataset.live;
        connection.dataset.state = 'Failed';
        connection.textContent = `Live updates stopped: ${describeError(error)}. Reload to retry.`;
      },
    });
}

// ---------------------------------------------------------------- user actions

async function cancel(id: string): Promise<void> {
  const view = views.get(id);
  view?.setCancelling(true);
  try {
    const { data } = await client.graphql<GraphQLQuery<{ cancelJob: Job | null }>>({ query: CANCEL_JOB, variables: { id } });
    apply(data?.cancelJob, true);
  } catch (error) {
    view?.setNote(`Cancel failed: ${describeError(error)}`, 'error');
    void resync(id);
  } finally {
    view?.setCancelling(false);
  }
}

async function retry(id: string): Promise<void> {
  const view = views.get(id);
  view?.setRetrying(true);
  try {
    const { data } = await client.graphql<GraphQLQuery<{ retryJob: Job | null }>>({ query: RETRY_JOB, variables: { id } });
    view?.setNote('');
    apply(data?.retryJob, true);
  } catch (error) {
    view?.setNote(`Retry failed: ${describeError(error)}`, 'error');
    void resync(id);
  } finally {
    view?.setRetrying(false);
    // The Retry button hides once the job is PENDING again: keep keyboard users on the job.
    if (view && document.activeElement === document.body) view.root.querySelector<HTMLElement>('h3')?.focus();
  }
}

let autoPayload = '';
function suggestPayload(): void {
  const example = EXAMPLES[typeInput.value.trim()];
  if (example === undefined || (payloadInput.value.trim() && payloadInput.value !== autoPayload)) return;
  autoPayload = JSON.stringify(example, null, 2);
  payloadInput.value = autoPayload;
  setFieldError(payloadInput, payloadError, '');
}

function setFieldError(field: HTMLInputElement | HTMLTextAreaElement, output: HTMLElement, text: string): void {
  output.textContent = text;
  if (text) field.setAttribute('aria-invalid', 'true');
  else field.removeAttribute('aria-invalid');
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  submitError.textContent = '';
  const type = typeInput.value.trim();
  if (!type) {
    submitError.textContent = 'Choose a task type.';
    typeInput.focus();
    return;
  }
  let payload: string;
  try {
    payload = JSON.stringify(JSON.parse(payloadInput.value.trim() || 'null'));
    setFieldError(payloadInput, payloadError, '');
  } catch (error) {
    setFieldError(payloadInput, payloadError, `The payload is not valid JSON: ${(error as Error).message}`);
    payloadInput.focus();
    return;
  }
  submitButton.disabled = true;
  submitButton.setAttribute('aria-busy', 'true');
  try {
    const { data } = await client.graphql<GraphQLQuery<{ submitJob: Job }>>({
      query: SUBMIT_JOB,
      variables: { input: { type, payload } },
    });
    const job = data.submitJob;
    // Its own events may have come first over the socket (a quick job can be finished already): then they
    // announced it, and this older answer changes nothing.
    if (apply(job, false) === 'added') announce(`Submitted ${label(job)}: ${job.status}`);
  } catch (error) {
    submitError.textContent = `Not submitted: ${describeError(error)}`;
  } finally {
    submitButton.disabled = false;
    submitButton.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------- identity

/** The user-pool token to act with: `?token=` (then taken out of the address bar) or this tab's saved one. */
function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.href); // keep the credential out of history and screenshots
    if (fromUrl.trim()) sessionStorage.setItem(TOKEN_KEY, fromUrl.trim());
    else sessionStorage.removeItem(TOKEN_KEY);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function setupIdentityForm(): void {
  $<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $<HTMLInputElement>('token').value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    window.location.reload();
  });
  $('use-api-key').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    window.location.reload();
  });
}

// ---------------------------------------------------------------- start

interface Outputs {
  data?: { url?: string; api_key?: string; aws_region?: string };
}

function fatal(text: string): void {
  const box = $<HTMLParagraphElement>('fatal');
  box.textContent = text;
  box.hidden = false;
  document.body.dataset.ready = 'error';
}

/** Configure Amplify from the outputs; with a token, as that user (userPool mode, custom token provider). */
function configure(outputs: Outputs & { data: { url: string } }, token: string | null): string {
  if (!token) {
    Amplify.configure(outputs as Parameters<typeof Amplify.configure>[0]);
    return 'the API key (everyone with the key shares its jobs)';
  }
  const accessToken = decodeJWT(token);
  const claims = accessToken.payload as Record<string, unknown>;
  const userPoolId = String(claims.iss ?? '').split('/').pop() ?? '';
  const userPoolClientId = String(claims.client_id ?? claims.aud ?? '');
  Amplify.configure(
    {
      Auth: { Cognito: { userPoolId, userPoolClientId } },
      API: { GraphQL: { endpoint: outputs.data.url, region: outputs.data.aws_region ?? 'us-east-1', defaultAuthMode: 'userPool' } },
    },
    { Auth: { tokenProvider: { getTokens: async () => ({ accessToken }) } } },
  );
  const name = claims.username ?? claims['cognito:username'] ?? claims.sub;
  return `${String(name)} (user-pool token)`;
}

async function start(): Promise<void> {
  for (const name of Object.keys(EXAMPLES)) $('task-types').append(Object.assign(document.createElement('option'), { value: name }));
  suggestPayload();
  typeInput.addEventListener('input', suggestPayload);
  form.addEventListener('submit', (event) => void submit(event));
  loadMore.addEventListener('click', () => void more());
  setupIdentityForm();

  let outputs: Outputs;
  try {
    const response = await fetch('amplify_outputs.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    outputs = (await response.json()) as Outputs;
    if (!outputs.data?.url) throw new Error('it has no data.url');
  } catch (error) {
    fatal(`Could not load amplify_outputs.json next to this page (${(error as Error).message}). ` +
      'The local server serves one; for a deployed stack, put the stack\'s AmplifyOutputs there.');
    return;
  }
  const token = takeToken();
  let who: string;
  try {
    who = configure(outputs as Outputs & { data: { url: string } }, token);
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    fatal(`That token could not be read (${(error as Error).message}). Reload to continue with the API key.`);
    return;
  }
  client = newClient();
  $('endpoint').textContent = outputs.data.url;
  $('identity').textContent = who;
  $('use-api-key').hidden = !token;
  if (outputs.data.url.startsWith('http://')) {
    // Amplify JS v6 turns http:// into wss:// for the real-time socket; a plain-HTTP server cannot answer it.
    const warning = $<HTMLParagraphElement>('warning');
    warning.textContent = 'This API is plain HTTP, but Amplify JS always opens its real-time socket with wss://, so live ' +
      'updates cannot connect (jobs still submit, and reloading re-reads them). Start the local server with TLS: ' +
      'APPSYNC_JOBS_TLS=1 make dev (or appsync-jobs dev --tls), trust its CA, and open the https:// address.';
    warning.hidden = false;
  }

  Hub.listen('api', ({ payload }) => {
    if (payload.event === CONNECTION_STATE_CHANGE) {
      onConnectionState(String((payload.data as { connectionState: string }).connectionState));
    } else if (payload.event === SUBSCRIPTION_ACK) {
      const query = (payload.data as { query?: unknown } | undefined)?.query;
      if (typeof query === 'string' && query.includes('onMyJobsUpdated')) {
        // Live from here on: one read catches whatever changed before (or while reconnecting).
        void relist().then(() => {
          document.body.dataset.live = 'true'; // tests wait on this: listed after the subscription was live
        });
      }
    }
  });

  followMine();
  await relist(); // the first paint does not wait for the socket; the ack reads the page again
  setInterval(() => {
    const now = Date.now();
    for (const [id, view] of views) if (!isTerminal(store.entries.get(id)!.job)) view.tick(now);
  }, 200);

  submitButton.disabled = false;
  document.body.dataset.ready = 'true';
}

void start();
