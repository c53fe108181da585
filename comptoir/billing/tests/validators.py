"""Test helpers: the offline e-invoice validators of `shared/validators/` (beside the repository), run as a
subprocess with the project's Python (saxonche must never be imported into the test process: it can abort
threaded or forked hosts).

    assert_valid_cii(invoice_cii(invoice), fr_ctc=True)      # CII XML: XSD + CEN EN 16931 (+ BR-FR)
    assert_valid_cii(pdf_bytes, facturx=True)                # Factur-X PDF: the embedded XML + XMP level
    assert_valid_cii(invoice_ubl(invoice))                   # UBL 2.1 Invoice / CreditNote

A missing validators folder fails the test (never skips it): CI clones `shared/` beside the repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings


def validators_dir() -> Path:
    folder = Path(os.environ.get("VALIDATORS_DIR") or Path(settings.BASE_DIR).parent / "shared" / "validators")
    if not (folder / "validate_cii.py").is_file():
        pytest.fail(
            f"The e-invoice validators are missing: no {folder / 'validate_cii.py'}. Clone the shared folder beside "
            "the repository (or set VALIDATORS_DIR)."
        )
    return folder


def _suffix(data: bytes) -> str:
    return ".pdf" if data.startswith(b"%PDF") else ".xml"


def run_validator(
    path_or_bytes: Path | str | bytes, *, facturx: bool = False, fr_ctc: bool = False, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run validate_cii.py on a file or on bytes (written to a temporary file); returns the finished process."""
    folder = validators_dir()
    options = ["--location"] + (["--facturx"] if facturx else []) + (["--fr-ctc"] if fr_ctc else [])
    with tempfile.TemporaryDirectory(prefix="comptoir-validate-") as temporary:
        if isinstance(path_or_bytes, bytes):
            path = Path(temporary) / f"document{_suffix(path_or_bytes)}"
            path.write_bytes(path_or_bytes)
        else:
            path = Path(path_or_bytes)
        return subprocess.run(
            [sys.executable, str(folder / "validate_cii.py"), str(path), *options],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "VALIDATORS_DIR": str(folder)},
            check=False,
        )


def assert_valid_cii(path_or_bytes: Path | str | bytes, *, facturx: bool = False, fr_ctc: bool = False) -> str:
    """Fail with the validator's report unless the CII / UBL XML or Factur-X PDF is valid; returns the report."""
    result = run_validator(path_or_bytes, facturx=facturx, fr_ctc=fr_ctc)
    report = f"{result.stdout}\n{result.stderr}".strip()
    if result.returncode != 0:
        pytest.fail(f"validate_cii.py exited with {result.returncode}:\n{report}", pytrace=False)
    return report
