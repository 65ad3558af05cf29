#!/usr/bin/env python3
"""Checker for the q6 labelled test set (conversations.jsonl + wrong_info_sources.jsonl).

Checks JSON and fields, ids, timestamps (ISO 8601, +08:00, strictly increasing, service
hours, date range), label codes and placement, recomputes the timing codes
(slow_first_response, slow_reply, long_handling) from the timestamps and compares them
with the labels, refuses timing situations whose reading would be ambiguous, checks the
counts asked for in BRIEF.md, and finds every wrong_info sentence verbatim in material/.
A few consistency lints (greeting / closing / banned words / apologies) guard against
labelling slips.  Prints VALIDATION PASSED and exits 0 when everything holds.
"""
import json
import os
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, date, time

HERE = os.path.dirname(os.path.abspath(__file__))
MATERIAL = os.path.join(HERE, "material")

CODES = ["slow_first_response", "slow_reply", "long_handling", "no_greeting", "no_closing",
         "impolite", "banned_phrase", "no_empathy", "wrong_info", "unresolved"]
LAST_AGENT_CODES = {"long_handling", "unresolved", "no_empathy", "no_closing"}
TIMING_CODES = {"slow_first_response", "slow_reply", "long_handling"}
CHANNELS = {"chat", "app", "wechat", "phone"}
ROLES = {"customer", "agent", "bot", "system"}
FIRST_T, REPLY_T, LONG_T = 30, 60, 480
DATE_MIN, DATE_MAX = date(2026, 12, 28), date(2027, 1, 10)

BANNED_CORE = ["保证", "绝对", "百分百", "我也没办法", "guarantee", "100%"]
BANNED_LINT = BANNED_CORE + ["肯定", "一定", "promise", "definitely", "absolutely"]
GREET = ["您好", "你好", "我是", "Hello", "Hi,", "Hi ", "this is"]
CLOSE = ["祝", "再见", "感谢", "不客气", "还有其他", "还有别的", "还有问题", "晚安",
         "Have a", "have a", "Thank", "welcome"]
EMPATHY = ["抱歉", "对不起", "不好意思", "理解您", "致歉", "道歉", "sorry", "Sorry", "apolog",
           "understand"]

errors = []


def err(msg):
    errors.append(msg)


def parse_ts(s, where):
    if not isinstance(s, str) or not s.endswith("+08:00"):
        err(f"{where}: timestamp must be ISO 8601 with +08:00: {s!r}")
        return None
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        err(f"{where}: bad timestamp {s!r}")
        return None


def in_hours(dt, channel, start_day):
    if dt.date() != start_day:
        return False
    t = dt.timetz().replace(tzinfo=None)
    if channel == "phone":
        return time(8, 0) <= t <= time(22, 0)
    return time(8, 0) <= t  # online 8:00-24:00, same calendar day


def is_english(conv):
    txt = "".join(t["text"] for t in conv["turns"] if t["role"] in ("agent", "customer"))
    chars = [c for c in txt if not c.isspace()]
    ascii_letters = sum(1 for c in chars if c.isascii())
    return bool(chars) and ascii_letters / len(chars) > 0.8


