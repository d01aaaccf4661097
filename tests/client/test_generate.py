"""clients/generate.py: the generator's warnings are found, and only the allowed ones pass."""

from clients import generate

OUTPUT = """Generating /tmp/x/loyalty-client
Warning(s) encountered while generating. Client was generated, but some pieces may be missing

WARNING parsing POST /api/v1/csvimports/{importType} within imports.

Unsupported content type text/csv

{
  "content": {}
}

Skipping Integration

ruff is not in PATH

If you believe this was a mistake or this tool is missing a feature you need, please open an issue at https://x
"""


def test_the_warnings_are_what_follows_the_generators_notice_without_its_footer():
    found = generate.warnings_in(OUTPUT)
    assert found.startswith("WARNING parsing POST /api/v1/csvimports/{importType}")
    assert found.endswith("ruff is not in PATH")


def test_a_clean_run_has_no_warnings():
    assert generate.warnings_in("Generating /tmp/x/loyalty-client\n") == ""


def test_only_allowed_warnings_pass(monkeypatch):
    warnings = generate.warnings_in(OUTPUT)
    assert generate.unexpected(warnings) == warnings
    monkeypatch.setattr(
        generate, "ALLOWED_WARNINGS", [(r"Skipping Integration\s+ruff is not in PATH", "no formatting")]
    )
    assert generate.unexpected(warnings).startswith("WARNING parsing POST")
    assert "ruff" not in generate.unexpected(warnings)
    monkeypatch.setattr(generate, "ALLOWED_WARNINGS", [(r"WARNING parsing POST .*", "everything")])
    assert generate.unexpected(warnings) == ""
