"""Refit the calibration cs_rag ships (src/cs_rag/data/calibration.json) from knowledge/.

It is what `cs-rag ingest knowledge` fits on the sample knowledge's carved questions; knowledge
bases too small to calibrate themselves fall back to it. Run after changing the features.
"""

import shutil
import tempfile
from pathlib import Path

from cs_rag import KnowledgeBase
from cs_rag.index.versions import current_version

REPO = Path(__file__).resolve().parent.parent

with tempfile.TemporaryDirectory() as tmp:
    KnowledgeBase(Path(tmp) / "index").ingest([REPO / "knowledge"])
    fitted = current_version(Path(tmp) / "index") / "calibration.json"
    shutil.copyfile(fitted, REPO / "src" / "cs_rag" / "data" / "calibration.json")
    print(fitted.read_text(encoding="utf-8")[:400])
