"""What every construct of the kit shares: removal and log retention from the config, the L1 of an L2,
cdk-nag acknowledgments, and the logical-id algorithm the flat ``JobsStack`` keeps its ids with.

``acknowledge`` is looked up through this module (``base.acknowledge(...)``) by every construct, so a
test can switch all acknowledgments off in one place and prove each one is still needed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final

from aws_cdk import Acknowledgment, CfnElement, RemovalPolicy, Validations
from aws_cdk import aws_logs as logs
from constructs import IConstruct

from infra.config import JobsConfig

# CloudWatch Logs' retention periods in days, in the order aws_logs.RetentionDays lists them
# (jsii enums carry names, not day counts).
_RETENTION_BY_DAYS: Final = dict(
    zip(
        (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
        (r for r in logs.RetentionDays if r is not logs.RetentionDays.INFINITE),
        strict=True,
    )
)


def retention_days(days: int) -> logs.RetentionDays:
    return _RETENTION_BY_DAYS[days]


def removal_policy(config: JobsConfig) -> RemovalPolicy:
    """prod keeps its data (table, queues, bucket, pool, secret, logs) when the stack goes away; dev does not."""
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


def log_retention(config: JobsConfig) -> logs.RetentionDays:
    return retention_days(config.log_retention_days)


def cfn(construct: IConstruct) -> CfnElement:
    """The CloudFormation resource behind an L2 construct."""
    child = construct.node.default_child
    assert isinstance(child, CfnElement)
    return child


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one cdk-nag finding on ``construct`` (and its children), with the reason on record."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


# --- CDK's logical-id algorithm (aws-cdk-lib core/lib/private/uniqueid.ts, makeUniqueId) ----------
# Reproduced because CDK does not expose it for arbitrary paths: JobsStack feeds it the construct
# path *without* the JobsApi and layer components, which yields exactly the ids the flat stack had.
_HIDDEN_ID: Final = "Default"
_HIDDEN_FROM_HUMAN_ID: Final = "Resource"
_MAX_HUMAN_LEN: Final = 240
_MAX_ID_LEN: Final = 255
_NON_ALPHANUMERIC: Final = re.compile(r"[^A-Za-z0-9]")


def make_unique_id(components: Sequence[str]) -> str:
    """CDK's logical id of the element at ``components`` (the path below its stack)."""
    parts = [c for c in components if c != _HIDDEN_ID]
    if not parts:
        raise ValueError("a logical id needs at least one path component")
    if len(parts) == 1:
        top_level = _NON_ALPHANUMERIC.sub("", parts[0])
        if len(top_level) <= _MAX_ID_LEN:
            return top_level
    digest = hashlib.md5("/".join(parts).encode(), usedforsecurity=False).hexdigest()[:8].upper()
    deduped: list[str] = []
    for part in parts:
        if not deduped or not deduped[-1].endswith(part):
            deduped.append(part)
    human = "".join(_NON_ALPHANUMERIC.sub("", p) for p in deduped if p != _HIDDEN_FROM_HUMAN_ID)[:_MAX_HUMAN_LEN]
    return human + digest
