// The GraphQL the Amplify scripts (subscribe.mjs, mine.mjs) send: every Job field, everywhere, because AppSync
// publishes to subscribers exactly what the triggering mutation selected (`owner` included: onMyJobsUpdated's
// filter reads it from that selection).

// Generated from schema.graphql (type Job) by `python -m tools.job_fields`: do not edit by hand.
const JOB_FIELDS = `
  id type status payload result error { type message } progress message attempts cancelRequested version owner
  createdAt updatedAt startedAt finishedAt artifacts { name size contentType url expiresAt }`;

export { JOB_FIELDS };
export const SUBMIT = `mutation Submit($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB_FIELDS} } }`;
