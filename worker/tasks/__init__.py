"""The task catalogue: the registry instance shared by ``submitJob`` (validation) and the worker (execution).

Add your own tasks in any module with ``@task("name")`` and list the module in
``APPSYNC_JOBS_TASK_MODULES`` (comma separated) - both Lambdas and the local server import it.
Keep heavy imports inside task bodies: the resolver imports this catalogue on every cold start.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from jobcore.registry import TaskRegistry

registry = TaskRegistry()
task = registry.task

_loaded: set[str] = set()


def load_registry(extra_modules: Iterable[str] = ()) -> TaskRegistry:
    """Import the bundled examples and any user task modules (once each), then return the registry."""
    for module in ("worker.tasks.examples", *extra_modules):
        if module not in _loaded:
            importlib.import_module(module)
            _loaded.add(module)
    return registry


__all__ = ["load_registry", "registry", "task"]
