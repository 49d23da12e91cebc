"""What `docker build .` (or `podman build`) sends as the build context: the repository's files
minus what .dockerignore excludes. The image builder hashes it (a changed file means a new
image), and the packaging test rebuilds the wheel from exactly these files."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex over slash paths."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def context_files(root: Path) -> list[str]:
    """Relative slash paths of the files in the build context, sorted. The last matching
    .dockerignore rule wins, and a rule matching a parent folder covers what is inside."""
    rules = []
    ignore = root / ".dockerignore"
    for line in (ignore.read_text().splitlines() if ignore.exists() else []):
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((line.startswith("!"), _pattern_regex(line.lstrip("!").strip("/"))))

    def excluded(relative: str) -> bool:
        parts = relative.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for keep, regex in rules:
            if any(regex.fullmatch(prefix) for prefix in prefixes):
                verdict = not keep
        return verdict

    return [
        relative
        for path in sorted(root.rglob("*"))
        if path.is_file() and not excluded(relative := path.relative_to(root).as_posix())
    ]


def context_digest(root: Path, *, extra: tuple[Path, ...] = ()) -> str:
    """sha256 over the context's paths and contents (plus extra files, e.g. the Dockerfile)."""
    digest = hashlib.sha256()
    for relative in context_files(root):
        digest.update(relative.encode() + b"\0" + (root / relative).read_bytes() + b"\0")
    for path in extra:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
