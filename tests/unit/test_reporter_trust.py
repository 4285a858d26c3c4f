"""Only the stack's own worker, DLQ consumer and reaper roles are the trusted IAM reporter (issue 12).

Any other IAM principal is an ordinary caller: it sees the jobs it owns and may not call updateJob.
"""

from __future__ import annotations

import pytest

from jobcore.auth import AuthMode, Caller, ReporterTrust, caller_from_appsync_identity, ensure_can_report, role_name_of
from jobcore.errors import Unauthorized
from jobcore.settings import LOCAL_ACCESS_KEY_ID, Settings, local_iam_principal, parse_access_keys

TRUST = ReporterTrust.from_setting(" jobs-worker , jobs-dlq,,jobs-reaper ")


def iam_identity(arn: str) -> dict[str, object]:
    return {"accountId": "123456789012", "userArn": arn, "username": "AROAEXAMPLE:x", "sourceIp": ["10.0.0.1"]}


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:sts::123456789012:assumed-role/jobs-worker/1a2b3c", "jobs-worker"),
        ("arn:aws-cn:sts::123456789012:assumed-role/jobs-worker/session", "jobs-worker"),
        ("arn:aws:iam::123456789012:role/jobs-worker", "jobs-worker"),
        ("arn:aws:iam::123456789012:role/service-role/jobs-worker", "jobs-worker"),
        ("arn:aws:iam::123456789012:user/jobs-worker", None),
        ("arn:aws:sts::123456789012:federated-user/jobs-worker", None),
        ("arn:aws:sts::123456789012:assumed-role/jobs-worker", None),
        ("jobs-worker", None),
        ("", None),
    ],
)
def test_the_role_name_is_read_only_from_role_and_assumed_role_arns(arn: str, name: str | None) -> None:
    assert role_name_of(arn) == name


def test_the_setting_is_a_comma_separated_list_of_role_names() -> None:
    assert TRUST.role_names == frozenset({"jobs-worker", "jobs-dlq", "jobs-reaper"})


def test_a_session_of_a_listed_role_is_the_trusted_reporter() -> None:
    caller = caller_from_appsync_identity(iam_identity("arn:aws:sts::123456789012:assumed-role/jobs-dlq/abc"), TRUST)
    assert caller.is_service
    ensure_can_report(caller)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sts::123456789012:assumed-role/AdminRole/alice",
        "arn:aws:iam::123456789012:user/jobs-worker",  # a user named like the role is not the role
        "arn:aws:sts::123456789012:assumed-role/jobs-worker-evil/x",
    ],
)
def test_any_other_iam_principal_is_an_ordinary_caller(arn: str) -> None:
    caller = caller_from_appsync_identity(iam_identity(arn), TRUST)
    assert caller == Caller(AuthMode.AWS_IAM, arn)
    assert not caller.is_service
    with pytest.raises(Unauthorized):
        ensure_can_report(caller)


def test_without_a_trust_policy_no_iam_caller_is_trusted() -> None:
    caller = caller_from_appsync_identity(iam_identity("arn:aws:sts::123456789012:assumed-role/jobs-worker/x"))
    assert not caller.is_service


def test_in_aws_an_unset_variable_trusts_no_one_fail_closed() -> None:
    trust = Settings.from_env({"APPSYNC_JOBS_BACKEND": "aws"}).reporter_trust()
    assert trust.trusts_no_one
    assert not trust.trusts("arn:aws:sts::123456789012:assumed-role/jobs-worker/x")


def test_in_aws_the_variable_names_the_trusted_roles() -> None:
    settings = Settings.from_env({"JOBS_TRUSTED_REPORTER_ROLES": "jobs-worker,jobs-reaper"})
    assert settings.reporter_trust().trusts("arn:aws:sts::123456789012:assumed-role/jobs-reaper/x")
    assert not settings.reporter_trust().trusts(local_iam_principal(LOCAL_ACCESS_KEY_ID))


def test_locally_the_local_iam_key_is_trusted_and_nothing_else() -> None:
    trust = Settings.from_env({"APPSYNC_JOBS_BACKEND": "local"}).reporter_trust()
    assert trust.trusts(local_iam_principal(LOCAL_ACCESS_KEY_ID))
    assert not trust.trusts(local_iam_principal("AKIASECONDLOCALKEY00"))


def test_extra_local_access_keys_parse_and_reject_malformed_entries() -> None:
    assert parse_access_keys("AKIA1:s1, AKIA2:s:2") == {"AKIA1": "s1", "AKIA2": "s:2"}
    assert parse_access_keys("") == {}
    with pytest.raises(ValueError, match="ACCESS_KEY_ID:SECRET"):
        parse_access_keys("AKIA1")
