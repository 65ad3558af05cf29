# -*- coding: utf-8 -*-
"""Validator for /work/qa3/conversations.jsonl (independent of the build script).

Checks: JSON per line, required fields and types, strictly increasing +08:00
timestamps inside service hours, label turn indexes in range and on agent turns,
conversation-level codes on the last agent turn, timing labels recomputed from the
timestamps (BRIEF rules, incl. the "only one reading" and bot/system invariance
conditions), label counts per code, forbidden words in agent turns without a
banned_phrase label, some consistency heuristics (greeting / closing / empathy),
and the wrong_info side file.

Exit code 0 and "VALIDATION PASSED" when everything holds.
"""
import collections
import datetime as dt
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONV_PATH = os.path.join(HERE, "conversations.jsonl")
WI_PATH = os.path.join(HERE, "wrong_info_sources.jsonl")
MATERIAL = os.path.join(HERE, "material")

CODES = ["slow_first_response", "slow_reply", "long_handling", "no_greeting", "no_closing",
         "impolite", "banned_phrase", "no_empathy", "wrong_info", "unresolved"]
CONV_LEVEL = {"long_handling", "unresolved", "no_empathy", "no_closing"}
TIMING = {"slow_first_response", "slow_reply", "long_handling"}
CHANNELS = {"chat", "app", "wechat", "phone"}
ROLES = {"customer", "agent", "bot", "system"}
REQUIRED = {"id": str, "agent_id": str, "channel": str, "started_at": str,
            "turns": list, "labels": list}
OPTIONAL = {"resolved": bool, "satisfaction": int}

FORBIDDEN = ["保证", "绝对", "百分百", "肯定", "一定", "不可能", "没办法", "guarantee", "100%"]
GREETING = re.compile(r"您好|你好|hello|\bhi\b|\bhey\b|我是|this is|欢迎|早上好|下午好|晚上好", re.I)
CLOSING = re.compile(r"还有(其他|别的|什么)|祝|感谢您的(耐心|理解|来电|垂询)|不胜感激|再见|随时(找|联系)|效劳"
                     r"|anything else|have a (nice|lovely|good)|\bbye\b|thank you for your patience", re.I)
CLOSING_ANY = re.compile(r"谢谢|感谢|祝|再见|还有.{0,3}(问题|需要|可以帮)|随时|效劳|不胜感激"
                         r"|thank|have a|\bbye\b|anything else", re.I)
