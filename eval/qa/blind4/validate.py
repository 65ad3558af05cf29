#!/usr/bin/env python3
"""Checker for the q4 test set (conversations.jsonl + wrong_info_sources.jsonl).

Checks structure, ids, fields, timestamps and service hours, label placement, recomputes the
timing codes from the timestamps (and refuses timings whose label would depend on how a
several-message customer burst is read), the required counts, the wrong_info source sentences
(verbatim in material/), plus a few consistency checks of the hand labels (greeting, closing,
empathy and banned-phrase words). Prints VALIDATION PASSED and exits 0 when all is well.
"""
import json, os, re, sys, datetime
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
MATERIAL = os.path.join(HERE, "material")

CODES = ["slow_first_response", "slow_reply", "long_handling", "no_greeting", "no_closing",
         "impolite", "banned_phrase", "no_empathy", "wrong_info", "unresolved"]
TIMING = {"slow_first_response", "slow_reply", "long_handling"}
LAST_AGENT_CODES = {"long_handling", "unresolved", "no_empathy", "no_closing"}
ROLES = {"customer", "agent", "bot", "system"}
CHANNELS = {"chat", "app", "wechat", "phone"}
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")

GREETING = re.compile(r"您好|你好|早上好|欢迎|我是|工号|\bhello\b|\bhi\b|good (morning|afternoon|evening)", re.I)
CLOSING = re.compile(r"祝|再见|感谢您|感谢来电|谢谢您|欢迎您下次|have a|bye|thank you for", re.I)
EMPATHY = re.compile(r"抱歉|对不起|不好意思|理解|久等|辛苦|sorry|apolog|understand", re.I)
BANNED_STRICT = re.compile(r"保证|绝对|百分百|百分之百|我也没办法|guarantee|100%", re.I)
BANNED_WIDE = re.compile(r"保证|绝对|百分百|百分之百|没办法|guarantee|100%|一定|肯定|promise", re.I)

errors = []
def err(msg):
    errors.append(msg)

def parse_ts(s):
    return datetime.datetime.fromisoformat(s)

def load_jsonl(name):
    rows = []
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        err(f"{name} missing")
        return rows
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            err(f"{name}:{n} empty line")
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            err(f"{name}:{n} bad JSON: {e}")
    return rows

convs = load_jsonl("conversations.jsonl")
sources = load_jsonl("wrong_info_sources.jsonl")

# ---------- ids and fields ----------
ids = [c.get("id") for c in convs]
expected = [f"q4-{i:03d}" for i in range(1, 81)]
if sorted(ids) != expected:
    err(f"ids must be exactly q4-001..q4-080 once each (got {len(ids)}, dupes {[k for k, v in Counter(ids).items() if v > 1]})")

ALLOWED = {"id", "agent_id", "channel", "started_at", "turns", "resolved", "satisfaction", "labels"}
code_count = Counter()
code_convs = defaultdict(set)
clean = []
english = []
agents = Counter()
omitted_resolved = omitted_sat = 0

def reply_windows(turns):
    """For each agent turn: the customer turns it answers (those after the last agent or bot
    turn), or None when it follows the agent's own message / opens the conversation."""
    out = {}
    for i, t in enumerate(turns):
        if t["role"] != "agent":
            continue
        win = []
        j = i - 1
        while j >= 0 and turns[j]["role"] not in ("agent", "bot"):
            if turns[j]["role"] == "customer":
                win.append(j)
            j -= 1
        out[i] = sorted(win) if win else None
    return out

