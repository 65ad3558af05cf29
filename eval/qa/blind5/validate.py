#!/usr/bin/env python3
"""Checker for the q5 test set. Prints VALIDATION PASSED and exits 0 when everything holds."""
import json, os, sys, glob, datetime as dt
from collections import Counter, defaultdict
HERE = os.path.dirname(os.path.abspath(__file__))
CODES = ['slow_first_response', 'slow_reply', 'long_handling', 'no_greeting', 'no_closing', 'impolite',
         'banned_phrase', 'no_empathy', 'wrong_info', 'unresolved']
TIMING = {'slow_first_response', 'slow_reply', 'long_handling'}
LAST_AGENT = {'long_handling', 'unresolved', 'no_empathy', 'no_closing'}
errs = []
def err(m): errs.append(m)

def P(s):
    t = dt.datetime.fromisoformat(s)
    if t.utcoffset() != dt.timedelta(hours=8) or not s.endswith('+08:00'):
        raise ValueError('not +08:00: ' + s)
    return t

convs = []
with open(os.path.join(HERE, 'conversations.jsonl'), encoding='utf-8') as f:
    for i, line in enumerate(f, 1):
        try: convs.append(json.loads(line))
        except Exception as e: err(f'conversations.jsonl line {i}: bad JSON {e}')

ids = [c.get('id') for c in convs]
want = [f'q5-{i:03d}' for i in range(1, 81)]
if ids != want: err(f'ids must be q5-001..q5-080 in order; got {len(ids)} ids')

counts, conv_with = Counter(), defaultdict(set)
nolabel, english, missing_opt = 0, 0, 0
agents, channels = Counter(), Counter()
wi_labels = []
for c in convs:
    cid = c.get('id')
    for k in ['id', 'agent_id', 'channel', 'started_at', 'turns', 'labels']:
        if k not in c: err(f'{cid}: missing {k}')
    extra = set(c) - {'id', 'agent_id', 'channel', 'started_at', 'turns', 'resolved', 'satisfaction', 'labels'}
    if extra: err(f'{cid}: unknown fields {extra}')
    if c.get('channel') not in ('chat', 'app', 'wechat', 'phone'): err(f'{cid}: bad channel')
    if 'resolved' in c and not isinstance(c['resolved'], bool): err(f'{cid}: resolved not bool')
    if 'satisfaction' in c and c['satisfaction'] not in (1, 2, 3, 4, 5): err(f'{cid}: bad satisfaction')
    if 'resolved' not in c or 'satisfaction' not in c: missing_opt += 1
    agents[c.get('agent_id')] += 1; channels[c.get('channel')] += 1
    turns = c.get('turns', [])
    if not (2 <= len(turns) <= 16): err(f'{cid}: {len(turns)} turns')
    try:
        st = P(c['started_at']); ts = [P(t['ts']) for t in turns]
    except Exception as e:
        err(f'{cid}: timestamp {e}'); continue
    if ts and ts[0] != st: err(f'{cid}: started_at != first ts')
    if not (dt.date(2026, 12, 7) <= st.date() <= dt.date(2026, 12, 27)): err(f'{cid}: date out of range')
    for a, b in zip(ts, ts[1:]):
        if not b > a: err(f'{cid}: ts not strictly increasing')
    end_h = 22 if c['channel'] == 'phone' else 24
    for t in ts:
        if t.hour < 8 or t.date() != st.date() or (t.hour, t.minute, t.second) > (end_h, 0, 0) or t.hour >= end_h:
            err(f'{cid}: ts {t} outside service hours')
    roles = [t.get('role') for t in turns]
    for r, t in zip(roles, turns):
        if r not in ('customer', 'agent', 'bot', 'system'): err(f'{cid}: bad role {r}')
        if not isinstance(t.get('text'), str) or not t['text'].strip(): err(f'{cid}: empty text')
    if 'agent' not in roles: err(f'{cid}: no agent turn')
    if 'customer' not in roles: err(f'{cid}: no customer turn')
    cust_text = ' '.join(t['text'] for t in turns if t['role'] == 'customer')
    if sum(ch.isascii() for ch in cust_text) > 0.9 * len(cust_text): english += 1
    last_agent = max(i for i, r in enumerate(roles) if r == 'agent')
    labs = c.get('labels', [])
    if not labs: nolabel += 1
    seen = set()
    for l in labs:
        code, tn = l.get('code'), l.get('turn')
        if code not in CODES: err(f'{cid}: unknown code {code}'); continue
        if not isinstance(tn, int) or not (0 <= tn < len(turns)) or roles[tn] != 'agent':
            err(f'{cid}: {code} turn {tn} is not an agent turn'); continue
        if (code, tn) in seen: err(f'{cid}: duplicate label {code}@{tn}')
        seen.add((code, tn))
        if code in LAST_AGENT and tn != last_agent: err(f'{cid}: {code} must sit on last agent turn {last_agent}')
        counts[code] += 1; conv_with[code].add(cid)
        if code == 'wrong_info': wi_labels.append((cid, tn))
    for code in LAST_AGENT | {'slow_first_response'}:
        if sum(1 for l in labs if l.get('code') == code) > 1: err(f'{cid}: {code} more than once')
    # ---- timing codes recomputed from timestamps ----
    expect = set()
    if (ts[-1] - ts[0]).total_seconds() > 480: expect.add(('long_handling', last_agent))
    block = []          # unanswered customer messages (since last agent/bot turn)
    first_done = False
    prev_real = None    # role of previous non-system turn
    for i, r in enumerate(roles):
        if r == 'customer':
            if prev_real in ('agent', 'bot') : block = []
            block.append(ts[i])
        elif r == 'bot':
            block = []
        elif r == 'agent':
            if prev_real == 'customer' and block:
                d1 = (ts[i] - block[0]).total_seconds(); d2 = (ts[i] - block[-1]).total_seconds()
                lim, code = (30, 'slow_first_response') if not first_done else (60, 'slow_reply')
                if (d1 > lim) != (d2 > lim):
                    err(f'{cid}: turn {i} timing ambiguous between first ({d1:.0f}s) and last ({d2:.0f}s) customer message')
                if d2 > lim: expect.add((code, i))
                first_done = True
            elif prev_real == 'agent' and block:
                d1 = (ts[i] - block[0]).total_seconds()
                if d1 > 60: err(f'{cid}: follow-up agent turn {i} is {d1:.0f}s after customer message (ambiguous)')
            elif prev_real == 'bot':
                err(f'{cid}: agent turn {i} follows a bot turn directly; write the hand-off as a system turn')
            elif not block:
                # agent speaks first (e.g. phone greeting): the next reply to a customer is the first response
                pass
        if r != 'system': prev_real = r
    have = {(l['code'], l['turn']) for l in labs if l.get('code') in TIMING}
    for x in expect - have: err(f'{cid}: timing label missing {x}')
    for x in have - expect: err(f'{cid}: timing label not supported by timestamps {x}')

