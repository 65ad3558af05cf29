#!/usr/bin/env python3
"""Checker for the q7 test set: structure, timestamps, label placement, timing codes
recomputed from timestamps, required counts, wrong_info sentences verbatim in material/."""
import json, os, re, sys, datetime as dt
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
MAT = os.path.join(HERE, "material")
CODES = {"slow_first_response", "slow_reply", "long_handling", "no_greeting", "no_closing",
         "impolite", "banned_phrase", "no_empathy", "wrong_info", "unresolved"}
LAST_AGENT = {"long_handling", "unresolved", "no_empathy", "no_closing"}
TIMING = {"slow_first_response", "slow_reply", "long_handling"}
CHANNELS = {"chat", "app", "wechat", "phone"}
ROLES = {"customer", "agent", "bot", "system"}
errors, warnings = [], []
def err(m): errors.append(m)
def warn(m): warnings.append(m)

def parse_ts(s, where):
    if not s.endswith("+08:00"):
        err(f"{where}: timestamp not +08:00: {s}")
    try:
        return dt.datetime.fromisoformat(s)
    except Exception:
        err(f"{where}: bad timestamp {s}")
        return None

def replies(turns, t):
    """For every agent turn: (index, first_reply?, delay from first and from last customer
    message of the run it answers). Bot/system turns between that run and the agent are
    skipped (clock runs from the customer's message). None if the turn answers nothing new."""
    out, seen_agent = [], False
    for i, tr in enumerate(turns):
        if tr["role"] != "agent":
            continue
        j = i - 1
        while j >= 0 and turns[j]["role"] in ("system", "bot"):
            j -= 1
        run = []
        while j >= 0 and turns[j]["role"] in ("customer", "system"):
            if turns[j]["role"] == "customer":
                run.append(j)
            j -= 1
        if run:
            d_first = (t[i] - t[min(run)]).total_seconds()
            d_last = (t[i] - t[max(run)]).total_seconds()
            out.append((i, not seen_agent, d_first, d_last))
        else:
            out.append((i, not seen_agent, None, None))
        seen_agent = True
    return out

