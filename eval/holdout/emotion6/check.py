#!/usr/bin/env python3
"""Check messages.jsonl against BRIEF.md and GUIDE.md. Exit 1 on any failure."""
import json
import os
import re
import sys
import unicodedata
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
PATH = os.path.join(HERE, "messages.jsonl")
KEYS = ["id", "text", "lang", "emotion", "level", "question_type", "offensive", "evidence", "style"]
EMOTIONS = ["none", "dissatisfied", "angry", "disappointed"]
TYPES = ["inquiry", "howto", "fault", "complaint", "suggestion"]
STYLES = ["plain", "sarcasm", "repeated_failure", "polite_disappointment", "english", "emoji",
          "negation", "calm_fault", "threat", "insult", "colloquial", "suggestion"]
ALARM = ["投诉", "差评", "退款失败", "骗子", "12315", "消协", "黑猫", "报警", "律师", "媒体", "曝光",
         "supervisor", "complaint", "manager", "lawyer", "scam", "fraud"]
# Latin words that are part of ordinary Chinese shop talk, not a switch to English
ZH_LATIN_OK = {"plus", "app", "pdf", "wifi", "vip", "kd", "yhq", "jf", "wx", "ok", "g", "e"}
EMOJI_RE = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")

errors, warnings = [], []


def fail(msg):
    errors.append(msg)


def between(name, value, lo, hi):
    ok = lo <= value <= hi
    if not ok:
        fail(f"{name} = {value}, expected {lo}..{hi}")
    return ok


def norm(t):
    t = unicodedata.normalize("NFKC", t).lower()
    return re.sub(r"[\W_]+", "", t)


