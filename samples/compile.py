"""Compile a sample pipeline with whichever KFP SDK runs this script.

    python samples/compile.py mnist_kmeans -o mnist_kmeans.yaml
    python samples/compile.py samples/tuning/pipeline.py -o tuning.yaml

KFP SDK 1.8 writes an Argo Workflow, KFP 2.x the pipeline IR; both upload to a KFP of the
matching major version and run locally with `python -m sagemaker_ack_kfp.localrun`.
A sample is a folder name under samples/ or a path to a pipeline file that defines PIPELINE.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

SAMPLES_DIR = Path(__file__).resolve().parent


def pipeline_file(sample: str) -> Path:
    candidate = Path(sample)
    if candidate.suffix == ".py":
        return candidate.resolve()
    return SAMPLES_DIR / sample / "pipeline.py"


def load_pipeline(path: Path) -> object:
    # Pipelines import kfp_compat from samples/, wherever they are compiled from.
    sys.path.insert(0, str(SAMPLES_DIR))
    spec = importlib.util.spec_from_file_location(f"sample_{path.parent.name}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"error: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return module.PIPELINE
    except AttributeError:
        raise SystemExit(f"error: {path} does not define PIPELINE (the @dsl.pipeline function)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sample", help="sample folder name (training_only, mnist_kmeans, tuning) or a pipeline .py file")
    parser.add_argument("-o", "--output", required=True, help="where to write the compiled pipeline (.yaml)")
    args = parser.parse_args(argv)

    path = pipeline_file(args.sample)
    if not path.is_file():
        known = sorted(p.parent.name for p in SAMPLES_DIR.glob("*/pipeline.py"))
        print(f"error: no pipeline at {path} (samples: {', '.join(known)})", file=sys.stderr)
        return 2
    pipeline = load_pipeline(path)

    import kfp
    from kfp import compiler

    compiler.Compiler().compile(pipeline, args.output)
    form = "Argo Workflow" if kfp.__version__.startswith("1.") else "pipeline IR"
    print(f"compiled {path.relative_to(SAMPLES_DIR) if path.is_relative_to(SAMPLES_DIR) else path} "
          f"with KFP SDK {kfp.__version__} ({form}) -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
