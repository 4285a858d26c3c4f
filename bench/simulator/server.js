// The Amplify AppSync simulator serving this repo's schema.graphql with echo Lambda resolvers, for
// `python -m bench` to put the same client load on it as on the local server.
//
//   node bench/simulator/server.js --port 0 --schema schema.graphql
//
// Prints one line `READY <port>` on stdout once HTTP (/graphql) and real-time (/graphql/realtime) listen.
'use strict';

const fs = require('fs');
const crypto = require('crypto');
const net = require('net');
const { AmplifyAppSyncSimulator } = require('@aws-amplify/amplify-appsync-simulator');

const API_KEY = 'da2-appsyncjobslocal0000000000';
const ACCESS_KEY_ID = 'AKIAAPPSYNCJOBSLOCAL';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// In-memory echo "Lambda": the same fields our resolver returns, no storage beyond a Map.
const jobs = new Map();
function now() {
  return new Date().toISOString();
}
function newJob(input) {
  const t = now();
  return {
    id: crypto.randomUUID(), type: input.type, status: 'PENDING', payload: input.payload ?? null,
    result: null, error: null, progress: null, message: null, attempts: 0, cancelRequested: false,
    version: 1, owner: 'api-key', createdAt: t, updatedAt: t, startedAt: null, finishedAt: null,
  };
}
function echoLambda(event) {
  const field = event.info.fieldName;
  const args = event.arguments || {};
  if (field === 'submitJob') {
    const job = newJob(args.input);
    jobs.set(job.id, job);
    return job;
  }
  if (field === 'job') {
    return jobs.get(args.id) || null;
  }
  if (field === 'listJobs') {
    // Newest first (a Map keeps insertion order); one page, no token: the echo cost of a page of jobs.
    const all = [...jobs.values()];
    const items = all.slice(Math.max(0, all.length - (args.limit ?? 20))).reverse();
    return { items, nextToken: null };
  }
  if (field === 'cancelJob') {
    const job = jobs.get(args.id);
    if (!job) return null;
    Object.assign(job, { status: 'CANCELLED', version: job.version + 1, updatedAt: now() });
    return job;
  }
  if (field === 'updateJob') {
    const input = args.input;
    let job = jobs.get(input.id);
    if (!job) {
      job = newJob({ type: 'echo' });
      job.id = input.id;
      jobs.set(job.id, job);
    }
    for (const key of ['status', 'progress', 'message', 'result', 'error']) {
      if (input[key] !== undefined && input[key] !== null) job[key] = input[key];
    }
    job.version += 1;
    job.updatedAt = now();
    return job;
  }
  throw new Error(`no echo resolver for ${field}`);
}

const REQUEST = '{"version": "2018-05-29", "operation": "Invoke", "payload": $util.toJson($ctx)}';
const RESPONSE = '$util.toJson($ctx.result)';

async function main() {
  const schemaPath = arg('schema', 'schema.graphql');
  let port = Number(arg('port', '0'));
  if (!port) port = await freePort();
  const simulator = new AmplifyAppSyncSimulator({ port });
  const fields = [
    ['Query', 'job'], ['Query', 'listJobs'], ['Mutation', 'submitJob'], ['Mutation', 'cancelJob'], ['Mutation', 'updateJob'],
  ];
  simulator.init({
    schema: { content: fs.readFileSync(schemaPath, 'utf8') },
    dataSources: [{ name: 'echo', type: 'AWS_LAMBDA', invoke: async (payload) => echoLambda(payload) }],
    resolvers: fields.map(([typeName, fieldName]) => ({
      kind: 'UNIT', typeName, fieldName, dataSourceName: 'echo',
      requestMappingTemplate: REQUEST, responseMappingTemplate: RESPONSE,
    })),
    appSync: {
      name: 'appsync-jobs-bench',
      defaultAuthenticationType: { authenticationType: 'API_KEY' },
      apiKey: API_KEY,
      authAccessKeyId: ACCESS_KEY_ID,
      accountId: '000000000000',
      authRoleName: 'bench-auth',
      unAuthRoleName: 'bench-unauth',
      // As the schema says: API_KEY by default, IAM additionally (updateJob is @aws_iam only).
      additionalAuthenticationProviders: [{ authenticationType: 'AWS_IAM' }],
    },
  });
  await simulator.start();
  process.stdout.write(`READY ${port}\n`);
  const stop = async () => {
    await simulator.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stdout.write(`FAILED ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
