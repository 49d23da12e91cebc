"""`python -m sagemaker_ack_kfp.codegen [--check] [--out DIR]` (what `make generate` runs).

Without --check it (re)writes components/; with --check it writes nothing and exits 1 when
the checked-in tree differs from what it would generate (the CI drift gate).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .ack_release import ReleaseNotFound, locate
from .config import CONFIG_FILE, load_config
from .crds import CrdError
from .generating import COMPONENTS_DIR, compare, generate, write
from .kfptypes import UnsupportedSchema
from .loading import ConfigError
from .overlays import KINDS_DIR, load_overlays
from .templating import TemplateError


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_ack_kfp.codegen", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the tree differs from what would be generated")
    parser.add_argument("--out", type=Path, default=COMPONENTS_DIR, help="components tree (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        release = locate()
        files = generate(
            release=release,
            config=load_config(CONFIG_FILE),
            config_path=CONFIG_FILE,
            overlays=load_overlays(KINDS_DIR),
        )
    except (ReleaseNotFound, ConfigError, CrdError, UnsupportedSchema, TemplateError) as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 2
    if args.check:
        drift = compare(files, args.out)
        if drift:
            print(drift.report(str(args.out)), file=sys.stderr)
            return 1
        print(f"codegen: {args.out} is up to date ({len(files)} files, ACK {release.version})")
        return 0
    kept = write(files, args.out)
    for relative in kept:
        print(f"codegen: warning: {args.out / relative} is not generated and was left in place", file=sys.stderr)
    print(f"codegen: wrote {len(files)} files to {args.out} from ACK {release.version} ({release.source})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
