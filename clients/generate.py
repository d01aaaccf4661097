"""Generate the Python client of the API with openapi-python-client, from the schema the code describes.

`make client` writes it to build/loyalty-client (pip-installable); CI and tests/client generate it the same
way. Any warning of the generator fails the run unless ALLOWED_WARNINGS lets it pass: a warning means a
generated client would miss or mangle an operation, which integrators would have to patch by hand.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "clients" / "python.yml"
MANAGE = [sys.executable, "manage.py"]
OPTIONS = ["--config", str(CONFIG), "--overwrite", "--output-path"]

# Each entry is a regular expression that matches one whole warning in the generator's output (heading
# and details; `.` matches newlines), with the reason it is harmless. Keep it short: fix the schema instead.
ALLOWED_WARNINGS: list[tuple[str, str]] = []

_FOOTER = re.compile(r"If you believe this was a mistake.*", re.S)


def warnings_in(output: str) -> str:
    """Everything the generator reported after saying it met warnings or errors, without its footer."""
    marker = re.search(r"(Warning|Error)\(s\) encountered while generating[^\n]*\n", output)
    return _FOOTER.sub("", output[marker.end() :]).strip() if marker else ""


def unexpected(warnings: str) -> str:
    """The warnings left once the allowed ones are taken out."""
    for pattern, _ in ALLOWED_WARNINGS:
        warnings = re.sub(pattern, "", warnings, flags=re.S)
    return warnings.strip()


def generate(output: Path, schema: Path | None = None) -> Path:
    """Generate the client into `output` from `schema` (by default the document this code describes, written
    beside `output`); raise on an unexpected warning."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    if schema is None:
        schema = output.parent / "loyalty-openapi.json"
        subprocess.run(
            [*MANAGE, "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(schema)],
            cwd=ROOT,
            check=True,
        )
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--meta",
            "setup",
            *OPTIONS,
            str(output),
        ],
        cwd=output.parent,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
    )
    text = result.stdout + result.stderr
    if result.returncode != 0 or unexpected(warnings_in(text)):
        raise SystemExit(f"openapi-python-client failed or warned:\n\n{text}")
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "loyalty-client")
    path = generate(parser.parse_args().output)
    print(f"client: {path} (pip install {os.path.relpath(path)})")


if __name__ == "__main__":
    main()
