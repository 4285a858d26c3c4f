"""Tracer is real only where X-Ray can work (Lambda), and costs the local runtime nothing elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jobcore.adapters.observability import NoTracer, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]


def test_tracing_follows_powertools_rule() -> None:
    assert not tracing_enabled({})  # local server, tests
    assert tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task"})
    assert not tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"})
    assert not tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"})


def test_the_no_op_tracer_returns_functions_unchanged_in_both_decorator_forms() -> None:
    def handler(event: object, context: object) -> str:
        return "ok"

    no_op = NoTracer()
    assert no_op.capture_lambda_handler(handler) is handler
    assert no_op.capture_method(capture_response=False)(handler) is handler


def run(code: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, "PYTHONPATH": str(ROOT), **env},
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


def test_outside_lambda_the_handlers_never_import_the_xray_sdk() -> None:
    code = "import sys, resolvers.handler, worker.handler, worker.dlq, worker.reaper; print('aws_xray_sdk' in sys.modules)"
    assert run(code) == "False"


def test_in_lambda_the_handlers_are_traced_by_powertools() -> None:
    code = ("import resolvers.handler; from jobcore.adapters.observability import tracer; "
            "t = tracer(); print(type(t).__name__, t.service)")
    assert run(code, LAMBDA_TASK_ROOT=str(ROOT), AWS_LAMBDA_FUNCTION_NAME="appsync-jobs-test") == "Tracer appsync-jobs"
