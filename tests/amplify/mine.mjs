// Amplify JS v6, unchanged, following ALL of a signed-in user's jobs with onMyJobsUpdated (no argument:
// the server takes the owner from the token).
//
//   NODE_EXTRA_CA_CERTS=.appsync-jobs/tls/ca.pem node tests/amplify/mine.mjs \
//     --endpoint https://127.0.0.1:8000/graphql --token JWT [--timeout-ms 60000]
//
// Prints one JSON line per happening on stdout: {"event":"ready"} once the subscription is acknowledged
// (Amplify's Hub "Subscription ack"), {"event":"data","job":...} per event, {"event":"submitted","job":...}.
// Reads commands from stdin, one per line: `submit <type> <payload JSON>` submits a job as this user;
// `quit` ends (exit 0). Errors exit 1, the timeout 2.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { JOB_FIELDS, SUBMIT } from './operations.mjs';

globalThis.WebSocket ??= (await import('ws')).WebSocket; // Node 20 has no global WebSocket

const { Amplify } = await import('aws-amplify');
const { generateClient } = await import('aws-amplify/api');
const { decodeJWT } = await import('aws-amplify/auth');
const { Hub } = await import('aws-amplify/utils');

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    token: { type: 'string' },
    region: { type: 'string', default: 'us-east-1' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
if (!args.endpoint || !args.token) {
  console.error('usage: mine.mjs --endpoint https://host/graphql --token JWT');
  process.exit(64);
}

const ON_MINE = `subscription OnMine { onMyJobsUpdated { ${JOB_FIELDS} } }`;

const emit = (event, fields = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
const describe = (error) => (error?.errors ?? [error]).map((e) => String(e?.message ?? e));

let subscription;
let timer;
function finish(code, event, fields) {
  emit(event, fields);
  clearTimeout(timer);
  subscription?.unsubscribe();
  process.stdout.write('', () => process.exit(code));
}
timer = setTimeout(() => finish(2, 'timeout', { afterMs: Number(args['timeout-ms']) }), Number(args['timeout-ms']));

// userPool mode, the token supplied through Amplify's documented custom token provider (no Cognito locally).
const accessToken = decodeJWT(args.token);
Amplify.configure(
  {
    Auth: { Cognito: { userPoolId: accessToken.payload.iss.split('/').pop(), userPoolClientId: accessToken.payload.client_id } },
    API: { GraphQL: { endpoint: args.endpoint, region: args.region, defaultAuthMode: 'userPool' } },
  },
  { Auth: { tokenProvider: { getTokens: async () => ({ accessToken }) } } },
);
const client = generateClient();

Hub.listen('api', ({ payload }) => {
  if (payload.event === 'Subscription ack' && String(payload.data?.query ?? '').includes('onMyJobsUpdated')) emit('ready');
});
subscription = client.graphql({ query: ON_MINE }).subscribe({
  next: ({ data }) => emit('data', { job: data.onMyJobsUpdated }),
  error: (error) => finish(1, 'error', { phase: 'subscription', errors: describe(error) }),
});

for await (const line of createInterface({ input: process.stdin })) {
  const [command, type, ...rest] = line.trim().split(' ');
  if (command === 'quit') finish(0, 'bye');
  else if (command === 'submit') {
    try {
      const { data } = await client.graphql({ query: SUBMIT, variables: { input: { type, payload: rest.join(' ') || '{}' } } });
      emit('submitted', { job: data.submitJob });
    } catch (error) {
      finish(1, 'error', { phase: 'submitJob', errors: describe(error) });
    }
  }
}
