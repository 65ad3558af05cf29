#!/usr/bin/env python3
"""Parse the hand-written drafts in drafts/*.txt into messages.jsonl.

This script only parses, shuffles with a fixed seed and numbers the lines.
It does not create, alter or fill in any message text or label.

Draft line format (one message per line, '#' lines are comments):
    <EMOTION><LEVEL> <TYPE> <STYLE> <LANG> [off] | <text> | <evidence>
"""
import glob
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261214

EMOTION = {"N": "none", "D": "dissatisfied", "A": "angry", "P": "disappointed"}
QTYPE = {"inq": "inquiry", "how": "howto", "flt": "fault", "cmp": "complaint", "sug": "suggestion"}
STYLE = {"pl": "plain", "sar": "sarcasm", "rep": "repeated_failure", "pol": "polite_disappointment",
         "en": "english", "emo": "emoji", "neg": "negation", "cf": "calm_fault", "thr": "threat",
         "ins": "insult", "col": "colloquial", "sug": "suggestion"}
LANG = {"zh", "en"}


def parse_line(path, no, line):
    parts = line.split("|")
    if len(parts) != 3:
        sys.exit(f"{path}:{no}: expected 3 fields separated by '|', got {len(parts)}")
    head, text, evidence = parts
    text = text.strip()
    evidence = evidence.strip()
    codes = head.split()
    if len(codes) not in (4, 5):
        sys.exit(f"{path}:{no}: bad label codes {head!r}")
    el, qt, st, lang = codes[:4]
    offensive = False
    if len(codes) == 5:
        if codes[4] != "off":
            sys.exit(f"{path}:{no}: unknown flag {codes[4]!r}")
        offensive = True
    if len(el) != 2 or el[0] not in EMOTION or not el[1].isdigit():
        sys.exit(f"{path}:{no}: bad emotion/level code {el!r}")
    if qt not in QTYPE or st not in STYLE or lang not in LANG:
        sys.exit(f"{path}:{no}: bad type/style/lang code {codes!r}")
    return {
        "text": text,
        "lang": lang,
        "emotion": EMOTION[el[0]],
        "level": int(el[1]),
        "question_type": QTYPE[qt],
        "offensive": offensive,
        "evidence": evidence,
        "style": STYLE[st],
        "_src": f"{os.path.basename(path)}:{no}",
    }


def main():
    rows = []
    for path in sorted(glob.glob(os.path.join(HERE, "drafts", "*.txt"))):
        with open(path, encoding="utf-8") as f:
            for no, raw in enumerate(f, 1):
                line = raw.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                rows.append(parse_line(path, no, line))
    random.Random(SEED).shuffle(rows)
    out_path = os.path.join(HERE, "messages.jsonl")
    src_path = os.path.join(HERE, "sources.tsv")
    with open(out_path, "w", encoding="utf-8") as out, open(src_path, "w", encoding="utf-8") as src:
        src.write("id\tdraft_line\n")
        for i, r in enumerate(rows, 1):
            rid = f"e6-{i:04d}"
            rec = {"id": rid}
            for k in ("text", "lang", "emotion", "level", "question_type", "offensive", "evidence", "style"):
                rec[k] = r[k]
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            src.write(f"{rid}\t{r['_src']}\n")
    print(f"wrote {len(rows)} messages to {out_path}")


if __name__ == "__main__":
    main()
