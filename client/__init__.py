"""Typed Python client for appsync-jobs (gql), usable against AppSync or the local server unchanged."""

from client.api import JobsClient
from client.config import ClientConfig
from client.models import Job, JobStatus

__all__ = ["ClientConfig", "Job", "JobStatus", "JobsClient"]