def timing_labels(conv, times, cid):
    """Recompute timing codes; report readings that would be ambiguous."""
    turns = conv["turns"]
    roles = [t["role"] for t in turns]
    out = set()
    first_cust = next((i for i, r in enumerate(roles) if r == "customer"), None)
    first_agent = next((i for i, r in enumerate(roles) if r == "agent"), None)
    greeting_first = first_agent is not None and (first_cust is None or first_agent < first_cust)
    first_reply_seen = False
    for i, r in enumerate(roles):
        if r != "agent":
            continue
        custs = [j for j in range(i) if roles[j] == "customer"]
        if not custs:
            continue  # agent speaks first (phone greeting): not a reply
        L = custs[-1]
        prev_agents = [j for j in range(i) if roles[j] == "agent"]
        is_first = not first_reply_seen
        first_reply_seen = True
        T = FIRST_T if is_first else REPLY_T
        if is_first and greeting_first:
            # the agent greeted before the customer spoke; whether this is the "first reply"
            # (30 s) or "another reply" (60 s) is open, so keep it under 30 s.
            if (times[i] - times[L]).total_seconds() > FIRST_T:
                err(f"{cid} turn {i}: first reply after a greeting-first opening must be <= 30 s")
            continue
        if prev_agents and prev_agents[-1] > L:
            d = (times[i] - times[L]).total_seconds()
            if d > T:
                err(f"{cid} turn {i}: agent follow-up {d:.0f}s after the customer message is ambiguous")
            continue
        k = L
        while k - 1 >= 0 and roles[k - 1] == "customer":
            k -= 1
        d_first = (times[i] - times[k]).total_seconds()
        d_last = (times[i] - times[L]).total_seconds()
        if (d_first > T) != (d_last > T):
            err(f"{cid} turn {i}: run of customer messages makes timing ambiguous "
                f"({d_first:.0f}s from first, {d_last:.0f}s from last, limit {T}s)")
        if d_first > T:
            out.add(("slow_first_response" if is_first else "slow_reply", i))
    last_agent = max(i for i, r in enumerate(roles) if r == "agent")
    total = (times[-1] - times[0]).total_seconds()
    if total > LONG_T:
        out.add(("long_handling", last_agent))
    elif total > LONG_T - 5:
        err(f"{cid}: handling time {total:.0f}s is too close to the 480 s limit")
    return out


def load_material():
    texts = {}
    for root, _, files in os.walk(MATERIAL):
        for f in files:
            p = os.path.join(root, f)
            rel = os.path.relpath(p, MATERIAL)
            raw = open(p, encoding="utf-8").read()
            if f.endswith(".jsonl"):
                answers = []
                for line in raw.splitlines():
                    if line.strip():
                        answers.append(json.loads(line).get("answer", ""))
                texts[rel] = "\n".join(answers)
            else:
                texts[rel] = raw
    return texts


