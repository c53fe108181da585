"""Validate many CII files with the shared `validate_cii.py` in ONE subprocess.

`validate_cii.py FILE` compiles its stylesheets for every file (≈ 0.3 s each) and starts SaxonC each time, so
hundreds of invoices one process each take minutes. Here a single child process imports the shared module
(its folder put on sys.path inside the child), compiles the XSD and each schematron once, and checks every
file with the module's own functions (`detect`, `check_xsd`, the SVRL reading of `run_schematrons`), with the
same verdict as the script: an XSD error or a fatal / error assert fails the file.

SaxonC is never imported in the test process (it can abort inside threaded or forked hosts, see the
validators' README). The validators live next to the repository, in `<BASE_DIR>/../shared/validators`; when
they are missing the test FAILS, it is never skipped.

    assert_all_valid_cii([path, ...], fr_ctc_paths=[path, ...])   # fr_ctc: also the French CTC (BR-FR) rules
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from django.conf import settings

CHILD = r"""
import json, sys
from pathlib import Path

validators, job = sys.argv[1], sys.argv[2]
sys.path.insert(0, validators)
import validate_cii as v
from lxml import etree

request = json.loads(Path(job).read_text())
schemas, results = {}, {}

def schema(path):
    if path not in schemas:
        schemas[path] = etree.XMLSchema(file=str(path))
    return schemas[path]

from saxonche import PySaxonProcessor
with PySaxonProcessor(license=False) as proc:
    compiler = proc.new_xslt30_processor()
    stylesheets = {}

    def stylesheet(path):
        if path not in stylesheets:
            stylesheets[path] = compiler.compile_stylesheet(stylesheet_file=str(path))
        return stylesheets[path]

    for item in request:
        name, fr_ctc = item["path"], item["fr_ctc"]
        problems = []
        try:
            data = Path(name).read_bytes()
            if data[:5] == b"%PDF-":
                _attachment, data, _reader = v.extract_xml_from_pdf(Path(name))
            data = data.lstrip(b"\xef\xbb\xbf")
            doc = etree.ElementTree(etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True)))
            syntax, level, gid = v.detect(doc.getroot())
            if syntax != "cii":
                raise ValueError(f"not a CII document ({syntax})")
            xsd = v.FX / v.FX_XSD[level] if level else v.CEN_CII_XSD
            checker = schema(xsd)
            if not checker.validate(doc):
                problems += [f"[xsd] line {e.line}: {e.message}" for e in checker.error_log]
            xslts = []
            en_ok = level not in ("minimum", "basicwl")
            if en_ok:
                xslts.append(v.CEN_CII_XSLT)
            if level and (not en_ok or level == "extended-ctc-fr"):
                xslts.append(v.FX / v.FX_SCH[level])
            if fr_ctc:
                xslts.append(v.FR_CTC["cii"])
            node = proc.parse_xml(xml_text=data.decode("utf-8"))
            for xslt in xslts:
                svrl = stylesheet(xslt).transform_to_string(xdm_node=node)
                if not svrl:
                    raise RuntimeError(f"{xslt.name}: empty SVRL output")
                root = etree.fromstring(svrl.encode("utf-8"))
                for el in root.iter(f"{{{v.NS_SVRL}}}failed-assert", f"{{{v.NS_SVRL}}}successful-report"):
                    flag = (el.get("flag") or el.get("role") or "").lower() or "error"
                    if flag in ("fatal", "error"):
                        text = " ".join("".join(el.findtext(f"{{{v.NS_SVRL}}}text") or "").split())
                        problems.append(f"[{flag}] {xslt.stem} {el.get('id') or '?'}: {text}")
        except Exception as error:  # noqa: BLE001
            problems.append(f"[unreadable] {type(error).__name__}: {error}")
        results[name] = problems
print(json.dumps(results))
"""


def validators_dir() -> Path:
    """The shared validators (`validate_cii.py` and its data files); fails the test when they are missing."""
    folder = Path(settings.BASE_DIR).parent / "shared" / "validators"
    if not (folder / "validate_cii.py").is_file():
        pytest.fail(f"The shared validators are missing: no validate_cii.py in {folder}.", pytrace=False)
    return folder


def validate_cii_files(paths: Iterable[Path | str], *, fr_ctc_paths: Iterable[Path | str] = ()) -> dict[str, list[str]]:
    """{path: [fatal findings]} for every file (an empty list: valid), in one subprocess."""
    fr_ctc = {str(path) for path in fr_ctc_paths}
    names = list(dict.fromkeys([str(path) for path in paths] + sorted(fr_ctc)))
    if not names:
        return {}
    folder = validators_dir()
    with tempfile.TemporaryDirectory(prefix="validate-cii-") as scratch:
        script, job = Path(scratch) / "batch.py", Path(scratch) / "job.json"
        script.write_text(CHILD)
        job.write_text(json.dumps([{"path": name, "fr_ctc": name in fr_ctc} for name in names]))
        result = subprocess.run([sys.executable, str(script), str(folder), str(job)], capture_output=True,
                                text=True, timeout=1800)  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"the batch validator stopped (exit {result.returncode}):\n{result.stderr[-4000:]}", pytrace=False)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        pytest.fail(f"the batch validator printed no result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
                    pytrace=False)  # fmt: skip


def assert_all_valid_cii(paths: Iterable[Path | str], *, fr_ctc_paths: Iterable[Path | str] = ()) -> None:
    """Every file passes validate_cii.py's XSD and EN 16931 schematron (and the BR-FR rules for `fr_ctc_paths`)."""
    results = validate_cii_files(paths, fr_ctc_paths=fr_ctc_paths)
    failures = {path: problems for path, problems in results.items() if problems}
    if failures:
        report = "\n".join(f"{Path(path).name}:\n    " + "\n    ".join(problems[:8])
                           for path, problems in sorted(failures.items())[:20])  # fmt: skip
        pytest.fail(f"{len(failures)} of {len(results)} documents fail validate_cii.py:\n{report}", pytrace=False)
