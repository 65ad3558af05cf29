#!/usr/bin/env python3
"""Validate conversations.jsonl (beside this file) against the labelling rules (format + timing + counts + lexical consistency)."""
import json, sys
from collections import Counter
from datetime import datetime, time

PATH = sys.argv[1] if len(sys.argv) > 1 else str(__import__("pathlib").Path(__file__).with_name("conversations.jsonl"))
CODES = ["slow_first_response", "slow_reply", "long_handling", "no_greeting", "no_closing",
         "impolite", "banned_phrase", "no_empathy", "wrong_info", "unresolved"]
CONV_LEVEL = {"long_handling", "unresolved", "no_empathy", "no_closing"}
TIMING = {"slow_first_response", "slow_reply", "long_handling"}
ROLES = {"customer", "agent", "bot", "system"}
CHANNELS = {"chat", "app", "wechat", "phone"}
GREET = ["您好", "你好", "hello", "hi ", "hi,", "hi!", "我是", "good morning", "good afternoon", "good evening", "this is"]
CLOSE = ["have a ", "还有其他", "还有什么", "祝您", "祝你", "感谢", "谢谢", "再见", "have a nice", "have a great", "anything else",
         "thank", "bye", "随时联系", "随时找", "随时来"]
BANNED_STRICT = ["保证", "绝对", "百分百", "肯定没问题", "肯定不会", "不可能出错", "我也没办法", "guarantee", "100%"]
BANNED_ANY = ["保证", "绝对", "百分百", "肯定", "一定", "不可能", "没办法", "guarantee", "100%"]
EMPATHY = ["抱歉", "对不起", "不好意思", "理解", "sorry", "apolog", "understand", "让您久等", "给您添麻烦", "着急", "心情"]

errors, warnings = [], []
def err(cid, msg): errors.append(f"{cid}: {msg}")

def expected_timing(turns, ts):
    exp = set()
    roles = [t["role"] for t in turns]
    first = True
    for i, r in enumerate(roles):
        if r != "agent":
            continue
        j = i - 1
        while j >= 0 and roles[j] != "customer":
            j -= 1
        if j < 0:
            err(cid, f"agent turn {i} answers no customer message"); continue
        k = j  # start of the run of customer messages in a row
        while k - 1 >= 0 and roles[k - 1] == "customer":
            k -= 1
        thr, code = (30, "slow_first_response") if first else (60, "slow_reply")
        v_last = (ts[i] - ts[j]).total_seconds() > thr
        v_first = (ts[i] - ts[k]).total_seconds() > thr
        if v_last != v_first:
            err(cid, f"turn {i}: timing verdict depends on which customer message is measured")
        if not first and roles[i - 1] == "agent" and (ts[i] - ts[j]).total_seconds() > 60:
            err(cid, f"turn {i}: second agent turn in a row is over 60 s from the customer message")
        if v_last:
            exp.add((code, i))
        first = False
    span_all = (ts[-1] - ts[0]).total_seconds()
    core = [t for t, x in zip(ts, turns) if x["role"] in ("customer", "agent")]
    span_core = (core[-1] - core[0]).total_seconds()
    if (span_all > 480) != (span_core > 480):
        err(cid, "long_handling verdict depends on counting bot/system turns")
    return exp, span_all > 480