# ---- wrong_info sources ----
mat = {}
for p in glob.glob(os.path.join(HERE, 'material', '**', '*'), recursive=True):
    if os.path.isfile(p):
        mat[os.path.relpath(p, os.path.join(HERE, 'material'))] = open(p, encoding='utf-8').read()
srcs = []
with open(os.path.join(HERE, 'wrong_info_sources.jsonl'), encoding='utf-8') as f:
    for i, line in enumerate(f, 1):
        try: srcs.append(json.loads(line))
        except Exception as e: err(f'wrong_info_sources.jsonl line {i}: {e}')
src_keys = Counter((s.get('id'), s.get('turn')) for s in srcs)
if sorted(src_keys.elements()) != sorted(wi_labels): err('wrong_info_sources.jsonl does not match wrong_info labels one to one')
for s in srcs if mat else []:   # the writer's material/ (a copy of knowledge/) is not kept in the project
    fcontent = mat.get(s.get('file', ''))
    if fcontent is None: err(f'{s.get("id")}: source file {s.get("file")} not in material/')
    elif len(s.get('sentence', '')) < 8 or s['sentence'] not in fcontent:
        err(f'{s.get("id")} turn {s.get("turn")}: sentence not found verbatim in {s["file"]}')

# ---- composition ----
for code in CODES:
    if counts[code] < 8: err(f'{code}: only {counts[code]} labels (need 8)')
if counts['wrong_info'] < 20 or len(conv_with['wrong_info']) < 14: err('wrong_info needs 20 labels in 14 conversations')
if len(conv_with['unresolved']) < 14: err('unresolved needs 14 conversations')
if nolabel < 14: err(f'only {nolabel} conversations without labels (need 14)')
if not (6 <= english <= 10): err(f'{english} English conversations (need 6-10)')
if not (7 <= len(agents) <= 8): err(f'{len(agents)} agents')
if missing_opt < 3: err('leave resolved/satisfaction out of a few conversations')

print('labels per code:')
for code in CODES: print(f'  {code:20s} {counts[code]:3d} labels in {len(conv_with[code]):2d} conversations')
print(f'conversations without labels: {nolabel}; English: {english}; agents: {dict(sorted(agents.items()))}; channels: {dict(channels)}')
if errs:
    for e in errs: print('ERROR', e)
    print(f'VALIDATION FAILED ({len(errs)} errors)'); sys.exit(1)
print('VALIDATION PASSED'); sys.exit(0)
