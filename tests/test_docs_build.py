"""The documentation site builds in strict mode (mkdocs.yml: docs/*.md + the API reference),
and strict mode does fail on a broken link and on a reference to a missing module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="mkdocs is the docs extra, installed in .venv only")
pytest.importorskip("mkdocstrings", reason="mkdocstrings is the docs extra (.venv only)")
yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs")

ROOT = Path(__file__).resolve().parents[1]


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_site_builds_strict_without_warnings(tmp_path: Path) -> None:
    result = build(ROOT / "mkdocs.yml", tmp_path / "site")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log, log
    page = (tmp_path / "site" / "api" / "network" / "index.html").read_text(encoding="utf-8")
    assert 'id="spikelab.network.Network"' in page  # the reference was rendered


def strict_build_of_page(tmp_path: Path, body: str) -> str:
    """Our settings (plugins, validation) on a one-page site; the build's log (it must fail)."""
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text(f"# broken\n\n{body}\n", encoding="utf-8")
    cfg.update(docs_dir=str(docs), nav=["index.md"])
    handler = cfg["plugins"][2]["mkdocstrings"]["handlers"]["python"]
    handler["paths"] = [str(ROOT)]
    config = tmp_path / "mkdocs.yml"
    config.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    result = build(config, tmp_path / "site")
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    return log


def test_strict_build_fails_on_broken_links(tmp_path: Path) -> None:
    """A missing page, a missing heading and a missing API name: each is named."""
    faults = {
        "[a page that is not there](missing.md)": "missing.md",
        "[a heading that is not there](#nowhere)": "#nowhere",
        "[a name that is not there][spikelab.network.NoSuchClass]": "NoSuchClass",
    }
    log = strict_build_of_page(tmp_path, "\n\n".join(faults))
    for culprit in faults.values():
        assert culprit in log, log


def test_strict_build_fails_on_a_missing_module(tmp_path: Path) -> None:
    log = strict_build_of_page(tmp_path, "::: spikelab.no_such_module")
    assert "spikelab.no_such_module" in log, log
