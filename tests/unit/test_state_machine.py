"""The job state machine: allowed moves, refused moves, leases - pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobcore.domain.job import (
    TERMINAL,
    Job,
    JobFailure,
    JobStatus,
    JobUpdate,
    apply_cancel,
    apply_retry,
    apply_update,
    new_job,
)
from jobcore.errors import InvalidTransition, LeaseHeld, StaleLease, ValidationError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def pending() -> Job:
    return new_job(job_id="j1", job_type="sleep", owner="api-key", payload={"a": 1}, now=T0)


def running(token: str = "A", lease: int = 60) -> Job:
    return apply_update(pending(), JobUpdate(lease_token=token, status=JobStatus.RUNNING, lease_seconds=lease), T0)


def finished(status: JobStatus) -> Job:
    job = running()
    if status is JobStatus.CANCELLED:
        return apply_update(job, JobUpdate(lease_token="A", status=status), T0)
    return apply_update(job, JobUpdate(lease_token="A", status=status, result={"ok": True}), T0)


class TestClaiming:
    def test_a_claim_starts_the_first_attempt(self) -> None:
        job = running()
        assert job.status is JobStatus.RUNNING
        assert (job.attempts, job.version, job.lease_token) == (1, 2, "A")
        assert job.started_at == T0
        assert job.lease_expires_at == T0 + timedelta(seconds=60)

    def test_a_second_claim_under_a_live_lease_is_refused(self) -> None:
        with pytest.raises(LeaseHeld):
            apply_update(running(), JobUpdate(lease_token="B", status=JobStatus.RUNNING), T0 + timedelta(seconds=5))

    def test_a_claim_after_the_lease_lapsed_is_a_new_attempt(self) -> None:
        later = T0 + timedelta(seconds=61)
        job = apply_update(running(), JobUpdate(lease_token="B", status=JobStatus.RUNNING, lease_seconds=60), later)
        assert (job.attempts, job.lease_token, job.started_at) == (2, "B", T0)

    def test_a_zombie_attempt_cannot_finish_a_job_another_attempt_took_over(self) -> None:
        later = T0 + timedelta(seconds=61)
        taken = apply_update(running(), JobUpdate(lease_token="B", status=JobStatus.RUNNING, lease_seconds=60), later)
        with pytest.raises(LeaseHeld):
            apply_update(taken, JobUpdate(lease_token="A", status=JobStatus.SUCCEEDED), later)

    def test_a_lost_lease_cannot_report_once_expired(self) -> None:
        later = T0 + timedelta(seconds=61)
        taken = apply_update(running(), JobUpdate(lease_token="B", status=JobStatus.RUNNING, lease_seconds=10), later)
        with pytest.raises(StaleLease):
            apply_update(taken, JobUpdate(lease_token="A", status=JobStatus.SUCCEEDED), later + timedelta(seconds=11))


class TestProgressAndOutcomes:
    def test_progress_is_recorded_and_renews_the_lease(self) -> None:
        job = apply_update(running(), JobUpdate(lease_token="A", progress=40, message="half", lease_seconds=30),
                           T0 + timedelta(seconds=10))
        assert (job.status, job.progress, job.message, job.version) == (JobStatus.RUNNING, 40, "half", 3)
        assert job.lease_expires_at == T0 + timedelta(seconds=40)

    @pytest.mark.parametrize("progress", [-1, 101])
    def test_progress_out_of_range_is_a_validation_error(self, progress: int) -> None:
        with pytest.raises(ValidationError):
            apply_update(running(), JobUpdate(lease_token="A", progress=progress), T0)

    def test_success_records_result_and_full_progress(self) -> None:
        job = finished(JobStatus.SUCCEEDED)
        assert (job.status, job.result, job.progress, job.finished_at) == (JobStatus.SUCCEEDED, {"ok": True}, 100, T0)
        assert job.lease_token is None

    def test_failure_records_the_error(self) -> None:
        job = apply_update(running(), JobUpdate(lease_token="A", status=JobStatus.FAILED,
                                                error=JobFailure("Boom", "it broke")), T0)
        assert job.error == JobFailure("Boom", "it broke")

    def test_a_pending_job_cannot_finish_without_being_claimed(self) -> None:
        with pytest.raises(InvalidTransition):
            apply_update(pending(), JobUpdate(lease_token="A", status=JobStatus.SUCCEEDED), T0)


class TestTerminalIsFinal:
    @pytest.mark.parametrize("status", sorted(TERMINAL))
    @pytest.mark.parametrize(
        "update",
        [
            JobUpdate(lease_token="A", status=JobStatus.RUNNING),
            JobUpdate(lease_token="B", status=JobStatus.RUNNING),
            JobUpdate(lease_token="A", progress=5),
            JobUpdate(lease_token="A", status=JobStatus.SUCCEEDED),
            JobUpdate(status=JobStatus.FAILED),
        ],
    )
    def test_nothing_moves_a_finished_job(self, status: JobStatus, update: JobUpdate) -> None:
        with pytest.raises(InvalidTransition):
            apply_update(finished(status), update, T0 + timedelta(hours=1))

    @pytest.mark.parametrize("status", sorted(TERMINAL))
    def test_a_finished_job_cannot_be_cancelled(self, status: JobStatus) -> None:
        with pytest.raises(InvalidTransition):
            apply_cancel(finished(status), T0)


class TestCancellation:
    def test_a_pending_job_is_cancelled_at_once(self) -> None:
        job = apply_cancel(pending(), T0)
        assert (job.status, job.cancel_requested, job.finished_at) == (JobStatus.CANCELLED, True, T0)

    def test_a_running_job_is_asked_to_stop(self) -> None:
        job = apply_cancel(running(), T0)
        assert (job.status, job.cancel_requested, job.version) == (JobStatus.RUNNING, True, 3)
        assert apply_cancel(job, T0) is job  # asking twice changes nothing

    def test_the_task_then_ends_it_cancelled(self) -> None:
        job = apply_update(apply_cancel(running(), T0), JobUpdate(lease_token="A", status=JobStatus.CANCELLED), T0)
        assert job.status is JobStatus.CANCELLED


class TestSystemVerdicts:
    def test_a_verdict_without_lease_may_only_fail(self) -> None:
        with pytest.raises(ValidationError):
            apply_update(pending(), JobUpdate(status=JobStatus.SUCCEEDED), T0)

    def test_a_verdict_waits_for_a_live_attempt(self) -> None:
        with pytest.raises(LeaseHeld):
            apply_update(running(), JobUpdate(status=JobStatus.FAILED), T0 + timedelta(seconds=1))

    def test_a_verdict_fails_a_job_whose_lease_lapsed(self) -> None:
        job = apply_update(running(), JobUpdate(status=JobStatus.FAILED, error=JobFailure("TimedOut", "gone")),
                           T0 + timedelta(seconds=61))
        assert (job.status, job.error) == (JobStatus.FAILED, JobFailure("TimedOut", "gone"))


class TestRetry:
    """retryJob: FAILED and CANCELLED go back to PENDING as a new attempt of the same job; nothing else moves."""

    @pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
    def test_a_failed_or_cancelled_job_is_pending_again_with_its_outcome_cleared(self, status: JobStatus) -> None:
        done = apply_update(running(), JobUpdate(lease_token="A", status=status, message="bye",
                                                 error=JobFailure("TaskError", "x")), T0)
        later = T0 + timedelta(minutes=3)
        retried = apply_retry(done, later)
        assert retried.status is JobStatus.PENDING
        assert (retried.id, retried.type, retried.owner, retried.payload) == (done.id, done.type, done.owner, done.payload)
        assert (retried.result, retried.error, retried.progress, retried.message) == (None, None, None, None)
        assert (retried.finished_at, retried.cancel_requested) == (None, False)
        assert (retried.lease_token, retried.lease_expires_at, retried.deadline_at) == (None, None, None)
        assert retried.attempts == done.attempts == 1  # grows when a worker claims it again
        assert retried.version == done.version + 1
        assert retried.updated_at == later
        assert retried.created_at == done.created_at

    def test_the_next_claim_is_a_new_attempt(self) -> None:
        failed = apply_update(running(), JobUpdate(status=JobStatus.FAILED, error=JobFailure("TimedOut", "late")),
                              T0 + timedelta(hours=1))
        retried = apply_retry(failed, T0 + timedelta(hours=2))
        again = apply_update(retried, JobUpdate(lease_token="B", status=JobStatus.RUNNING, lease_seconds=60),
                             T0 + timedelta(hours=2, seconds=1))
        assert (again.status, again.attempts, again.lease_token) == (JobStatus.RUNNING, 2, "B")

    def test_a_pending_job_comes_back_unchanged(self) -> None:
        job = pending()
        assert apply_retry(job, T0 + timedelta(seconds=5)) is job

    @pytest.mark.parametrize("job", [running(), finished(JobStatus.SUCCEEDED)], ids=["RUNNING", "SUCCEEDED"])
    def test_running_and_succeeded_jobs_are_refused_with_from_and_to(self, job: Job) -> None:
        with pytest.raises(InvalidTransition) as refused:
            apply_retry(job, T0)
        assert refused.value.info == {"from": job.status.value, "to": "PENDING"}

    def test_a_worker_report_still_cannot_leave_a_terminal_status(self) -> None:
        failed = finished(JobStatus.FAILED)
        with pytest.raises(InvalidTransition):
            apply_update(failed, JobUpdate(lease_token="Z", status=JobStatus.RUNNING, lease_seconds=30), T0)


class TestVerdictsAboutOlderMessages:
    """A dead-letter verdict names its message's send time; one from before the job's latest queueing is refused."""

    def test_a_verdict_about_a_message_sent_before_the_retry_is_refused(self) -> None:
        failed = apply_update(pending(), JobUpdate(status=JobStatus.FAILED, error=JobFailure("TaskError", "x")), T0)
        retried = apply_retry(failed, T0 + timedelta(minutes=1))
        assert retried.queued_at == T0 + timedelta(minutes=1)
        stale = JobUpdate(status=JobStatus.FAILED, error=JobFailure("DeadLettered", "old"), message_sent_at=T0)
        with pytest.raises(InvalidTransition):
            apply_update(retried, stale, T0 + timedelta(minutes=2))

    def test_a_verdict_about_the_current_message_applies_despite_a_small_clock_skew(self) -> None:
        failed = apply_update(pending(), JobUpdate(status=JobStatus.FAILED, error=JobFailure("TaskError", "x")), T0)
        retried = apply_retry(failed, T0 + timedelta(minutes=1))
        skewed = T0 + timedelta(minutes=1) - timedelta(milliseconds=300)
        current = JobUpdate(status=JobStatus.FAILED, error=JobFailure("DeadLettered", "new"), message_sent_at=skewed)
        assert apply_update(retried, current, T0 + timedelta(minutes=9)).status is JobStatus.FAILED

    def test_a_new_job_counts_as_queued_at_creation(self) -> None:
        job = pending()
        assert job.queued_at == job.created_at == T0
        verdict = JobUpdate(status=JobStatus.FAILED, error=JobFailure("DeadLettered", "x"), message_sent_at=T0)
        assert apply_update(job, verdict, T0 + timedelta(minutes=5)).status is JobStatus.FAILED