rows = []
with open(PATH, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        try:
            rows.append(json.loads(line))
        except Exception as e:
            errors.append(f"line {n}: bad JSON {e}")

code_count, agent_count, clean = Counter(), Counter(), 0
seen = set()
for c in rows:
    cid = c.get("id", "?")
    for k in ["id", "agent_id", "channel", "started_at", "turns", "labels"]:
        if k not in c:
            err(cid, f"missing {k}")
    if cid in seen: err(cid, "duplicate id")
    seen.add(cid)
    if c.get("channel") not in CHANNELS: err(cid, "bad channel")
    turns = c["turns"]
    ts = []
    for i, t in enumerate(turns):
        if t.get("role") not in ROLES or not isinstance(t.get("text"), str) or not t["text"].strip():
            err(cid, f"bad turn {i}")
        d = datetime.fromisoformat(t["ts"])
        if not t["ts"].endswith("+08:00"): err(cid, f"turn {i} not +08:00")
        ts.append(d)
    if c["started_at"] != turns[0]["ts"]: err(cid, "started_at != first ts")
    for i in range(1, len(ts)):
        if ts[i] <= ts[i - 1]: err(cid, f"timestamps not increasing at {i}")
    # service hours: hotline 8:00-22:00; app/online human 8:00-24:00; English chat 9:00-21:00
    english = sum(ch.isascii() for ch in turns[0]["text"]) > 0.9 * len(turns[0]["text"])
    lo, hi = (time(9), time(21)) if english else (time(8), time(22) if c["channel"] == "phone" else time(23, 59, 59))
    for d in ts:
        if not (lo <= d.time() <= hi) or d.date() != ts[0].date():
            err(cid, f"time {d} outside service hours"); break
    agent_idx = [i for i, t in enumerate(turns) if t["role"] == "agent"]
    if not agent_idx:
        err(cid, "no agent turn"); continue
    last_agent = agent_idx[-1]
    labs = set()
    for l in c["labels"]:
        code, i = l.get("code"), l.get("turn")
        if code not in CODES: err(cid, f"unknown code {code}"); continue
        if not isinstance(i, int) or not (0 <= i < len(turns)): err(cid, f"turn index out of range {i}"); continue
        if turns[i]["role"] != "agent": err(cid, f"label {code} on non-agent turn {i}")
        if code in CONV_LEVEL and i != last_agent: err(cid, f"{code} not on last agent turn")
        if (code, i) in labs: err(cid, f"duplicate label {code}@{i}")
        labs.add((code, i))
    exp, long_ = expected_timing(turns, ts)
    if long_: exp.add(("long_handling", last_agent))
    got = {x for x in labs if x[0] in TIMING}
    if got != exp:
        err(cid, f"timing labels mismatch: labelled {sorted(got)} expected {sorted(exp)}")
    codes = {x[0] for x in labs}
    # lexical consistency checks
    first_agent = turns[agent_idx[0]]["text"].lower()
    has_greet = any(g in first_agent for g in GREET)
    if "no_greeting" in codes and has_greet: err(cid, "no_greeting but first agent turn greets")
    if "no_greeting" not in codes and not has_greet: err(cid, "first agent turn has no greeting but not labelled")
    for i in agent_idx:
        low = turns[i]["text"].lower()
        if any(b in low for b in BANNED_ANY) and ("banned_phrase", i) not in labs:
            err(cid, f"turn {i} contains a banned word but is not labelled")
        if ("banned_phrase", i) in labs and not any(b in low for b in BANNED_STRICT):
            err(cid, f"turn {i} labelled banned_phrase without a banned phrase")
    agent_close = any(any(k in turns[i]["text"].lower() for k in CLOSE) for i in agent_idx)
    if "no_closing" in codes:
        if any(any(k in t["text"].lower() for k in CLOSE) for t in turns):
            err(cid, "no_closing but a closing-like phrase occurs")
    elif not agent_close:
        if "unresolved" not in codes or turns[-1]["role"] == "agent" or \
           [t for t in turns if t["role"] in ("customer", "agent")][-1]["role"] != "customer":
            err(cid, "agent never closes, yet neither labelled no_closing nor an angry walk-away")
    if "no_empathy" in codes:
        if any(any(k in turns[i]["text"].lower() for k in EMPATHY) for i in agent_idx):
            err(cid, "no_empathy but an agent turn apologises/acknowledges")
    for code in codes: code_count[code] += 1
    agent_count[c["agent_id"]] += 1
    if not labs: clean += 1

for code in CODES:
    if code_count[code] < 10: errors.append(f"code {code} appears in only {code_count[code]} conversations (<10)")
if clean < 20: errors.append(f"only {clean} clean conversations (<20)")

print(f"conversations: {len(rows)}   clean: {clean}")
print("conversations per code:")
for code in CODES: print(f"  {code:22s} {code_count[code]}")
lab_total = Counter(l['code'] for c in rows for l in c['labels'])
print("label instances per code:", dict(lab_total))
print("conversations per agent:", dict(sorted(agent_count.items())))
for w in warnings: print("WARN", w)
for e in errors: print("ERROR", e)
print("OK" if not errors else f"FAILED with {len(errors)} errors")
sys.exit(1 if errors else 0)