EMPATHY = re.compile(r"抱歉|歉|对不起|不好意思|理解|sorry|apolog|understand|着急|久等|添麻烦|心情|辛苦", re.I)
UPSET = re.compile(r"气死|恶心|吞钱|烦死|离谱|破系统|破体验|太坑|有点坑|骗人|什么态度|太差|气人|当傻子"
                   r"|ridiculous|unacceptable|seriously", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")

# published service hours (minutes from midnight, end inclusive)
HOURS = {"phone": (8 * 60, 22 * 60), "chat": (8 * 60, 24 * 60),
         "app": (8 * 60, 24 * 60), "wechat": (8 * 60, 24 * 60)}
ENGLISH_HOURS = (9 * 60, 21 * 60)

errors = []


def err(cid, msg):
    errors.append("%s: %s" % (cid, msg))


def parse_ts(cid, s):
    if not isinstance(s, str) or not s.endswith("+08:00"):
        err(cid, "timestamp not +08:00: %r" % (s,))
        return None
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        err(cid, "bad timestamp %r" % s)
        return None
    if t.utcoffset() != dt.timedelta(hours=8):
        err(cid, "offset not +08:00: %r" % s)
    return t


def timing_labels(roles, secs):
    """Independent re-implementation of the BRIEF timing rules."""
    out = set()
    notes = []
    first_done = False
    last_agent_i = None
    block = []          # customer turns since the previous agent turn
    cur_block = None    # the block the current run of agent turns answers
    for i, r in enumerate(roles):
        if r == "customer":
            block.append(i)
        elif r == "agent":
            if block:
                cur_block = block
                straight_after = False
            else:
                straight_after = True
            if cur_block is None:
                notes.append("agent turn %d has no customer message before it" % i)
                continue
            gap_last = secs[i] - secs[cur_block[-1]]
            gap_first = secs[i] - secs[cur_block[0]]
            limit = 30 if not first_done else 60
            code = "slow_first_response" if not first_done else "slow_reply"
            if (gap_last > limit) != (gap_first > limit):
                notes.append("turn %d: verdict differs measured from first/last customer message" % i)
            if straight_after and gap_last > 60:
                notes.append("turn %d: second agent turn in a row is over 60 s" % i)
            if gap_last > limit:
                out.add((code, i))
            first_done = True
            last_agent_i = i
            block = []
    span_all = secs[-1] - secs[0]
    ca = [i for i, r in enumerate(roles) if r in ("customer", "agent")]
    span_ca = secs[ca[-1]] - secs[ca[0]]
    if (span_all > 480) != (span_ca > 480):
        notes.append("long_handling verdict depends on bot/system turns")
    if span_all > 480 and last_agent_i is not None:
        out.add(("long_handling", last_agent_i))
    return out, notes


def main():
    if not os.path.exists(CONV_PATH):
        print("missing conversations.jsonl")
        return 1
    convs = []
    with open(CONV_PATH, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err("line%d" % n, "empty line")
                continue
            try:
                convs.append(json.loads(line))
            except json.JSONDecodeError as e:
                err("line%d" % n, "invalid JSON: %s" % e)
    ids = [c.get("id") for c in convs]
    if ids != ["q3-%03d" % k for k in range(1, 91)]:
        err("file", "ids are not exactly q3-001..q3-090 in order")

    counts = collections.Counter()
    unlabelled = 0
    per_agent = collections.Counter()
    english = 0
    feature = collections.Counter()
    wi_labels = set()

    for c in convs:
        cid = c.get("id", "?")
        for k, typ in REQUIRED.items():
            if k not in c:
                err(cid, "missing field %s" % k)
            elif not isinstance(c[k], typ):
                err(cid, "field %s has wrong type" % k)
        for k in c:
            if k not in REQUIRED and k not in OPTIONAL:
                err(cid, "unexpected field %s" % k)
        for k, typ in OPTIONAL.items():
            if k in c and (not isinstance(c[k], typ) or (typ is int and isinstance(c[k], bool))):
                err(cid, "field %s has wrong type" % k)
        if "satisfaction" in c and isinstance(c["satisfaction"], int) and not 1 <= c["satisfaction"] <= 5:
            err(cid, "satisfaction out of 1..5")
        if "resolved" not in c:
            feature["resolved_missing"] += 1
        if "satisfaction" not in c:
            feature["satisfaction_missing"] += 1
        if c.get("channel") not in CHANNELS:
            err(cid, "bad channel %r" % c.get("channel"))
        feature["channel_" + str(c.get("channel"))] += 1
        per_agent[c.get("agent_id")] += 1
        turns = c.get("turns") or []
        if not 2 <= len(turns) <= 14:
            err(cid, "has %d turns (allowed 2..14)" % len(turns))
        roles, texts, times = [], [], []
        for i, t in enumerate(turns):
            if not isinstance(t, dict) or set(t) != {"role", "text", "ts"}:
                err(cid, "turn %d must have exactly role/text/ts" % i)
                continue
            if t["role"] not in ROLES:
                err(cid, "turn %d bad role %r" % (i, t["role"]))
            if not isinstance(t["text"], str) or not t["text"].strip():
                err(cid, "turn %d empty text" % i)
            roles.append(t["role"])
            texts.append(t["text"])
            times.append(parse_ts(cid, t["ts"]))
        if None in times or not times:
            continue
        if c.get("started_at") != turns[0]["ts"]:
            err(cid, "started_at differs from first turn ts")
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                err(cid, "timestamps not strictly increasing at turn %d" % i)
        if len({t.date() for t in times}) != 1:
            err(cid, "conversation crosses midnight")
        if not (dt.date(2026, 1, 1) <= times[0].date() <= dt.date(2026, 12, 6)):
            err(cid, "date outside 2026-01-01..2026-12-06")
        is_en = not any(CJK.search(texts[i]) for i, r in enumerate(roles) if r == "customer")
        english += is_en
        lo, hi = ENGLISH_HOURS if is_en else HOURS.get(c.get("channel"), (8 * 60, 22 * 60))
        for t in (times[0], times[-1]):
            m = t.hour * 60 + t.minute + t.second / 60
            if not lo <= m <= hi:
                err(cid, "time %s outside service hours" % t.time())
        if "agent" not in roles or "customer" not in roles:
            err(cid, "needs customer and agent turns")
            continue
        if roles[0] == "bot":
            feature["bot_start"] += 1
        if roles[0] == "system":
            feature["system_start"] += 1
        if roles[-1] == "system":
            feature["system_end"] += 1
        agent_idx = [i for i, r in enumerate(roles) if r == "agent"]
        first_agent, last_agent = agent_idx[0], agent_idx[-1]

        labels = c.get("labels") or []
        if not labels:
            unlabelled += 1
        seen = set()
        by_code = collections.defaultdict(set)
        for lab in labels:
            if not isinstance(lab, dict) or set(lab) != {"code", "turn"}:
                err(cid, "bad label %r" % (lab,))
                continue
            code, ti = lab["code"], lab["turn"]
            if code not in CODES:
                err(cid, "unknown code %r" % code)
                continue
            if not isinstance(ti, int) or isinstance(ti, bool) or not 0 <= ti < len(turns):
                err(cid, "label %s turn %r out of range" % (code, ti))
                continue
            if roles[ti] != "agent":
                err(cid, "label %s on non-agent turn %d" % (code, ti))
            if (code, ti) in seen:
                err(cid, "duplicate label %s@%d" % (code, ti))
            seen.add((code, ti))
            by_code[code].add(ti)
            counts[code] += 1
            if code in CONV_LEVEL and ti != last_agent:
                err(cid, "%s must sit on last agent turn %d" % (code, last_agent))
            if code == "no_greeting" and ti != first_agent:
                err(cid, "no_greeting must sit on first agent turn")
            if code == "wrong_info":
                wi_labels.add((cid, ti))

        # timing
        t0 = times[0]
        secs = [(t - t0).total_seconds() for t in times]
        expected, notes = timing_labels(roles, secs)
        for note in notes:
            err(cid, note)
        got = {(code, ti) for (code, ti) in seen if code in TIMING}
        if got != expected:
            err(cid, "timing labels %s != recomputed %s" % (sorted(got), sorted(expected)))

        # forbidden words in agent turns without banned_phrase
        for i in agent_idx:
            if i in by_code["banned_phrase"]:
                continue
            low = texts[i].lower()
            for w in FORBIDDEN:
                if w.lower() in low:
                    err(cid, "unlabelled agent turn %d contains %r" % (i, w))

        # greeting consistency
        has_greet = bool(GREETING.search(texts[first_agent]))
        if has_greet == (first_agent in by_code["no_greeting"]):
            err(cid, "greeting heuristic disagrees with no_greeting label")

        # closing consistency
        agent_text = " ".join(texts[i] for i in agent_idx)
        if by_code["no_closing"]:
            if any(CLOSING_ANY.search(texts[i]) for i in range(len(texts))):
                err(cid, "no_closing conversation contains a closing-like phrase")
        else:
            non_sys = [r for r in roles if r != "system"]
            walkaway = by_code["unresolved"] and non_sys[-1] == "customer"
            if not CLOSING.search(agent_text) and not walkaway:
                err(cid, "no closing phrase but no no_closing label")

        # empathy consistency
        upset = any(UPSET.search(texts[i]) for i, r in enumerate(roles) if r == "customer")
        if by_code["no_empathy"]:
            if not upset:
                err(cid, "no_empathy but no clearly upset customer message")
            if EMPATHY.search(agent_text):
                err(cid, "no_empathy but the agent apologises/acknowledges")
        elif upset and not EMPATHY.search(agent_text):
            err(cid, "upset customer, no empathy, and no no_empathy label")

    # wrong_info side file
    material_text = {}
    if not os.path.isdir(MATERIAL):  # the writer's text copy of knowledge/ is not kept in the project
        print("note: no material/ folder here; the contradicted sentences are not re-checked")
    for root, _, files in os.walk(MATERIAL):
        for fn in files:
            with open(os.path.join(root, fn), encoding="utf-8") as f:
                material_text[fn] = f.read()
    wi_rows = set()
    if not os.path.exists(WI_PATH):
        err("wrong_info_sources", "missing file")
    else:
        with open(WI_PATH, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    err("wrong_info_sources", "line %d invalid JSON" % n)
                    continue
                key = (r.get("id"), r.get("turn"))
                wi_rows.add(key)
                src, sent = r.get("source"), r.get("contradicted_sentence", "")
                if not material_text:
                    pass
                elif src not in material_text:
                    err("wrong_info_sources", "line %d unknown source %r" % (n, src))
                elif not sent or sent not in material_text[src]:
                    err("wrong_info_sources", "line %d sentence not found verbatim in %s" % (n, src))
        if wi_rows != wi_labels:
            err("wrong_info_sources", "entries %s do not match wrong_info labels %s"
                % (sorted(wi_rows ^ wi_labels), ""))

    # set-level requirements
    for code in CODES:
        if counts[code] < 8:
            err("set", "code %s appears %d times (< 8)" % (code, counts[code]))
    if unlabelled < 12:
        err("set", "only %d conversations without labels (< 12)" % unlabelled)
    if len(per_agent) < 7:
        err("set", "only %d agents" % len(per_agent))
    if not 6 <= english <= 10:
        err("set", "%d English conversations (expected about 8)" % english)
    for feat in ("bot_start", "system_start", "system_end", "resolved_missing", "satisfaction_missing"):
        if feature[feat] == 0:
            err("set", "no conversation with %s" % feat)
    for ch in CHANNELS:
        if feature["channel_" + ch] == 0:
            err("set", "channel %s unused" % ch)

    print("conversations: %d (English: %d, without labels: %d)" % (len(convs), english, unlabelled))
    print("label counts:")
    for code in CODES:
        print("  %-20s %d" % (code, counts[code]))
    print("conversations per agent:", dict(sorted(per_agent.items())))
    print("channels:", {k[8:]: v for k, v in sorted(feature.items()) if k.startswith("channel_")})
    print("features:", {k: v for k, v in sorted(feature.items()) if not k.startswith("channel_")})
    if errors:
        print("\n%d ERROR(S):" % len(errors))
        for e in errors:
            print("  " + e)
        print("VALIDATION FAILED")
        return 1
    print("VALIDATION PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
