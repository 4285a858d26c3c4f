// Amplify JS v6, unchanged, against an AppSync endpoint (the local TLS server in tests).
//
// Submits a job with client.graphql(), follows it with the onJobUpdated subscription and prints one
// JSON line per event on stdout. Exits 0 once the job is terminal, 1 on an API error, 2 on timeout.
//
//   NODE_EXTRA_CA_CERTS=.appsync-jobs/tls/ca.pem node tests/amplify/subscribe.mjs \
//     --endpoint https://127.0.0.1:8000/graphql --api-key da2-... [--type sleep] [--payload '{"seconds":2,"steps":8}']
//   --job-id ID   follow an existing job instead of submitting one
//   --token JWT   act as a signed-in user: defaultAuthMode 'userPool', the token supplied through
//                 Amplify's documented custom token provider (there is no Cognito to sign in to locally)
//   --timeout-ms  overall bound (default 30000)
//
// Race-free without sleeps: the subscription is started first, and once Amplify reports the socket
// Connected (Hub CONNECTION_STATE_CHANGE, dispatched on start_ack) the job is queried once, so an
// update published before the subscription was live cannot be missed.
import { parseArgs } from 'node:util';

import { JOB_FIELDS, SUBMIT } from './operations.mjs';

// Node 20 has no global WebSocket (Amplify builds sockets with it); the `ws` package fills in.
globalThis.WebSocket ??= (await import('ws')).WebSocket;

const { Amplify } = await import('aws-amplify');
const { generateClient, CONNECTION_STATE_CHANGE, ConnectionState } = await import('aws-amplify/api');
const { Hub } = await import('aws-amplify/utils');

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string', default: process.env.APPSYNC_JOBS_URL },
    'api-key': { type: 'string', default: process.env.APPSYNC_JOBS_API_KEY },
    region: { type: 'string', default: 'us-east-1' },
    type: { type: 'string', default: 'sleep' },
    payload: { type: 'string', default: JSON.stringify({ seconds: 2, steps: 8 }) },
    'job-id': { type: 'string' },
    token: { type: 'string' },
    'timeout-ms': { type: 'string', default: '30000' },
  },
});
if (!args.endpoint || !(args['api-key'] || args.token)) {
  console.error('usage: subscribe.mjs --endpoint https://host/graphql --api-key KEY (or APPSYNC_JOBS_URL / APPSYNC_JOBS_API_KEY)');
  process.exit(64);
}

const GET = `query Get($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`;
const ON_UPDATED = `subscription OnUpdated($id: ID!) { onJobUpdated(id: $id) { ${JOB_FIELDS} } }`;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const emit = (event, fields) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

// Amplify rejects with {data, errors:[GraphQLError]} or throws an Error; keep what is printable.
function describe(error) {
  const errors = error?.errors ?? [error];
  return errors.map((e) => ({
    message: String(e?.message ?? e),
    errorType: e?.errorType ?? e?.extensions?.errorType ?? e?.name ?? null,
  }));
}

let subscription;
let timer;
function finish(code, event, fields) {
  emit(event, fields);
  clearTimeout(timer);
  subscription?.unsubscribe();
  // Amplify keeps the socket (and its keep-alive timer) open for a while after unsubscribing.
  process.stdout.write('', () => process.exit(code));
}

timer = setTimeout(() => finish(2, 'timeout', { afterMs: Number(args['timeout-ms']) }), Number(args['timeout-ms']));

if (args.token) {
  const { decodeJWT } = await import('aws-amplify/auth');
  const accessToken = decodeJWT(args.token);
  const userPoolId = accessToken.payload.iss.split('/').pop();
  Amplify.configure(
    {
      Auth: { Cognito: { userPoolId, userPoolClientId: accessToken.payload.client_id } },
      API: { GraphQL: { endpoint: args.endpoint, region: args.region, defaultAuthMode: 'userPool' } },
    },
    { Auth: { tokenProvider: { getTokens: async () => ({ accessToken }) } } },
  );
} else {
  Amplify.configure({
    API: {
      GraphQL: { endpoint: args.endpoint, region: args.region, defaultAuthMode: 'apiKey', apiKey: args['api-key'] },
    },
  });
}
const client = generateClient();

function seen(source, job) {
  if (!job) return;
  emit(source, { job });
  if (TERMINAL.has(job.status)) finish(0, 'done', { job });
}

let jobId = args['job-id'];
if (!jobId) {
  try {
    const submitted = await client.graphql({
      query: SUBMIT,
      variables: { input: { type: args.type, payload: args.payload } },
    });
    jobId = submitted.data.submitJob.id;
    emit('submitted', { job: submitted.data.submitJob });
  } catch (error) {
    finish(1, 'error', { phase: 'submitJob', errors: describe(error) });
  }
}

if (jobId) {
  Hub.listen('api', ({ payload }) => {
    if (payload.event !== CONNECTION_STATE_CHANGE) return;
    const state = payload.data.connectionState;
    emit('connection', { state });
    if (state === ConnectionState.Connected) {
      // Live now (start_ack seen): one query catches anything published before that.
      client.graphql({ query: GET, variables: { id: jobId } }).then(
        (result) => seen('query', result.data.job),
        (error) => finish(1, 'error', { phase: 'job', errors: describe(error) }),
      );
    }
  });
  subscription = client.graphql({ query: ON_UPDATED, variables: { id: jobId } }).subscribe({
    next: ({ data }) => seen('data', data.onJobUpdated),
    error: (error) => finish(1, 'error', { phase: 'subscription', errors: describe(error) }),
  });
}
