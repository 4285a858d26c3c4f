"""CDK app for appsync-jobs (deploy-time only, not in the wheel).

Deliberately empty: ``infra.outputs`` is stdlib-only and must stay importable without aws-cdk-lib,
so this package imports nothing. Entry point: ``python -m infra.app`` (see ``cdk.json``).
"""