def main():
    convs = []
    with open(os.path.join(HERE, "conversations.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                convs.append(json.loads(line))
            except Exception as e:
                err(f"line {n}: invalid JSON ({e})")
    ids = [c.get("id") for c in convs]
    if ids != [f"q7-{k:03d}" for k in range(1, 81)]:
        err("ids must be q7-001..q7-080 in order, 80 conversations")
    label_count, conv_with = Counter(), defaultdict(set)
    clean, agents, english, no_res, no_sat = 0, Counter(), 0, 0, 0
    wrong_keys = Counter()
    for c in convs:
        cid = c.get("id", "?")
        for k in ("id", "agent_id", "channel", "started_at", "turns", "labels"):
            if k not in c:
                err(f"{cid}: missing field {k}")
        extra = set(c) - {"id", "agent_id", "channel", "started_at", "turns", "labels", "resolved", "satisfaction"}
        if extra:
            err(f"{cid}: unexpected fields {extra}")
        if not re.fullmatch(r"a-\d+", c.get("agent_id", "")):
            err(f"{cid}: bad agent_id")
        agents[c.get("agent_id")] += 1
        ch = c.get("channel")
        if ch not in CHANNELS:
            err(f"{cid}: bad channel {ch}")
        if "resolved" in c:
            if not isinstance(c["resolved"], bool): err(f"{cid}: resolved not bool")
        else:
            no_res += 1
        if "satisfaction" in c:
            if c["satisfaction"] not in (1, 2, 3, 4, 5) or isinstance(c["satisfaction"], bool):
                err(f"{cid}: satisfaction not 1-5")
        else:
            no_sat += 1
        turns = c.get("turns", [])
        if not 2 <= len(turns) <= 16:
            err(f"{cid}: {len(turns)} turns (2-16 expected)")
        t = []
        for i, tr in enumerate(turns):
            if set(tr) != {"role", "text", "ts"}:
                err(f"{cid} t{i}: fields {set(tr)}")
            if tr.get("role") not in ROLES:
                err(f"{cid} t{i}: bad role")
            if not str(tr.get("text", "")).strip():
                err(f"{cid} t{i}: empty text")
            x = parse_ts(tr.get("ts", ""), f"{cid} t{i}")
            t.append(x)
            if x is None:
                continue
            if not (dt.date(2027, 1, 11) <= x.date() <= dt.date(2027, 1, 24)):
                err(f"{cid} t{i}: date outside 2027-01-11..24")
            mins = x.hour * 60 + x.minute + x.second / 60
            hi = 22 * 60 if ch == "phone" else 24 * 60
            if not (8 * 60 <= mins < hi) or (ch == "phone" and mins > 22 * 60):
                err(f"{cid} t{i}: outside service hours for {ch}")
            if i and t[i - 1] and x <= t[i - 1]:
                err(f"{cid} t{i}: timestamps not strictly increasing")
        if None in t or not turns:
            continue
        if c.get("started_at") != turns[0]["ts"]:
            err(f"{cid}: started_at != first turn ts")
        if not any(tr["role"] == "agent" for tr in turns) or not any(tr["role"] == "customer" for tr in turns):
            err(f"{cid}: needs customer and agent turns")
        is_en = not re.search(r"[\u4e00-\u9fff]", " ".join(tr["text"] for tr in turns if tr["role"] == "customer"))
        if is_en:
            english += 1
            for x in t:
                if not (9 <= x.hour < 21):
                    err(f"{cid}: English chat outside 9:00-21:00")
        agent_idx = [i for i, tr in enumerate(turns) if tr["role"] == "agent"]
        last_agent = agent_idx[-1] if agent_idx else None
        labels = c.get("labels", [])
        seen = set()
        for lb in labels:
            code, ti = lb.get("code"), lb.get("turn")
            if set(lb) != {"code", "turn"}:
                err(f"{cid}: label fields {set(lb)}")
            if code not in CODES:
                err(f"{cid}: unknown code {code}")
            if not isinstance(ti, int) or not 0 <= ti < len(turns) or turns[ti]["role"] != "agent":
                err(f"{cid}: label {code} not on an agent turn ({ti})")
                continue
            if code in LAST_AGENT and ti != last_agent:
                err(f"{cid}: {code} must sit on the last agent turn {last_agent}, not {ti}")
            if (code, ti) in seen:
                err(f"{cid}: duplicate label {code}@{ti}")
            seen.add((code, ti))
            label_count[code] += 1
            conv_with[code].add(cid)
            if code == "wrong_info":
                wrong_keys[(cid, ti)] += 1
        if not labels:
            clean += 1
        per_turn = Counter(lb.get("turn") for lb in labels)
        for ti, n in per_turn.items():
            if n > 2:
                err(f"{cid}: turn {ti} carries {n} codes (max 2)")
        # timing codes recomputed from timestamps
        want = set()
        for i, first, d1, d2 in replies(turns, t):
            if d1 is None:
                # an agent message right after another agent message: it must still come within
                # 60 s of the customer message being answered, so that no reading makes it slow
                prev = [r for r in replies(turns, t) if r[0] < i and r[2] is not None]
                if prev and (t[i] - t[prev[-1][0]]).total_seconds() + prev[-1][3] > 60:
                    err(f"{cid} t{i}: follow-up agent message more than 60 s after the customer message")
                continue
            lim = 30 if first else 60
            if (d1 > lim) != (d2 > lim):
                err(f"{cid} t{i}: reply delay ambiguous ({d1:.0f}s from first, {d2:.0f}s from last customer message)")
            if d2 > lim:
                want.add(("slow_first_response" if first else "slow_reply", i))
        if (t[-1] - t[0]).total_seconds() > 480 and last_agent is not None:
            want.add(("long_handling", last_agent))
        have = {(lb["code"], lb["turn"]) for lb in labels if lb.get("code") in TIMING}
        for m in sorted(want - have):
            err(f"{cid}: timing label missing {m}")
        for m in sorted(have - want):
            err(f"{cid}: timing label not supported by timestamps {m}")
        # soft checks on greeting / closing wording
        if agent_idx:
            first_txt = turns[agent_idx[0]]["text"]
            greets = bool(re.search(r"您好|你好|欢迎|我是|工号|早上好|下午好|晚上好|\bHi\b|Hello|Good (morning|afternoon|evening)|Welcome|this is", first_txt, re.I))
            if greets == ("no_greeting" in {lb["code"] for lb in labels}):
                warn(f"{cid}: greeting wording vs no_greeting label - check: {first_txt[:40]}")
    # counts
    for code in sorted(CODES):
        if label_count[code] < 8:
            err(f"code {code}: {label_count[code]} labels (<8)")
    if label_count["wrong_info"] < 20 or len(conv_with["wrong_info"]) < 14:
        err("wrong_info needs >=20 labels in >=14 conversations")
    if len(conv_with["unresolved"]) < 14:
        err("unresolved needs >=14 conversations")
    if clean < 14:
        err(f"only {clean} conversations without labels (<14)")
    if not 7 <= len(agents) <= 8:
        err(f"{len(agents)} agents (7-8 expected)")
    if not 6 <= english <= 10:
        err(f"{english} English conversations (6-10 expected)")
    if no_res == 0 or no_sat == 0:
        err("leave resolved/satisfaction out of a few conversations")
    # wrong_info sources
    texts = {}
    for root, _, files in os.walk(MAT):
        for fn in files:
            p = os.path.join(root, fn)
            rel = os.path.relpath(p, MAT)
            raw = open(p, encoding="utf-8").read()
            if fn.endswith(".jsonl"):
                raw = raw + "\n" + "\n".join(json.loads(l)["answer"] for l in raw.splitlines() if l.strip())
            texts[rel] = raw
    src_keys = Counter()
    with open(os.path.join(HERE, "wrong_info_sources.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                s = json.loads(line)
            except Exception as e:
                err(f"sources line {n}: invalid JSON ({e})"); continue
            if set(s) != {"id", "turn", "file", "sentence"}:
                err(f"sources line {n}: fields {set(s)}")
            src_keys[(s.get("id"), s.get("turn"))] += 1
            if s.get("file") not in texts:
                err(f"sources line {n}: unknown file {s.get('file')}")
            elif len(s.get("sentence", "")) < 8 or s["sentence"] not in texts[s["file"]]:
                err(f"sources line {n}: sentence not found verbatim in {s['file']}")
    if src_keys != wrong_keys:
        err(f"wrong_info_sources does not match wrong_info labels one to one: "
            f"{sorted((src_keys - wrong_keys).keys())} / {sorted((wrong_keys - src_keys).keys())}")
    for w in warnings:
        print("WARNING:", w)
    print("agents:", dict(sorted(agents.items())), "| english:", english, "| clean:", clean,
          "| no resolved:", no_res, "| no satisfaction:", no_sat)
    print("labels:", {k: label_count[k] for k in sorted(CODES)})
    print("conversations per code:", {k: len(conv_with[k]) for k in sorted(CODES)})
    print("channels:", dict(Counter(c.get("channel") for c in convs)))
    if errors:
        for e in errors:
            print("ERROR:", e)
        print(f"VALIDATION FAILED ({len(errors)} errors)")
        sys.exit(1)
    print("VALIDATION PASSED")

if __name__ == "__main__":
    main()
