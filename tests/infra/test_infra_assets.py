"""The shared Lambda asset: what goes in, how it is bundled, and that the handler strings are real."""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from infra import assets
from infra.config import HANDLERS

REPO_ROOT = Path(__file__).resolve().parents[2]


class TestRequirements:
    def test_the_lambda_extra_without_what_the_runtime_provides(self) -> None:
        reqs = assets.lambda_requirements()
        names = {r.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for r in reqs}
        assert names == {"aws-lambda-powertools", "aws-xray-sdk", "gql", "pydantic"}
        assert any(r.startswith("gql[requests]") for r in reqs)

    def test_pip_fetches_arm64_wheels_for_the_function_runtime(self) -> None:
        args = assets.pip_install_args(["pydantic"], "/out")
        assert args[args.index("--platform") + 1] == "manylinux2014_aarch64"
        assert "--only-binary=:all:" in args
        assert args[args.index("--python-version") + 1] == assets.PYTHON_VERSION
        assert args[args.index("--target") + 1] == "/out"
        # The interpreter pip targets is the one the functions run.
        assert assets.LAMBDA_RUNTIME.name == f"python{assets.PYTHON_VERSION}"
        assert assets.LAMBDA_ARCHITECTURE.name == "arm64"


class TestAssetFingerprint:
    """The asset hash (what CDK compares to decide on a new upload) covers exactly the runtime code."""

    @staticmethod
    def fingerprint(root: Path) -> str:
        from aws_cdk import FileSystem, IgnoreMode

        return str(FileSystem.fingerprint(str(root), exclude=assets.ASSET_EXCLUDE, ignore_mode=IgnoreMode.GLOB))

    @pytest.fixture
    def repo(self, tmp_path: Path) -> Path:
        for package in assets.RUNTIME_PACKAGES:
            (tmp_path / package / "sub").mkdir(parents=True)
            (tmp_path / package / "__init__.py").write_text("")
            (tmp_path / package / "sub" / "deep.py").write_text("X = 1\n")
        (tmp_path / "pyproject.toml").write_text("[project]\n")
        return tmp_path

    @pytest.mark.parametrize("package", assets.RUNTIME_PACKAGES)
    def test_a_change_deep_in_a_runtime_package_changes_the_hash(self, repo: Path, package: str) -> None:
        before = self.fingerprint(repo)
        (repo / package / "sub" / "deep.py").write_text("X = 2\n")
        assert self.fingerprint(repo) != before

    def test_a_dependency_change_in_pyproject_changes_the_hash(self, repo: Path) -> None:
        before = self.fingerprint(repo)
        (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n")
        assert self.fingerprint(repo) != before

    def test_everything_else_in_the_repo_is_ignored(self, repo: Path) -> None:
        before = self.fingerprint(repo)
        for other in ("devserver", "client", "tests", ".venv/lib", "node_modules/x", "infra"):
            (repo / other).mkdir(parents=True)
            (repo / other / "module.py").write_text("noise")
        (repo / "README.md").write_text("noise")
        (repo / "jobcore" / "__pycache__").mkdir()
        (repo / "jobcore" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"noise")
        assert self.fingerprint(repo) == before


class TestLocalBundling:
    def test_installs_with_pip_and_copies_only_the_three_packages(self, tmp_path: Path) -> None:
        # Given a fake repo with runtime packages, compiled files and code that must stay out
        source = tmp_path / "repo"
        for package in ("jobcore", "resolvers", "worker", "devserver", "client"):
            (source / package / "__pycache__").mkdir(parents=True)
            (source / package / "__init__.py").write_text("")
            (source / package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"")
        commands: list[Sequence[str]] = []
        bundler = assets.LocalPipBundling(
            ["pydantic>=2"], source_root=source, python="py", runner=commands.append, compiler="py3.12"
        )
        out = tmp_path / "out"
        out.mkdir()
        # When CDK asks the local bundler first
        assert bundler.try_bundle(str(out), image=None) is True  # type: ignore[arg-type]
        # Then pip ran once for the wheels, and only our three packages were copied, without caches
        assert commands[0] == ["py", "-m", "pip", "--version"]
        assert commands[1] == ["py", "-m", "pip", *assets.pip_install_args(["pydantic>=2"], str(out))]
        # and the asset is byte-compiled by the runtime's Python (Lambda cannot write its own cache)
        assert commands[2] == ["py3.12", *assets.compile_args(str(out))]
        assert sorted(p.name for p in out.iterdir()) == ["jobcore", "resolvers", "worker"]
        assert not list(out.rglob("__pycache__"))

    def test_what_the_runtime_provides_is_removed_even_when_pulled_in_as_a_dependency(self, tmp_path: Path) -> None:
        # Given pip installed botocore & co. because a bundled package depends on them (aws-xray-sdk does)
        for name in ("botocore", "botocore-1.35.0.dist-info", "s3transfer", "jmespath", "jmespath-1.0.1.dist-info",
                     "boto3", "wrapt", "wrapt-1.16.0.dist-info", "aws_xray_sdk"):
            (tmp_path / name).mkdir()
        (tmp_path / "jmespath.py").write_text("")  # a single-module distribution too
        # When the asset is cleaned
        removed = assets.remove_runtime_provided(tmp_path)
        # Then only the runtime's own packages went
        assert sorted(p.name for p in tmp_path.iterdir()) == ["aws_xray_sdk", "wrapt", "wrapt-1.16.0.dist-info"]
        assert "botocore" in removed and "jmespath-1.0.1.dist-info" in removed

    def test_without_pip_it_declines_so_cdk_falls_back_to_docker(self, tmp_path: Path) -> None:
        def no_pip(cmd: Sequence[str]) -> None:
            raise OSError("no such interpreter")

        bundler = assets.LocalPipBundling([], source_root=tmp_path, python="missing", runner=no_pip)
        assert bundler.try_bundle(str(tmp_path), image=None) is False  # type: ignore[arg-type]

    def test_docker_fallback_runs_the_same_install(self) -> None:
        command = assets.docker_command(["pydantic>=2"])
        assert command[:2] == ["bash", "-c"]
        script = command[2]
        assert " ".join(assets.pip_install_args(["'pydantic>=2'"], "/asset-output")) in script
        for package in assets.RUNTIME_PACKAGES:
            assert f"cp -r /asset-input/{package} /asset-output/" in script
        for provided in assets.RUNTIME_PROVIDED:
            assert f"/asset-output/{provided} /asset-output/{provided}-*.dist-info" in script
        assert script.endswith(" ".join(["python", *assets.compile_args("/asset-output")]))

    def test_the_runtime_python_is_found_only_if_it_really_runs(self) -> None:
        found = assets.find_runtime_python(f"{sys.version_info[0]}.{sys.version_info[1]}")
        assert found is not None
        assert assets.find_runtime_python("2.0") is None


class TestHandlerStrings:
    """Each handler string must name a module file and a top-level name in it - checked without
    importing the runtime (infra never imports it, and its dependencies may not be installed)."""

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_handler_names_a_module_file_and_a_top_level_callable(self, handler: str) -> None:
        module, _, attr = handler.rpartition(".")
        path = REPO_ROOT.joinpath(*module.split(".")).with_suffix(".py")
        assert path.exists(), f"handler {handler} names no module file"
        assert attr in _top_level_names(path), f"{path.relative_to(REPO_ROOT)} defines no top-level {attr!r}"

    @pytest.mark.parametrize("handler", HANDLERS)
    def test_handler_module_lives_in_a_bundled_package(self, handler: str) -> None:
        assert handler.split(".")[0] in assets.RUNTIME_PACKAGES

    def test_infra_imports_no_runtime_package(self) -> None:
        forbidden = {"resolvers", "worker", "devserver", "client"}
        for path in (REPO_ROOT / "infra").glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    roots = {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    roots = {node.module.split(".")[0]}
                    if roots == {"jobcore"}:
                        assert node.module == "jobcore.table_schema" or node.names[0].name == "table_schema", path
                else:
                    continue
                assert not roots & forbidden, f"{path.name} imports {roots & forbidden}"


def _top_level_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names