rows = []
with open(PATH, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        try:
            obj = json.loads(line, object_pairs_hook=list)
        except json.JSONDecodeError as e:
            fail(f"line {n}: invalid JSON ({e})")
            continue
        keys = [k for k, _ in obj]
        if keys != KEYS:
            fail(f"line {n}: key order {keys}")
        rows.append(dict(obj))

# per-record checks
for n, r in enumerate(rows, 1):
    rid = r.get("id")
    if rid != f"e6-{n:04d}":
        fail(f"line {n}: id {rid!r} out of sequence")
    t = r["text"]
    if not isinstance(t, str) or not (2 <= len(t) <= 120):
        fail(f"{rid}: text length {len(t)} not in 2..120")
    if t != t.strip():
        fail(f"{rid}: leading/trailing space")
    if r["lang"] not in ("zh", "en"):
        fail(f"{rid}: lang {r['lang']!r}")
    if r["emotion"] not in EMOTIONS:
        fail(f"{rid}: emotion {r['emotion']!r}")
    if r["level"] not in (0, 1, 2, 3) or isinstance(r["level"], bool):
        fail(f"{rid}: level {r['level']!r}")
    if (r["level"] == 0) != (r["emotion"] == "none"):
        fail(f"{rid}: level 0 iff emotion none violated")
    if r["question_type"] not in TYPES:
        fail(f"{rid}: question_type {r['question_type']!r}")
    if not isinstance(r["offensive"], bool):
        fail(f"{rid}: offensive not bool")
    if r["style"] not in STYLES:
        fail(f"{rid}: style {r['style']!r}")
    ev = r["evidence"]
    if r["emotion"] == "none":
        if ev != "":
            fail(f"{rid}: evidence must be empty for none")
    else:
        if not ev or ev not in t:
            fail(f"{rid}: evidence {ev!r} is not a substring of the text")
    # consistency between labels
    if r["offensive"] and r["emotion"] == "none":
        fail(f"{rid}: offensive but emotion none")
    if r["style"] in ("threat", "insult") and r["level"] != 3:
        fail(f"{rid}: threat/insult style below level 3")
    if r["style"] == "insult" and not r["offensive"]:
        fail(f"{rid}: insult style but offensive false")
    if r["style"] in ("negation", "calm_fault") and r["emotion"] != "none":
        fail(f"{rid}: negation/calm_fault must be emotion none")
    if r["style"] == "calm_fault" and r["question_type"] != "fault":
        fail(f"{rid}: calm_fault must be type fault")
    if r["style"] == "polite_disappointment" and r["emotion"] != "disappointed":
        fail(f"{rid}: polite_disappointment must be disappointed")
    if r["style"] == "english" and r["lang"] != "en":
        fail(f"{rid}: english style on a zh message")
    if r["style"] == "emoji" and not EMOJI_RE.search(t):
        fail(f"{rid}: emoji style without an emoji")
    if r["lang"] == "en" and re.search(r"[\u4e00-\u9fff]", t):
        fail(f"{rid}: lang en but Chinese characters present")

# duplicates
seen = {}
for r in rows:
    for key in (r["text"], norm(r["text"])):
        if key in seen and seen[key] != r["id"]:
            fail(f"{r['id']}: duplicate of {seen[key]}")
        seen.setdefault(key, r["id"])

N = len(rows)
if N != 500:
    fail(f"total {N}, expected 500")

emo = Counter(r["emotion"] for r in rows)
lvl = Counter(r["level"] for r in rows)
typ = Counter(r["question_type"] for r in rows)
lang = Counter(r["lang"] for r in rows)
sty = Counter(r["style"] for r in rows)
unhappy = [r for r in rows if r["emotion"] != "none"]
calm = [r for r in rows if r["emotion"] == "none"]
l3 = [r for r in rows if r["level"] == 3]
l3_ti = [r for r in l3 if r["style"] in ("threat", "insult")]
l3_plain = [r for r in l3 if r["style"] not in ("threat", "insult")]
cross = Counter((r["emotion"], r["level"]) for r in rows)

between("none", emo["none"], 300, 300)
between("unhappy", len(unhappy), 200, 200)
between("level 1", lvl[1], 52, 58)
between("level 2", lvl[2], 62, 68)
between("level 3", lvl[3], 77, 83)
between("level 3 without threat/insult", len(l3_plain), 45, 10**6)
between("level 3 with threat/insult", len(l3_ti), 1, 10**6)
alarm_calm = [r for r in calm if any(w.lower() in r["text"].lower() for w in ALARM)]
between("calm messages with alarming words", len(alarm_calm), 30, 10**6)

# all three emotions, as the guide describes them
for e in ("dissatisfied", "angry", "disappointed"):
    between(f"{e} share of unhappy (%)", round(100 * emo[e] / len(unhappy)), 15, 60)
if cross[("angry", 2)] + cross[("angry", 3)] <= cross[("angry", 1)]:
    fail("angry should be mostly at levels 2-3")
if cross[("disappointed", 1)] + cross[("disappointed", 2)] <= cross[("disappointed", 3)]:
    fail("disappointed should be mostly at levels 1-2")

# language
between("English share (%)", round(100 * lang["en"] / N, 1), 10.0, 14.0)
mixed = [r for r in rows if r["lang"] == "zh" and
         [w for w in re.findall(r"[A-Za-z]+", r["text"]) if w.lower() not in ZH_LATIN_OK]]
between("mixed zh/en messages", len(mixed), 3, 30)

# hard cases, each at least 5% of the set
five = -(-N * 5 // 100)
hard = {
    "sarcasm": sum(1 for r in rows if r["style"] == "sarcasm"),
    "repeated failure": sum(1 for r in rows if r["style"] == "repeated_failure"),
    "polite disappointment": sum(1 for r in rows if r["style"] == "polite_disappointment"),
    "English unhappy": sum(1 for r in unhappy if r["lang"] == "en"),
    "English neutral": sum(1 for r in calm if r["lang"] == "en"),
    "emoji carrying the feeling": sum(1 for r in unhappy if EMOJI_RE.search(r["evidence"])),
    "negation and calm faults": sum(1 for r in calm if r["style"] in ("negation", "calm_fault")),
    "neutral with alarming words": len(alarm_calm),
}
for k, v in hard.items():
    between(f"hard case: {k}", v, five, 10**6)

# question types
for t in TYPES:
    between(f"type {t}", typ[t], -(-N * 10 // 100), 10**6)
    if typ[t] < N * 12 / 100:
        warnings.append(f"type {t} = {typ[t]} below the guide's 12%")

off = sum(1 for r in rows if r["offensive"])
between("offensive", off, 12, 20)

# ---- report ----
print(f"messages: {N}")
print("\nemotion x level")
print(f"{'':14}{'0':>6}{'1':>6}{'2':>6}{'3':>6}{'total':>7}")
for e in EMOTIONS:
    print(f"{e:14}" + "".join(f"{cross[(e, l)]:>6}" for l in range(4)) + f"{emo[e]:>7}")
print(f"{'total':14}" + "".join(f"{lvl[l]:>6}" for l in range(4)) + f"{N:>7}")
print(f"\nlevel 3 with threat or insult: {len(l3_ti)} "
      f"(threat {sum(1 for r in l3_ti if r['style']=='threat')}, insult {sum(1 for r in l3_ti if r['style']=='insult')}); "
      f"without: {len(l3_plain)}")
print("\nquestion types: " + ", ".join(f"{t} {typ[t]}" for t in TYPES))
print("languages: " + ", ".join(f"{k} {v}" for k, v in sorted(lang.items())) + f"; mixed zh/en {len(mixed)}")
print("styles: " + ", ".join(f"{s} {sty[s]}" for s in STYLES))
print(f"offensive: {off}")
print("hard cases: " + ", ".join(f"{k} {v}" for k, v in hard.items()))
lens = [len(r["text"]) for r in rows]
print(f"length: min {min(lens)}, max {max(lens)}, mean {sum(lens)/N:.1f}")
for w in warnings:
    print("WARNING:", w)
if errors:
    print(f"\nFAILED ({len(errors)}):")
    for e in errors:
        print("  -", e)
    sys.exit(1)
print("\nALL CHECKS PASSED")
