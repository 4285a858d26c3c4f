"""JobsConfig: one typed config from CDK context (stdlib only - no aws_cdk needed)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from infra.config import ConfigError, JobsConfig

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


class TestDefaults:
    def test_cdk_json_context_defaults_equal_the_dataclass_defaults(self) -> None:
        context = json.loads(CDK_JSON.read_text())["context"]
        defaults = JobsConfig()
        assert {f.name for f in fields(JobsConfig)} == set(context)
        assert JobsConfig.from_context(context) == defaults

    def test_cdk_json_runs_the_app_module(self) -> None:
        app = json.loads(CDK_JSON.read_text())["app"]
        assert app.endswith("-m infra.app")

    def test_dev_is_the_default_stage_and_destroys_data(self) -> None:
        cfg = JobsConfig()
        assert (cfg.stage, cfg.stack_name, cfg.retain_data) == ("dev", "appsync-jobs-dev", False)

    def test_prod_retains_data(self) -> None:
        assert JobsConfig(stage="prod").retain_data is True

    def test_waf_is_always_on_in_prod_and_opt_in_for_dev(self) -> None:
        assert (JobsConfig().waf_enabled, JobsConfig(enable_waf=True).waf_enabled) == (False, True)
        assert JobsConfig(stage="prod").waf_enabled is True

    def test_the_api_key_lifetime_defaults_well_under_365_days(self) -> None:
        assert JobsConfig().api_key_expiry_days == 180

    def test_callback_urls_are_split_and_trimmed(self) -> None:
        cfg = JobsConfig(enable_cognito=True, cognito_callback_urls=" https://a.example.org/cb ,http://localhost:5173/,")
        assert cfg.callback_urls == ("https://a.example.org/cb", "http://localhost:5173/")

    def test_visibility_timeout_is_six_worker_timeouts_capped_at_twelve_hours(self) -> None:
        assert JobsConfig(worker_timeout_seconds=60).queue_visibility_timeout_seconds == 360
        assert JobsConfig().queue_visibility_timeout_seconds == 5400


class TestFromContext:
    def test_cli_strings_are_coerced(self) -> None:
        cfg = JobsConfig.from_context({"stage": "prod", "worker_batch_size": "5", "enable_cognito": "true", "alarm_topic": "false"})
        assert (cfg.stage, cfg.worker_batch_size, cfg.enable_cognito, cfg.alarm_topic) == ("prod", 5, True, False)

    def test_unknown_keys_are_ignored(self) -> None:
        assert JobsConfig.from_context({"aws:cdk:bundling-stacks": [], "@aws-cdk/core:x": True}) == JobsConfig()

    @pytest.mark.parametrize(
        ("context", "message"),
        [
            ({"stage": "qa"}, "stage"),
            ({"worker_timeout_seconds": "901"}, "worker_timeout_seconds"),
            ({"worker_batch_size": "many"}, "worker_batch_size must be an integer"),
            ({"worker_batch_size": 20}, "batching_window"),
            ({"worker_max_concurrency": 1}, "worker_max_concurrency"),
            ({"log_retention_days": 10}, "log_retention_days"),
            ({"enable_cognito": "maybe"}, "enable_cognito must be true or false"),
            ({"alarm_email": "a@example.com"}, "alarm_topic"),
            ({"prefix": "Bad_Prefix"}, "prefix"),
            ({"api_field_log_level": "NONE"}, "api_field_log_level"),
            ({"dlq_retention_days": 2}, "dlq_retention_days"),
            # AppSync's 365-day maximum counts from the deploy, the expiry from the synth.
            ({"api_key_expiry_days": 365}, "api_key_expiry_days"),
            ({"api_key_expiry_days": 301}, "api_key_expiry_days"),
            ({"enable_cognito": True, "cognito_callback_urls": "http://app.example.org/cb"}, "cognito_callback_urls"),
            ({"cognito_callback_urls": "https://app.example.org/cb"}, "needs enable_cognito"),
            ({"waf_rate_limit": 5}, "waf_rate_limit"),
            ({"queue_depth_alarm_messages": 0}, "queue_depth_alarm_messages"),
            ({"api_4xx_alarm_threshold": 0}, "api_4xx_alarm_threshold"),
        ],
    )
    def test_bad_values_name_their_context_key(self, context: dict[str, object], message: str) -> None:
        with pytest.raises(ConfigError, match=message):
            JobsConfig.from_context(context)
