// The appsync-jobs web console: submit jobs and watch them live through Amplify JS v6 (generateClient()).
//
// Endpoint and auth come from `amplify_outputs.json` next to the page: the local server serves one describing
// itself, and the CDK stack's `AmplifyOutputs` output has the same shape.
//
// Staying correct across disconnects: every update carries `version`, older ones are dropped; each
// subscription's start_ack (Hub "Subscription ack") and every return to Connected (Hub
// CONNECTION_STATE_CHANGE) re-reads the job with job(id), so anything published while the socket was
// down, or before the subscription was live, is picked up.
import './style.css';
import { Amplify } from 'aws-amplify';
import {
  CONNECTION_STATE_CHANGE,
  ConnectionState,
  generateClient,
  type GraphQLQuery,
  type GraphQLSubscription,
} from 'aws-amplify/api';
import { Hub } from 'aws-amplify/utils';
import {
  CANCEL_JOB,
  EXAMPLES,
  GET_JOB,
  ON_JOB_UPDATED,
  SUBMIT_JOB,
  describeError,
  isTerminal,
  needsLinks,
  type Job,
} from './jobs';
import { JobStore, type Entry } from './store';
import { JobView, shortId } from './view';

// Amplify's Hub event for each start_ack (CONTROL_MSG.SUBSCRIPTION_ACK in @aws-amplify/api-graphql).
const SUBSCRIPTION_ACK = 'Subscription ack';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>('submit-form');
const typeInput = $<HTMLInputElement>('task-type');
const payloadInput = $<HTMLTextAreaElement>('payload');
const payloadError = $<HTMLParagraphElement>('payload-error');
const submitButton = $<HTMLButtonElement>('submit');
const submitError = $<HTMLParagraphElement>('submit-error');
const jobList = $<HTMLOListElement>('jobs');
const noJobs = $<HTMLParagraphElement>('no-jobs');
const connection = $<HTMLSpanElement>('connection');
const announcer = $<HTMLDivElement>('announcer');

const newClient = () => generateClient();
type Client = ReturnType<typeof newClient>;
let client: Client;
let store: JobStore;
const views = new Map<string, JobView>();
const live = new Map<string, { unsubscribe(): void }>();
const syncing = new Map<string, boolean>(); // job id -> another read requested while one is in flight

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
  if (state === ConnectionState.Connected && previous !== ConnectionState.Connected) {
    // (Re)connected: whatever happened while we were away, read it now.
    for (const entry of store.entries.values()) if (!isTerminal(entry.job) && !entry.missing) void resync(entry.job.id, false);
  }
}

// ---------------------------------------------------------------- state changes

function label(job: Job): string {
  return `${job.type} job ${shortId(job.id)}`;
}

/** Take a job from any source (subscription, query, mutation); stale versions are ignored. */
function apply(job: Job | null | undefined): void {
  if (!job) return;
  const entry = store.entries.get(job.id);
  const view = views.get(job.id);
  if (!entry || !view || job.version < entry.job.version) return;
  const before = entry.job.status;
  entry.job = job;
  entry.missing = false;
  store.save();
  view.render();
  if (before !== job.status) {
    const detail = job.status === 'FAILED' && job.error ? ` (${job.error.type}: ${job.error.message})` : '';
    announce(`${label(job)} is ${job.status}${detail}`);
  }
  if (isTerminal(job)) unfollow(job.id);
  // Events describe artifacts without URLs (a URL is minted per reader): read the job once for its links.
  if (isTerminal(job) && needsLinks(job) && !linked.has(job.id)) {
    linked.add(job.id);
    void resync(job.id);
  }
}

/** Jobs whose artifact links were already fetched once (so a job without a store does not loop). */
const linked = new Set<string>();

