"""Set the shipped offensive classifier's operating threshold for customer-service traffic.

    python scripts/calibrate_offensive.py [--max-share 0.01]

The max-F1 threshold from `scripts/train_offensive.py` was chosen on a carve of its training
data (COLD train and the own messages), where offensive text is common; on ordinary customer
questions it may flag too many (with COLD alone, 退货要怎么操作 scored 0.40). This picks the lowest threshold at which at most `--max-share` of our own
ordinary questions are flagged: the standard and similar questions of knowledge/faq.jsonl and
knowledge/faq_extra.csv, nothing from eval/ or COLD dev. It never goes below the carve
threshold, which stays in the provenance as `carve_threshold`. Run it after every training.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from cs_rag.guard.classifier import OffensiveClassifier, threshold_for_share

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "src" / "cs_rag" / "data" / "guard" / "offensive.npz"
KNOWLEDGE = REPO / "knowledge"


def faq_questions(folder: Path) -> list[str]:
    """Standard and similar questions of faq.jsonl and faq_extra.csv, without repeats."""
    questions: list[str] = []
    with open(folder / "faq.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                questions += [row["question"], *row.get("similar_questions", [])]
    extra = folder / "faq_extra.csv"
    if extra.is_file():
        with open(extra, encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                questions += [row["标准问题"], *filter(None, row["相似问题"].split("|"))]
    return list(dict.fromkeys(q.strip() for q in questions if q.strip()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    parser.add_argument("--max-share", type=float, default=0.01)
    args = parser.parse_args()

    model = OffensiveClassifier.load(args.model)
    provenance = dict(model.provenance)
    carve = float(provenance.setdefault("carve_threshold", model.threshold))
    provenance.setdefault("carve_threshold_rule", provenance.pop("threshold_rule", "max F1 on the carved 20%"))
    questions = faq_questions(args.knowledge)
    scores = model.predict_proba(questions)
    service = max(carve, threshold_for_share(list(scores), args.max_share))
    flagged = int((scores >= service).sum())
    provenance.update({
        "threshold_rule": (f"customer-service threshold: lowest with at most {args.max_share:.0%} of "
                           f"the knowledge base's FAQ questions (standard + similar, faq.jsonl + "
                           f"faq_extra.csv) flagged, never below carve_threshold"),
        "service_threshold": round(service, 6),
        "service_questions": len(questions),
        "service_flagged": flagged,
        "service_flagged_at_carve_threshold": int((scores >= carve).sum()),
    })
    OffensiveClassifier(model.weights, model.idf, model.bias, service, model.config,
                        provenance).save(args.model)
    print(json.dumps(provenance, ensure_ascii=False, indent=1))
    print(f"threshold {carve:.3f} -> {service:.3f}: {flagged}/{len(questions)} FAQ questions flagged")


if __name__ == "__main__":
    main()
