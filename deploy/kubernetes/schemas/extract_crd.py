"""Write the openAPIV3Schema of some kinds of a CustomResourceDefinition file as JSON for tests/kube.py.

Used to refresh the schemas kept here (see SOURCES.md); it reads local files only:

    python deploy/kubernetes/schemas/extract_crd.py CRD.yaml VERSION [KIND ...]

writes deploy/kubernetes/schemas/<group>/<kind-lowercase>_<version>.json for each CRD in the file that
serves VERSION (only the KINDs named, if any), and fails if none does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = Path(__file__).resolve().parent


def schema_files(crd: dict[str, Any], version: str) -> dict[Path, dict[str, Any]]:
    """The schema of the version wanted if this CRD serves it, keyed by the file it belongs in."""
    spec = crd["spec"]
    kind = spec["names"]["kind"].lower()
    return {
        SCHEMAS / spec["group"] / f"{kind}_{version}.json": served["schema"]["openAPIV3Schema"]
        for served in spec["versions"]
        if served["name"] == version and served.get("served", True)
    }


def main(crd_file: str, version: str, *kinds: str) -> None:
    documents = yaml.safe_load_all(Path(crd_file).read_text(encoding="utf-8"))
    crds = [
        doc
        for doc in documents
        if doc
        and doc.get("kind") == "CustomResourceDefinition"
        and (not kinds or doc["spec"]["names"]["kind"] in kinds)
    ]
    written = 0
    for crd in crds:
        for path, schema in schema_files(crd, version).items():
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            print(path.relative_to(SCHEMAS))
            written += 1
    if not written:
        wanted = " ".join([*kinds, "CRD"]) if kinds else "CRD"
        raise SystemExit(f"{crd_file}: no {wanted} serves {version}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