for c in convs:
    cid = c.get("id", "?")
    extra = set(c) - ALLOWED
    if extra:
        err(f"{cid}: unexpected fields {extra}")
    for k in ["id", "agent_id", "channel", "started_at", "turns", "labels"]:
        if k not in c:
            err(f"{cid}: missing {k}")
    if any(k not in c for k in ["turns", "labels", "channel", "started_at"]):
        continue
    if not re.fullmatch(r"a-\d{2}", str(c.get("agent_id", ""))):
        err(f"{cid}: bad agent_id")
    agents[c["agent_id"]] += 1
    if c["channel"] not in CHANNELS:
        err(f"{cid}: bad channel {c['channel']}")
    if "resolved" in c:
        if not isinstance(c["resolved"], bool):
            err(f"{cid}: resolved must be bool")
    else:
        omitted_resolved += 1
    if "satisfaction" in c:
        if not (isinstance(c["satisfaction"], int) and 1 <= c["satisfaction"] <= 5):
            err(f"{cid}: satisfaction must be 1-5")
    else:
        omitted_sat += 1

    turns = c["turns"]
    if not (2 <= len(turns) <= 16):
        err(f"{cid}: {len(turns)} turns (must be 2-16)")
    times = []
    for i, t in enumerate(turns):
        if set(t) != {"role", "text", "ts"}:
            err(f"{cid} turn {i}: fields must be role, text, ts")
            continue
        if t["role"] not in ROLES:
            err(f"{cid} turn {i}: bad role {t['role']}")
        if not isinstance(t["text"], str) or not t["text"].strip():
            err(f"{cid} turn {i}: empty text")
        if not TS_RE.match(t["ts"]):
            err(f"{cid} turn {i}: bad ts {t['ts']}")
            continue
        dt = parse_ts(t["ts"])
        times.append(dt)
        sec = dt.hour * 3600 + dt.minute * 60 + dt.second
        lo, hi = 8 * 3600, (22 if c["channel"] == "phone" else 24) * 3600
        if not (lo <= sec <= hi) or (hi == 24 * 3600 and sec == 0):
            err(f"{cid} turn {i}: {t['ts']} outside service hours for {c['channel']}")
    if len(times) != len(turns):
        continue
    for a, b in zip(times, times[1:]):
        if not b > a:
            err(f"{cid}: timestamps not strictly increasing")
            break
    if c["started_at"] != turns[0]["ts"]:
        err(f"{cid}: started_at differs from first turn ts")
    if not any(t["role"] == "agent" for t in turns):
        err(f"{cid}: no agent turn")
        continue

    agent_idx = [i for i, t in enumerate(turns) if t["role"] == "agent"]
    last_agent = agent_idx[-1]

    # ---------- labels: shape and placement ----------
    labels = c["labels"]
    seen = set()
    by_code = defaultdict(list)
    for lab in labels:
        if set(lab) != {"code", "turn"}:
            err(f"{cid}: label fields must be code, turn: {lab}")
            continue
        code, turn = lab["code"], lab["turn"]
        if code not in CODES:
            err(f"{cid}: unknown code {code}")
            continue
        if not isinstance(turn, int) or not (0 <= turn < len(turns)):
            err(f"{cid}: label {code} turn {turn} out of range")
            continue
        if turns[turn]["role"] != "agent":
            err(f"{cid}: label {code} on turn {turn} which is {turns[turn]['role']}, not agent")
        if code in LAST_AGENT_CODES and turn != last_agent:
            err(f"{cid}: {code} must sit on the last agent turn {last_agent}, not {turn}")
        if (code, turn) in seen:
            err(f"{cid}: duplicate label {code}@{turn}")
        seen.add((code, turn))
        by_code[code].append(turn)
        code_count[code] += 1
        code_convs[code].add(cid)
    if not labels:
        clean.append(cid)
    if by_code.get("no_greeting") and by_code["no_greeting"] != [agent_idx[0]]:
        err(f"{cid}: no_greeting must sit on the first agent turn {agent_idx[0]}")
    if by_code.get("slow_first_response") and len(by_code["slow_first_response"]) > 1:
        err(f"{cid}: more than one slow_first_response")

    # ---------- timing codes recomputed ----------
    windows = reply_windows(turns)
    expect = set()
    first_reply_done = False
    opened_by_agent = windows[agent_idx[0]] is None
    prev_answer_time = None  # time of the customer message answered by the previous agent reply
    for i in agent_idx:
        win = windows[i]
        if win is None:
            # agent follow-up or opening: must not be a disguised slow answer
            if prev_answer_time is not None:
                gap = (times[i] - prev_answer_time).total_seconds()
                if gap > 60:
                    err(f"{cid} turn {i}: agent follow-up {gap:.0f}s after the customer message; "
                        f"ambiguous for slow_reply, rewrite timing")
            continue
        d_first = (times[i] - times[win[0]]).total_seconds()
        d_last = (times[i] - times[win[-1]]).total_seconds()
        if not first_reply_done:
            limit = 30
            if opened_by_agent and (30 < d_first <= 60 or 30 < d_last <= 60):
                err(f"{cid} turn {i}: first reply after an agent opening falls in 30-60s; ambiguous")
            code = "slow_first_response"
            first_reply_done = True
        else:
            limit = 60
            code = "slow_reply"
        if (d_first > limit) != (d_last > limit):
            err(f"{cid} turn {i}: {code} depends on which message of the customer burst counts "
                f"({d_first:.0f}s vs {d_last:.0f}s); rewrite timing")
        if d_last > limit:
            expect.add((code, i))
        if limit in (d_first, d_last):
            err(f"{cid} turn {i}: reply exactly on the {limit}s threshold")
        prev_answer_time = times[win[-1]]
    total = (times[-1] - times[0]).total_seconds()
    core = [k for k, t in enumerate(turns) if t["role"] in ("customer", "agent")]
    total_core = (times[core[-1]] - times[core[0]]).total_seconds()
    if (total > 480) != (total_core > 480):
        err(f"{cid}: long_handling depends on whether bot/system turns count ({total:.0f}s vs {total_core:.0f}s)")
    if total == 480:
        err(f"{cid}: duration exactly 480s")
    if total > 480:
        expect.add(("long_handling", last_agent))
    got = {(lab["code"], lab["turn"]) for lab in labels if lab.get("code") in TIMING}
    for miss in sorted(expect - got):
        err(f"{cid}: timing label missing: {miss[0]}@{miss[1]}")
    for wrong in sorted(got - expect):
        err(f"{cid}: timing label not supported by timestamps: {wrong[0]}@{wrong[1]}")

    # ---------- consistency of hand labels with the wording ----------
    a_texts = {i: turns[i]["text"] for i in agent_idx}
    has_greet = bool(GREETING.search(a_texts[agent_idx[0]]))
    if "no_greeting" in by_code and has_greet:
        err(f"{cid}: labelled no_greeting but first agent turn greets")
    if "no_greeting" not in by_code and not has_greet:
        err(f"{cid}: first agent turn has no greeting but no no_greeting label")
    any_closing = any(CLOSING.search(t) for t in a_texts.values())
    if "no_closing" in by_code and any_closing:
        err(f"{cid}: labelled no_closing but an agent turn closes")
    last_speaker = [t["role"] for t in turns if t["role"] != "system"][-1]
    if "no_closing" not in by_code:
        if last_speaker == "agent" and not CLOSING.search(a_texts[last_agent]):
            err(f"{cid}: ends with an agent turn without closing and no no_closing label")
        if "unresolved" not in by_code and not any_closing:
            err(f"{cid}: settled conversation without a closing and no no_closing label")
    if "no_empathy" in by_code and any(EMPATHY.search(t) for t in a_texts.values()):
        err(f"{cid}: labelled no_empathy but an agent turn apologises/acknowledges")
    banned_turns = set(by_code.get("banned_phrase", []))
    for i, t in a_texts.items():
        if i in banned_turns:
            if not BANNED_WIDE.search(t):
                err(f"{cid} turn {i}: banned_phrase label but no promise/forbidden word found")
        elif BANNED_WIDE.search(t):
            err(f"{cid} turn {i}: unlabelled agent turn contains a forbidden/absolute word")
    if any(BANNED_STRICT.search(t) for i, t in a_texts.items() if i not in banned_turns):
        err(f"{cid}: forbidden phrase without banned_phrase label")

    cust = " ".join(t["text"] for t in turns if t["role"] == "customer")
    if cust and sum(ch.isascii() for ch in cust) / len(cust) > 0.9:
        english.append(cid)

