"""The checked-in components/ tree is exactly what codegen generates, and --check says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from sagemaker_ack_kfp.codegen import __main__ as cli
from sagemaker_ack_kfp.codegen.ack_release import AckRelease, crds_checksum
from sagemaker_ack_kfp.codegen.config import CONFIG_FILE, GeneratorConfig, project_version
from sagemaker_ack_kfp.codegen.generating import COMPONENTS_DIR, KIND_FILES, compare, generate, write
from sagemaker_ack_kfp.codegen.overlays import Overlay
from sagemaker_ack_kfp.codegen.templating import GENERATED_MARKER


@pytest.fixture(scope="module")
def generated(
    ack_release: AckRelease, generator_config: GeneratorConfig, overlays: tuple[Overlay, ...]
) -> dict[str, str]:
    return generate(release=ack_release, config=generator_config, config_path=CONFIG_FILE, overlays=overlays)


def test_checked_in_components_match_the_generator(generated: dict[str, str]) -> None:
    drift = compare(generated, COMPONENTS_DIR)
    assert not drift, drift.report("components/")


def test_generation_is_deterministic(
    ack_release: AckRelease, generator_config: GeneratorConfig, overlays: tuple[Overlay, ...], generated: dict[str, str]
) -> None:
    again = generate(release=ack_release, config=generator_config, config_path=CONFIG_FILE, overlays=overlays)
    assert again == generated


def test_file_set_is_fixed(generated: dict[str, str], overlays: tuple[Overlay, ...]) -> None:
    expected = {f"{o.kind}/{name}" for o in overlays for name in KIND_FILES}
    expected |= {"README.md", "generation-metadata.yaml"}
    assert set(generated) == expected
    assert all(text.endswith("\n") for text in generated.values())
    assert all(GENERATED_MARKER in text[:300] for text in generated.values())


def test_generation_metadata_records_provenance(generated: dict[str, str], ack_release: AckRelease) -> None:
    metadata = yaml.safe_load(generated["generation-metadata.yaml"])
    assert metadata["ack"]["version"] == "v1.9.1"
    assert metadata["ack"]["crdsSha256"] == crds_checksum(ack_release.crd_files)
    assert metadata["generator"]["version"] == project_version()
    assert "codegen/kinds/training_job.yaml" in metadata["inputs"]
    assert "codegen/config.yaml" in metadata["inputs"]
    assert all(len(digest) == 64 for digest in metadata["inputs"].values())


def test_component_image_is_tagged_with_the_project_version(generated: dict[str, str]) -> None:
    component = yaml.safe_load(generated["TrainingJob/component.yaml"])
    assert component["implementation"]["container"]["image"].endswith(f":{project_version()}")
    assert json.loads(generated["TrainingJob/kind.json"])["kind"] == "TrainingJob"


def _copy_components(tmp_path: Path) -> Path:
    target = tmp_path / "components"
    shutil.copytree(COMPONENTS_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_check_reports_differing_missing_and_extra_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _copy_components(tmp_path)
    assert cli.main(["--check", "--out", str(tree)]) == 0

    (tree / "TrainingJob" / "component.yaml").write_text("# edited by hand\n")
    (tree / "Model" / "README.md").unlink()
    (tree / "Model" / "notes.txt").write_text("hand-written\n")
    assert cli.main(["--check", "--out", str(tree)]) == 1
    report = capsys.readouterr().err
    assert "differs: TrainingJob/component.yaml" in report
    assert "missing: Model/README.md" in report
    assert "extra:   Model/notes.txt" in report


def test_write_repairs_the_tree_and_removes_stale_generated_files(tmp_path: Path, generated: dict[str, str]) -> None:
    tree = _copy_components(tmp_path)
    (tree / "TrainingJob" / "kind.json").write_text("{}\n")
    stale = tree / "OldKind"
    stale.mkdir()
    (stale / "component.yaml").write_text(f"# {GENERATED_MARKER}\nname: old\n")
    (tree / "NOTES.md").write_text("not generated\n")

    kept = write(generated, tree)

    assert kept == ["NOTES.md"]
    assert not stale.exists()
    drift = compare(generated, tree)
    assert (drift.differing, drift.missing, drift.extra) == ([], [], ["NOTES.md"])
