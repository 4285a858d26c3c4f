"""GraphQL documents the backend sends (the worker's and reaper's reports).

``updateJob`` selects every Job field because AppSync publishes exactly the mutation's selection to
``onJobUpdated`` subscribers: a field left out here would reach them as null. ``owner`` above all:
``onMyJobsUpdated``'s subscription filter matches on it, so an update that did not select it would
reach no ``onMyJobsUpdated`` subscriber at all. The list is generated from schema.graphql by
``tools/job_fields.py`` and checked in (a constant: the Lambda never parses the schema on a cold start).
"""

from __future__ import annotations

# Generated from schema.graphql (type Job) by `python -m tools.job_fields`: do not edit by hand.
JOB_FIELDS = """
  id type status payload result error { type message } progress message attempts cancelRequested version owner
  createdAt updatedAt startedAt finishedAt artifacts { name size contentType url expiresAt }
"""

UPDATE_JOB = (
    "mutation UpdateJob($input: UpdateJobInput!) {\n  updateJob(input: $input) {" + JOB_FIELDS + "  }\n}\n"
)