# ---------- wrong_info sources ----------
label_keys = {(c["id"], lab["turn"]) for c in convs for lab in c.get("labels", []) if lab.get("code") == "wrong_info"}
src_keys = []
for n, s in enumerate(sources, 1):
    if set(s) != {"id", "turn", "file", "sentence"}:
        err(f"wrong_info_sources:{n}: fields must be id, turn, file, sentence")
        continue
    src_keys.append((s["id"], s["turn"]))
    if not os.path.isdir(MATERIAL):  # the writer's text copy of knowledge/ is not kept in the project
        continue
    path = os.path.normpath(os.path.join(MATERIAL, s["file"]))
    if not path.startswith(MATERIAL + os.sep) or not os.path.isfile(path):
        err(f"wrong_info_sources:{n}: file {s['file']} not in material/")
        continue
    text = open(path, encoding="utf-8").read()
    if len(s["sentence"]) < 10 or s["sentence"] not in text:
        err(f"wrong_info_sources:{n}: sentence not found verbatim in {s['file']}")
dupes = [k for k, v in Counter(src_keys).items() if v > 1]
if dupes:
    err(f"wrong_info_sources: duplicate lines for {dupes}")
if set(src_keys) != label_keys:
    err(f"wrong_info_sources do not match wrong_info labels: missing {sorted(label_keys - set(src_keys))}, "
        f"extra {sorted(set(src_keys) - label_keys)}")

# ---------- counts ----------
for code in CODES:
    if code_count[code] < 8:
        err(f"{code}: {code_count[code]} labels (need at least 8)")
if code_count["wrong_info"] < 20 or len(code_convs["wrong_info"]) < 14:
    err(f"wrong_info: {code_count['wrong_info']} labels in {len(code_convs['wrong_info'])} conversations (need 20 in 14)")
if len(code_convs["unresolved"]) < 14:
    err(f"unresolved: {len(code_convs['unresolved'])} conversations (need 14)")
if len(clean) < 14:
    err(f"only {len(clean)} conversations without labels (need 14)")
if not (7 <= len(agents) <= 8):
    err(f"{len(agents)} agents (need 7 or 8)")
if not (6 <= len(english) <= 10):
    err(f"{len(english)} English conversations (need 6-10)")
if omitted_resolved == 0 or omitted_sat == 0:
    err("resolved and satisfaction should each be left out of a few conversations")
for ch in CHANNELS:
    if not any(c.get("channel") == ch for c in convs):
        err(f"no conversation on channel {ch}")
if not any(t["role"] == "bot" for c in convs for t in c.get("turns", [])):
    err("no bot hand-off")

print(f"conversations: {len(convs)}  agents: {dict(sorted(agents.items()))}")
print(f"clean: {len(clean)}  english: {len(english)}  resolved omitted: {omitted_resolved}  satisfaction omitted: {omitted_sat}")
for code in CODES:
    print(f"  {code:20s} labels {code_count[code]:3d}  conversations {len(code_convs[code]):3d}")
if errors:
    for e in errors:
        print("ERROR:", e)
    print(f"VALIDATION FAILED ({len(errors)} errors)")
    sys.exit(1)
print("VALIDATION PASSED")