def main():
    path = os.path.join(HERE, "conversations.jsonl")
    convs = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            err(f"line {n}: empty line")
            continue
        try:
            convs.append(json.loads(line))
        except json.JSONDecodeError as e:
            err(f"line {n}: bad JSON: {e}")
    ids = [c.get("id") for c in convs]
    expected = [f"q6-{i:03d}" for i in range(1, 81)]
    if sorted(ids) != expected:
        err(f"ids must be exactly q6-001..q6-080 (got {len(ids)}, dupes "
            f"{[k for k, v in Counter(ids).items() if v > 1]})")

    allowed = {"id", "agent_id", "channel", "started_at", "turns", "resolved", "satisfaction", "labels"}
    label_counter = Counter()
    convs_with = defaultdict(set)
    clean = 0
    agents = Counter()
    english = []
    missing_res = missing_sat = 0
    wrong_labels = Counter()
    end_roles = Counter()
    channels = Counter()
    lengths = []
    bot_handoffs = 0

    for c in convs:
        cid = c.get("id", "?")
        extra = set(c) - allowed
        if extra:
            err(f"{cid}: unknown fields {extra}")
        for k in ("id", "agent_id", "channel", "started_at", "turns", "labels"):
            if k not in c:
                err(f"{cid}: missing {k}")
        if errors and any(e.startswith(f"{cid}: missing") for e in errors):
            continue
        if not re.fullmatch(r"a-\d+", c["agent_id"]):
            err(f"{cid}: bad agent_id {c['agent_id']}")
        agents[c["agent_id"]] += 1
        if c["channel"] not in CHANNELS:
            err(f"{cid}: bad channel {c['channel']}")
        channels[c["channel"]] += 1
        if "resolved" in c:
            if not isinstance(c["resolved"], bool):
                err(f"{cid}: resolved must be bool")
        else:
            missing_res += 1
        if "satisfaction" in c:
            s = c["satisfaction"]
            if not isinstance(s, int) or isinstance(s, bool) or not 1 <= s <= 5:
                err(f"{cid}: satisfaction must be an int 1-5")
        else:
            missing_sat += 1

        turns = c["turns"]
        if not isinstance(turns, list) or not 2 <= len(turns) <= 16:
            err(f"{cid}: turns must be a list of 2-16 turns")
            continue
        lengths.append(len(turns))
        times = []
        for i, t in enumerate(turns):
            if set(t) != {"role", "text", "ts"}:
                err(f"{cid} turn {i}: fields must be role, text, ts")
            if t.get("role") not in ROLES:
                err(f"{cid} turn {i}: bad role {t.get('role')}")
            if not isinstance(t.get("text"), str) or not t["text"].strip():
                err(f"{cid} turn {i}: empty text")
            times.append(parse_ts(t.get("ts"), f"{cid} turn {i}"))
        if None in times:
            continue
        if c["started_at"] != turns[0]["ts"]:
            err(f"{cid}: started_at must equal the first turn's ts")
        start = parse_ts(c["started_at"], cid)
        if start and not DATE_MIN <= start.date() <= DATE_MAX:
            err(f"{cid}: date {start.date()} outside 2026-12-28..2027-01-10")
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                err(f"{cid} turn {i}: timestamps must strictly increase")
        for i, dt in enumerate(times):
            if not in_hours(dt, c["channel"], times[0].date()):
                err(f"{cid} turn {i}: {dt} outside {c['channel']} service hours")
        roles = [t["role"] for t in turns]
        if "agent" not in roles or "customer" not in roles:
            err(f"{cid}: needs at least one agent and one customer turn")
            continue
        end_roles[roles[-1]] += 1
        if "bot" in roles:
            bot_handoffs += 1
        for i, t in enumerate(turns):
            for m in re.findall(r"a-\d+", t["text"]):
                if m != c["agent_id"]:
                    err(f"{cid} turn {i}: mentions {m} but agent is {c['agent_id']}")
        if is_english(c):
            english.append(cid)
            for i, dt in enumerate(times):
                if not time(9, 0) <= dt.timetz().replace(tzinfo=None) <= time(21, 0):
                    err(f"{cid} turn {i}: English live chat runs 9:00-21:00")

        # labels
        labels = c["labels"]
        if not isinstance(labels, list):
            err(f"{cid}: labels must be a list")
            continue
        agent_idx = [i for i, r in enumerate(roles) if r == "agent"]
        last_agent = agent_idx[-1]
        seen = set()
        per_turn = Counter()
        for lab in labels:
            if set(lab) != {"code", "turn"}:
                err(f"{cid}: label fields must be code, turn: {lab}")
                continue
            code, turn = lab["code"], lab["turn"]
            if code not in CODES:
                err(f"{cid}: unknown code {code}")
            if not isinstance(turn, int) or not 0 <= turn < len(turns):
                err(f"{cid}: label turn out of range: {lab}")
                continue
            if roles[turn] != "agent":
                err(f"{cid}: label {code} on turn {turn} which is a {roles[turn]} turn")
            if (code, turn) in seen:
                err(f"{cid}: duplicate label {code}@{turn}")
            seen.add((code, turn))
            per_turn[turn] += 1
            if code in LAST_AGENT_CODES and turn != last_agent:
                err(f"{cid}: {code} must sit on the last agent turn ({last_agent}), not {turn}")
            label_counter[code] += 1
            convs_with[code].add(cid)
            if code == "wrong_info":
                wrong_labels[(cid, turn)] += 1
        for turn, n in per_turn.items():
            if n > 2:
                err(f"{cid} turn {turn}: more than two codes")
        if not labels:
            clean += 1

        # timing codes recomputed
        want = timing_labels(c, times, cid)
        have = {(l["code"], l["turn"]) for l in labels if l.get("code") in TIMING_CODES}
        for x in sorted(want - have):
            err(f"{cid}: timing says {x[0]} on turn {x[1]} but it is not labelled")
        for x in sorted(have - want):
            err(f"{cid}: {x[0]} on turn {x[1]} is labelled but the timestamps do not support it")

        # lints
        codes_at = defaultdict(set)
        for l in labels:
            codes_at[l["turn"]].add(l["code"])
        for i in agent_idx:
            txt = turns[i]["text"]
            hit = [w for w in BANNED_LINT if w in txt]
            if hit and "banned_phrase" not in codes_at[i]:
                err(f"{cid} turn {i}: contains {hit} but has no banned_phrase label")
            if "banned_phrase" in codes_at[i] and not any(w in txt for w in BANNED_CORE):
                err(f"{cid} turn {i}: banned_phrase label without a banned phrase")
        first_txt = turns[agent_idx[0]]["text"]
        has_greet = any(g in first_txt for g in GREET)
        if has_greet == ("no_greeting" in codes_at[agent_idx[0]]):
            err(f"{cid}: greeting lint disagrees with the no_greeting label")
        codes = {l["code"] for l in labels}
        closes = any(w in turns[last_agent]["text"] for w in CLOSE)
        exempt = roles[-1] != "agent" and "unresolved" in codes
        if "no_closing" in codes and closes:
            err(f"{cid}: no_closing but the last agent turn closes politely")
        if "no_closing" in codes and exempt:
            err(f"{cid}: no_closing on a conversation that neither ends with the agent nor is settled")
        if "no_closing" not in codes and not closes and not exempt:
            err(f"{cid}: last agent turn has no polite closing but no no_closing label")
        if "no_empathy" in codes:
            for i in agent_idx:
                if any(w in turns[i]["text"] for w in EMPATHY):
                    err(f"{cid} turn {i}: apology/acknowledgement in a no_empathy conversation")

    # wrong_info sources
    material = load_material()
    src_counter = Counter()
    spath = os.path.join(HERE, "wrong_info_sources.jsonl")
    for n, line in enumerate(open(spath, encoding="utf-8"), 1):
        if not line.strip():
            continue
        try:
            s = json.loads(line)
        except json.JSONDecodeError as e:
            err(f"sources line {n}: bad JSON: {e}")
            continue
        if set(s) != {"id", "turn", "file", "sentence"}:
            err(f"sources line {n}: fields must be id, turn, file, sentence")
            continue
        src_counter[(s["id"], s["turn"])] += 1
        if s["file"] not in material:
            err(f"sources line {n}: unknown file {s['file']}")
            continue
        if len(s["sentence"]) < 10 or s["sentence"] not in material[s["file"]]:
            err(f"sources line {n}: sentence not found verbatim in {s['file']}: {s['sentence'][:40]}")
    if src_counter != wrong_labels:
        err(f"wrong_info_sources.jsonl does not match the wrong_info labels one to one: "
            f"missing {dict(wrong_labels - src_counter)}, extra {dict(src_counter - wrong_labels)}")

    # counts from the brief
    for code in CODES:
        if label_counter[code] < 8:
            err(f"{code}: {label_counter[code]} labels, need at least 8")
    if label_counter["wrong_info"] < 20 or len(convs_with["wrong_info"]) < 14:
        err("wrong_info needs >= 20 labels in >= 14 conversations")
    if len(convs_with["unresolved"]) < 14:
        err("unresolved needs >= 14 conversations")
    if clean < 14:
        err(f"only {clean} conversations without labels, need >= 14")
    if not 7 <= len(agents) <= 8:
        err(f"{len(agents)} agents, need 7 or 8")
    if not 6 <= len(english) <= 10:
        err(f"{len(english)} English conversations, need 6-10")
    if missing_res < 3 or missing_sat < 3:
        err("leave resolved / satisfaction out of a few conversations")
    if min(lengths) > 2 or max(lengths) < 16:
        err("lengths should range from 2 to 16 turns")
    for role in ("customer", "agent", "system"):
        if end_roles[role] == 0:
            err(f"no conversation ends with a {role} turn")

    print(f"conversations: {len(convs)}; agents: {dict(sorted(agents.items()))}")
    print(f"channels: {dict(channels)}; English: {len(english)}; bot hand-offs: {bot_handoffs}; "
          f"ending with: {dict(end_roles)}; turns {min(lengths)}-{max(lengths)}")
    print(f"no label: {clean}; resolved omitted: {missing_res}; satisfaction omitted: {missing_sat}")
    for code in CODES:
        print(f"  {code:20s} labels {label_counter[code]:3d}  conversations {len(convs_with[code]):3d}")
    if errors:
        for e in errors:
            print("ERROR:", e)
        print(f"VALIDATION FAILED ({len(errors)} errors)")
        sys.exit(1)
    print("VALIDATION PASSED")


if __name__ == "__main__":
    main()
