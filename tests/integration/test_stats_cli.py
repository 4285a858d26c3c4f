"""``appsync-jobs stats`` and ``redrive`` on a local data directory and on a deployed stack's queues (moto)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws
from typer.testing import CliRunner

from devserver.cli import app
from jobcore import service
from jobcore.auth import API_KEY_CALLER
from jobcore.bootstrap import local_backend, local_services
from jobcore.settings import Settings
from support.aws import create_jobs_table
from worker.tasks import load_registry

runner = CliRunner()


def stats(*args: str) -> dict[str, object]:
    result = runner.invoke(app, ["stats", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_local_stats_read_the_data_directory(tmp_path: Path) -> None:
    backend = local_backend(Settings(backend="local", region="us-east-1", data_dir=tmp_path))
    services = local_services(backend, load_registry())
    ids = [service.submit_job(services, API_KEY_CALLER, "echo", n).id for n in range(3)]
    service.cancel_job(services, API_KEY_CALLER, ids[0])
    backend.queue.receive(1)
    backend.dead_letter_queue.send('{"v":1,"jobId":"x"}')
    backend.archive.send('{"v":1,"jobId":"y"}')
    assert backend.long_queue is not None
    backend.long_queue.send('{"v":1,"jobId":"z"}', delay_seconds=60)

    snapshot = stats("--data-dir", str(tmp_path))
    assert snapshot["queues"] == {
        "jobs": {"name": "jobs", "visible": 2, "inFlight": 1, "delayed": 0},
        "long": {"name": "jobs-long", "visible": 0, "inFlight": 0, "delayed": 1},
        "dead_letter": {"name": "jobs-dlq", "visible": 1, "inFlight": 0, "delayed": 0},
        "archive": {"name": "jobs-dlq-archive", "visible": 1, "inFlight": 0, "delayed": 0},
    }
    assert snapshot["jobs"] == {"PENDING": 2, "RUNNING": 0, "SUCCEEDED": 0, "FAILED": 0, "CANCELLED": 1}

    table = runner.invoke(app, ["stats", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    assert "jobs-dlq-archive" in table.output and "CANCELLED" in table.output and "in flight" in table.output


def test_local_stats_refuse_a_directory_without_data_and_create_nothing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["stats", "--data-dir", str(tmp_path / "nothing"), "--json"])
    assert result.exit_code == 1
    assert not (tmp_path / "nothing").exists()


def test_local_redrive_moves_the_archive_back_to_the_job_queue(tmp_path: Path) -> None:
    backend = local_backend(Settings(backend="local", region="us-east-1", data_dir=tmp_path))
    backend.archive.send('{"v":1,"jobId":"a"}')
    backend.archive.send('{"v":1,"jobId":"b"}')
    result = runner.invoke(app, ["redrive", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "redrove 2 message(s)" in result.output
    assert stats("--data-dir", str(tmp_path))["queues"]["archive"]["visible"] == 0  # type: ignore[index]
    assert sorted(json.loads(m.body)["jobId"] for m in backend.queue.receive(10)) == ["a", "b"]


def test_stats_with_outputs_read_the_deployed_queues_and_table(tmp_path: Path) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1")
        dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("prod-jobs", "prod-dlq", "prod-archive")}
        table = create_jobs_table(dynamodb, "prod-jobs-table")
        for n in range(4):
            sqs.send_message(QueueUrl=urls["prod-jobs"], MessageBody=str(n))
        sqs.send_message(QueueUrl=urls["prod-jobs"], MessageBody="later", DelaySeconds=300)
        sqs.receive_message(QueueUrl=urls["prod-jobs"], MaxNumberOfMessages=1)
        sqs.send_message(QueueUrl=urls["prod-dlq"], MessageBody="dead")
        outputs = tmp_path / "amplify_outputs.json"
        outputs.write_text(json.dumps({
            "version": "1",
            "data": {"url": "https://x.appsync-api.eu-west-1.amazonaws.com/graphql", "aws_region": "eu-west-1"},
            "custom": {"jobsQueueUrl": urls["prod-jobs"], "deadLetterQueueUrl": urls["prod-dlq"],
                       "deadLetterArchiveUrl": urls["prod-archive"], "jobsTableName": table},
        }))
        snapshot = stats("--outputs", str(outputs))
    assert snapshot["queues"] == {
        "jobs": {"name": "prod-jobs", "visible": 3, "inFlight": 1, "delayed": 1},
        "dead_letter": {"name": "prod-dlq", "visible": 1, "inFlight": 0, "delayed": 0},
        "archive": {"name": "prod-archive", "visible": 0, "inFlight": 0, "delayed": 0},
    }
    assert snapshot["jobs"] == {"PENDING": 0, "RUNNING": 0}


def test_outputs_without_the_queue_url_are_a_clear_error(tmp_path: Path) -> None:
    outputs = tmp_path / "amplify_outputs.json"
    outputs.write_text(json.dumps({"version": "1", "data": {"url": "https://x/graphql", "aws_region": "us-east-1"}}))
    result = runner.invoke(app, ["stats", "--outputs", str(outputs)])
    assert result.exit_code == 1
    assert "custom.jobsQueueUrl" in result.output


def test_redrive_with_outputs_moves_the_deployed_archive(tmp_path: Path) -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        jobs = sqs.create_queue(QueueName="jobs")["QueueUrl"]
        archive = sqs.create_queue(QueueName="archive")["QueueUrl"]
        for job_id in ("a", "b", "c"):
            sqs.send_message(QueueUrl=archive, MessageBody=json.dumps({"v": 1, "jobId": job_id}))
        outputs = tmp_path / "amplify_outputs.json"
        outputs.write_text(json.dumps({"data": {"aws_region": "us-east-1"},
                                       "custom": {"jobsQueueUrl": jobs, "deadLetterArchiveUrl": archive}}))
        result = runner.invoke(app, ["redrive", "--outputs", str(outputs), "--limit", "2"])
        assert result.exit_code == 0 and "redrove 2 message(s)" in result.output
        attributes = sqs.get_queue_attributes(QueueUrl=archive, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "1"
        moved = sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10)["Messages"]
        assert len(moved) == 2 and all(json.loads(m["Body"])["jobId"] in "abc" for m in moved)
