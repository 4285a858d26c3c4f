"""Where the GraphQL contract lives, plus the AppSync prelude that plain GraphQL tools need to read it.

AppSync defines its scalars (AWSJSON, AWSDateTime...) and auth directives implicitly; graphql-core
does not, so every tool that parses ``schema.graphql`` (the local server's auth rules, the contract
tests, the client's operation checks) prepends this prelude.
"""

from __future__ import annotations

import os
from pathlib import Path

APPSYNC_PRELUDE = """
scalar AWSDate
scalar AWSTime
scalar AWSDateTime
scalar AWSTimestamp
scalar AWSEmail
scalar AWSJSON
scalar AWSURL
scalar AWSPhone
scalar AWSIPAddress
directive @aws_subscribe(mutations: [String!]!) on FIELD_DEFINITION
directive @aws_api_key on OBJECT | FIELD_DEFINITION
directive @aws_iam on OBJECT | FIELD_DEFINITION
directive @aws_oidc on OBJECT | FIELD_DEFINITION
directive @aws_lambda on OBJECT | FIELD_DEFINITION
directive @aws_cognito_user_pools(cognito_groups: [String!]) on OBJECT | FIELD_DEFINITION
directive @aws_auth(cognito_groups: [String!]) on FIELD_DEFINITION
"""


def schema_path() -> Path:
    override = os.environ.get("APPSYNC_JOBS_SCHEMA")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "schema.graphql"


def contract_sdl() -> str:
    """``schema.graphql`` with the AppSync prelude, ready for ``graphql.build_schema``."""
    return APPSYNC_PRELUDE + schema_path().read_text()
