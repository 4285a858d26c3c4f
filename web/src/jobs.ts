// The Job contract (schema.graphql) as the wire carries it: AWSJSON fields are JSON strings.

export type JobStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** A file of a job; `url` is minted by job(id) for its reader and is null in subscription events. */
export interface Artifact {
  name: string;
  size: number;
  contentType: string;
  url: string | null;
  expiresAt: string | null;
}

export interface Job {
  id: string;
  type: string;
  status: JobStatus;
  payload: string | null;
  result: string | null;
  error: { type: string; message: string } | null;
  progress: number | null;
  message: string | null;
  attempts: number;
  cancelRequested: boolean;
  version: number;
  /** Who submitted it: "api-key", an IAM ARN or a user's sub. */
  owner: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  artifacts?: Artifact[] | null;
}

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

export const isTerminal = (job: Job): boolean => TERMINAL.has(job.status);

/** retryJob accepts these (and returns a PENDING job unchanged). */
export const canRetry = (job: Job): boolean => job.status === 'FAILED' || job.status === 'CANCELLED';

export interface JobPage {
  items: Job[];
  nextToken: string | null;
}

// Every field, everywhere: AppSync publishes to subscribers exactly what the triggering mutation selected,
// so cancelJob must select all of them too or subscribers would get a partial job. `owner` above all:
// onMyJobsUpdated's filter reads it from the published selection, so a mutation without it reaches nobody there.
// Generated from schema.graphql (type Job) by `python -m tools.job_fields`: do not edit by hand.
const JOB_FIELDS = `
  id type status payload result error { type message } progress message attempts cancelRequested version owner
  createdAt updatedAt startedAt finishedAt artifacts { name size contentType url expiresAt }`;

export const SUBMIT_JOB = `mutation SubmitJob($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB_FIELDS} } }`;
export const CANCEL_JOB = `mutation CancelJob($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`;
export const GET_JOB = `query GetJob($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`;
export const RETRY_JOB = `mutation RetryJob($id: ID!) { retryJob(id: $id) { ${JOB_FIELDS} } }`;
export const LIST_JOBS = `query ListJobs($status: JobStatus, $type: String, $limit: Int, $nextToken: String) {
  listJobs(status: $status, type: $type, limit: $limit, nextToken: $nextToken) { items { ${JOB_FIELDS} } nextToken } }`;
export const ON_MY_JOBS_UPDATED = `subscription OnMyJobsUpdated { onMyJobsUpdated { ${JOB_FIELDS} } }`;

/** Newest first, as listJobs orders them (ties broken by id, the same on every page load). */
export function newerFirst(a: Job, b: Job): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** The bundled example tasks (worker/tasks/examples.py) with a payload to start from. */
export const EXAMPLES: Readonly<Record<string, unknown>> = {
  sleep: { seconds: 4, steps: 8 },
  report: { limit: 2000000 },
  fail: { message: 'demo failure', retryable: false },
  echo: { hello: 'world' },
};

/** Amplify rejects with `{data, errors: [...]}` (GraphQL errors) or throws an Error (network, config). */
export function describeError(error: unknown): string {
  const errors = (error as { errors?: unknown[] } | null)?.errors ?? [error];
  return errors
    .map((item) => {
      const e = item as { message?: unknown; errorType?: unknown } | null;
      const message = typeof e?.message === 'string' ? e.message : String(item);
      return typeof e?.errorType === 'string' && e.errorType ? `${e.errorType}: ${message}` : message;
    })
    .join('; ');
}

/** An AWSJSON string, pretty-printed; anything unparsable is shown as it came. */
export function prettyJson(text: string | null): string {
  if (text === null) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = String(whole % 60).padStart(2, '0');
  return hours ? `${hours} h ${String(minutes).padStart(2, '0')} min ${rest} s` : `${minutes} min ${rest} s`;
}

/** From submission to the end (or now while it runs). */
export function elapsedMs(job: Job, now: number): number {
  const start = Date.parse(job.createdAt);
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? end - start : 0;
}

/** True when the job lists artifacts whose links have not been fetched yet (events carry no URLs). */
export const needsLinks = (job: Job): boolean => (job.artifacts ?? []).some((a) => !a.url);

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