function follow(id: string): void {
  const entry = store.entries.get(id);
  if (live.has(id) || !entry || isTerminal(entry.job) || entry.missing) return;
  const subscription = client
    .graphql<GraphQLSubscription<{ onJobUpdated: Job | null }>>({ query: ON_JOB_UPDATED, variables: { id } })
    .subscribe({
      next: ({ data }) => apply(data?.onJobUpdated),
      error: (error: unknown) => {
        live.delete(id);
        // The subscribe-time check answers NotFound for a job this key cannot read (or that is gone).
        if (describeError(error).includes('NotFound')) return markMissing(id);
        views.get(id)?.setNote(`Live updates stopped: ${describeError(error)}. Reload to retry.`, 'error');
      },
    });
  live.set(id, subscription);
}

function unfollow(id: string): void {
  live.get(id)?.unsubscribe();
  live.delete(id);
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
        if (data?.job) apply(data.job);
        else markMissing(id);
      } catch (error) {
        if (describeError(error).includes('NotFound')) markMissing(id);
        else views.get(id)?.setNote(`Could not refresh: ${describeError(error)}`, 'error');
      }
    } while (syncing.get(id));
  } finally {
    syncing.delete(id);
  }
}

function markMissing(id: string): void {
  const entry = store.entries.get(id);
  if (!entry) return;
  entry.missing = true;
  store.save();
  unfollow(id);
  views.get(id)?.render();
}

function show(entry: Entry, where: 'top' | 'bottom'): void {
  const view = new JobView(entry, { cancel: (id) => void cancel(id), remove });
  views.set(entry.job.id, view);
  if (where === 'top') jobList.prepend(view.root);
  else jobList.append(view.root);
  noJobs.hidden = true;
}

function remove(id: string): void {
  unfollow(id);
  views.get(id)?.root.remove();
  views.delete(id);
  store.remove(id);
  noJobs.hidden = store.entries.size > 0;
  $('jobs-heading').focus(); // the focused button is gone: keep keyboard users in the list
}

// ---------------------------------------------------------------- user actions

async function cancel(id: string): Promise<void> {
  const view = views.get(id);
  view?.setCancelling(true);
  try {
    const { data } = await client.graphql<GraphQLQuery<{ cancelJob: Job | null }>>({ query: CANCEL_JOB, variables: { id } });
    apply(data?.cancelJob);
  } catch (error) {
    view?.setNote(`Cancel failed: ${describeError(error)}`, 'error');
    void resync(id);
  } finally {
    view?.setCancelling(false);
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
    show(store.add(job), 'top');
    follow(job.id);
    announce(`Submitted ${label(job)}: ${job.status}`);
  } catch (error) {
    submitError.textContent = `Not submitted: ${describeError(error)}`;
  } finally {
    submitButton.disabled = false;
    submitButton.removeAttribute('aria-busy');
  }
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

async function start(): Promise<void> {
  for (const name of Object.keys(EXAMPLES)) $('task-types').append(Object.assign(document.createElement('option'), { value: name }));
  suggestPayload();
  typeInput.addEventListener('input', suggestPayload);
  form.addEventListener('submit', (event) => void submit(event));
  $('clear-finished').addEventListener('click', () => {
    for (const entry of [...store.entries.values()]) if (isTerminal(entry.job) || entry.missing) remove(entry.job.id);
  });

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
  Amplify.configure(outputs as Parameters<typeof Amplify.configure>[0]);
  client = newClient();
  $('endpoint').textContent = outputs.data.url;
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
      const id = (payload.data as { variables?: { id?: unknown } } | undefined)?.variables?.id;
      if (typeof id === 'string' && store.entries.has(id)) void resync(id);
    }
  });

  store = new JobStore(outputs.data.url);
  for (const entry of store.entries.values()) show(entry, 'bottom');
  noJobs.hidden = store.entries.size > 0;
  for (const entry of store.entries.values()) {
    void resync(entry.job.id); // whatever the list remembers may be stale: read it
    follow(entry.job.id);
  }
  setInterval(() => {
    const now = Date.now();
    for (const [id, view] of views) if (!isTerminal(store.entries.get(id)!.job)) view.tick(now);
  }, 200);

  submitButton.disabled = false;
  document.body.dataset.ready = 'true';
}

void start();
