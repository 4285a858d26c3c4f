// AppSync JS unit resolver in front of the resolvers Lambda (one file for every root field).
//
// Why not a "direct" Lambda resolver: AppSync turns any exception a direct Lambda throws into
// errorType "Lambda:Unhandled" carrying only the message. Our handler instead *returns* domain
// errors as {appsyncJobsError: {errorType, message, errorInfo}} and this response handler raises
// them with util.error, so clients see ValidationError / NotFound / InvalidTransition ... exactly as
// the local server reports them (devserver applies the same rule in resolvers/envelope.py).
// Exceptions the handler did not expect still surface as "Lambda:Unhandled", as on plain AppSync.
//
// Subscription resolvers may answer {appsyncJobsSubscriptionFilter: {owner: {eq: ...}}}: the filter
// becomes the subscriber's enhanced filter (set here, at subscribe time, from the caller's identity
// the Lambda saw - never from a client argument) and the resolver returns null, as AppSync requires.
// The local server applies the same filter (resolvers/envelope.py, devserver/realtime/subscription_filter.py).
import { util, extensions } from '@aws-appsync/utils';

export function request(ctx) {
  // The Context object AppSync sends a direct Lambda resolver, minus `request`: that is every HTTP
  // header of the call, including Authorization and x-api-key, and the handler reads none of it
  // (powertools' AppSyncResolver routes on info and reads arguments/identity/source). Correlation
  // does not need it either: with X-Ray on the API, the Lambda runs in the same trace, and
  // powertools Logger puts that trace id (xray_trace_id) on every log line.
  return {
    operation: 'Invoke',
    payload: {
      arguments: ctx.arguments,
      identity: ctx.identity,
      source: ctx.source,
      info: ctx.info,
      prev: ctx.prev,
      stash: ctx.stash,
    },
  };
}

export function response(ctx) {
  if (ctx.error) {
    util.error(ctx.error.message, ctx.error.type);
  }
  const failure = ctx.result ? ctx.result.appsyncJobsError : null;
  if (failure) {
    util.error(failure.message, failure.errorType, null, failure.errorInfo);
  }
  const filter = ctx.result ? ctx.result.appsyncJobsSubscriptionFilter : null;
  if (filter) {
    extensions.setSubscriptionFilter(util.transform.toSubscriptionFilter(filter));
    return null;
  }
  return ctx.result;
}
