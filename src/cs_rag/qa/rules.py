"""The inspection's rules on one conversation: timing (from the turns' timestamps) and
language (from the phrase lists, the reply models' reading of the agent and the guard's
reading of the customer), each a function from a `Read` conversation to findings. docs/qa.md
states each rule."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from cs_rag.config import QaSettings
from cs_rag.qa.conversation import Conversation, Role
from cs_rag.qa.findings import Finding, FindingCode
from cs_rag.qa.phrases import Phrase

_TRAILS_OFF = re.compile(r"…|\.\.\.|。。")   # 好吧…… trails off: resignation, not acceptance
_EXCERPT = 40   # the first characters of a turn are the evidence when no phrase is
_SHORT_REPLY = 16   # characters: a customer reply this short to an offer of more help only answers it


@dataclass(frozen=True)
class Mood:
    """The guard's reading of one customer message."""

    emotion: str = "neutral"
    level: int = 0              # 0 calm, 1 mild, 2 clear, 3 strong
    upset: bool = False         # clearly upset: level >= qa.upset_level, abuse or a threat
    span: tuple[int, int] | None = None   # the words that show it


@dataclass(frozen=True)
class Read:
    """A conversation with what the phrase lists, the reply models and the guard found in
    each turn."""

    conversation: Conversation
    phrases: list[dict[str, list[Phrase]]]   # per turn, by list name
    moods: dict[int, Mood]                   # per customer turn
    readings: dict[int, dict[str, float]] = field(default_factory=dict)   # per agent turn: heads that fire

    def of(self, role: Role) -> list[int]:
        return [i for i, turn in enumerate(self.conversation.turns) if turn.role is role]

    def has(self, turn: int, name: str) -> bool:
        """A phrase of list `name` is in the turn."""
        return bool(self.phrases[turn].get(name))

    def shows(self, turn: int, name: str) -> bool:
        """A phrase of list `name` is in the turn, or the reply model of that name fires on it."""
        return self.has(turn, name) or name in self.readings.get(turn, {})


def first_response(read: Read) -> tuple[int, int] | None:
    """(customer turn, agent turn) of the first agent reply and the customer message it had to
    answer: the first customer message since the last bot turn before it, or, when the customer
    wrote nothing after a bot's hand-off message, the first since the last real answer (the
    hand-off answered a request for a person, not the question waiting before it; system turns
    answer nothing). None without one."""
    turns = read.conversation.turns
    agents = read.of(Role.AGENT)
    if not agents:
        return None
    start = None
    for i in range(agents[0] - 1, -1, -1):
        role = turns[i].role
        if role is Role.CUSTOMER:
            start = i
        elif role is Role.BOT and start is not None:
            break
    return None if start is None else (start, agents[0])


def timing(read: Read, settings: QaSettings) -> list[Finding]:
    """slow_first_response, slow_reply (each later agent reply, timed from the first customer
    message since the agent's previous turn) and long_handling (first to last turn); none
    when no agent took part."""
    turns = read.conversation.turns
    agents = read.of(Role.AGENT)
    if not agents:
        return []
    findings = []
    pair = first_response(read)
    if pair is not None:
        waited = _seconds(turns[pair[1]].ts - turns[pair[0]].ts)
        if waited > settings.first_response_seconds:
            findings.append(Finding(code=FindingCode.SLOW_FIRST_RESPONSE, turn=pair[1],
                                    evidence=f"first reply {waited:.0f} s after the customer's "
                                             f"message (turn {pair[0]})"))
    for previous, current in pairwise(agents):
        waiting = [i for i in range(previous + 1, current) if turns[i].role is Role.CUSTOMER]
        if waiting:
            waited = _seconds(turns[current].ts - turns[waiting[0]].ts)
            if waited > settings.reply_seconds:
                findings.append(Finding(code=FindingCode.SLOW_REPLY, turn=current,
                                        evidence=f"reply {waited:.0f} s after the customer's "
                                                 f"message (turn {waiting[0]})"))
    handled = handling_seconds(read.conversation)
    if handled > settings.handling_minutes * 60:
        findings.append(Finding(code=FindingCode.LONG_HANDLING, turn=len(turns) - 1,
                                evidence=f"handled in {handled / 60:.1f} min"))
    return findings


def handling_seconds(conversation: Conversation) -> float:
    """Seconds from the first turn to the last."""
    return _seconds(conversation.turns[-1].ts - conversation.turns[0].ts)


def language(read: Read) -> list[Finding]:
    """no_greeting, impolite, banned_phrase, no_empathy and no_closing. A reply the impolite
    model flags without a listed phrase has its first characters as evidence."""
    agents = read.of(Role.AGENT)
    if not agents:
        return []
    findings = []
    if not read.shows(agents[0], "greeting"):
        findings.append(_excerpt(read, FindingCode.NO_GREETING, agents[0]))
    for turn in agents:
        for name, code in (("impolite", FindingCode.IMPOLITE), ("banned", FindingCode.BANNED_PHRASE)):
            found = read.phrases[turn].get(name)
            if found:
                findings.append(Finding(code=code, turn=turn, span=(found[0].start, found[0].end),
                                        evidence="、".join(dict.fromkeys(p.term for p in found))))
            elif read.shows(turn, name):
                findings.append(_excerpt(read, code, turn))
    findings += _empathy(read, agents)
    findings += _closing(read, agents)
    return findings


def _empathy(read: Read, agents: list[int]) -> list[Finding]:
    upset = [i for i, mood in sorted(read.moods.items()) if mood.upset]
    if not upset:
        return []
    later = [i for i in agents if i > upset[0]]
    # a rude reply acknowledges nothing, whatever polite words it has
    if not later or any(read.shows(i, "empathy") and not read.shows(i, "impolite") for i in later):
        return []
    mood = read.moods[upset[0]]
    text = read.conversation.turns[upset[0]].text
    if mood.span is None:
        return [_excerpt(read, FindingCode.NO_EMPATHY, upset[0])]
    return [Finding(code=FindingCode.NO_EMPATHY, turn=upset[0], span=mood.span,
                    evidence=text[mood.span[0]:mood.span[1]])]


def _closing(read: Read, agents: list[int]) -> list[Finding]:
    """No agent message closes politely although one was due: the conversation ends with the
    agent, or the customer does not walk away with the problem open (a customer who ends with
    知道了 or 行吧 has had the answer; one who ends with 算了 owes the agent nothing)."""
    if any(read.shows(i, "closing") for i in agents):
        return []
    spoken = [i for i, turn in enumerate(read.conversation.turns) if turn.role is not Role.SYSTEM]
    ends_with_agent = read.conversation.turns[spoken[-1]].role is Role.AGENT
    if not (ends_with_agent or settled(read) or not unresolved(read)):
        return []
    return [_excerpt(read, FindingCode.NO_CLOSING, agents[-1])]


def settled(read: Read) -> bool:
    """The customer's last message says the matter is settled (thanks, it works) and nothing
    says it is not."""
    customers = read.of(Role.CUSTOMER)
    return bool(customers) and _settles(read, customers[-1]) and not read.has(customers[-1], "unsettled")


def _settles(read: Read, turn: int) -> bool:
    """The customer's message `turn` says the matter is settled, or accepts the answer (好吧)
    without trailing off (好吧……, ……行吧: resignation, the problem stays open)."""
    return read.has(turn, "settled") or (read.has(turn, "accepted")
                                         and not _TRAILS_OFF.search(read.conversation.turns[turn].text))


def unresolved(read: Read) -> list[Finding]:
    """The customer's problem is not solved by the end: their last message (or the one before,
    unless the last says the matter is settled) says so, or the last is clearly upset, or
    complains at all without a word of settling (a short answer to the agent's offer of more
    help, 没了 to 还有其他问题吗, is no complaint), or asks a question no one answers, or the
    agent's last word puts the matter off (or refuses it) and the customer does not then say
    it is settled; or no agent and no bot ever answered the customer."""
    turns = read.conversation.turns
    customers = read.of(Role.CUSTOMER)
    agents = read.of(Role.AGENT)
    if customers and not agents and not read.of(Role.BOT):
        return [_excerpt(read, FindingCode.UNRESOLVED, customers[-1])]   # nobody answered
    if not customers or not agents:
        return []
    last = customers[-1]
    accepts = _settles(read, last)
    # the message before the last counts unless the last settles the matter or only declines
    # the agent's offer of more help (没了 to 还有其他问题吗: the customer is done)
    window = [last] if accepts or _answers_offer(read, last) else customers[-2:][::-1]
    for turn in window:
        found = read.phrases[turn].get("unsettled")
        if found:
            return [Finding(code=FindingCode.UNRESOLVED, turn=turn, span=(found[0].start, found[0].end),
                            evidence=found[0].term)]
    mood = read.moods.get(last)
    # a last word that complains, even mildly (怎么还没, 太慢了), is no acceptance
    if mood is not None and (mood.upset or (mood.level and not accepts
                                            and not _answers_offer(read, last))):
        return [_excerpt(read, FindingCode.UNRESOLVED, last)]
    answered = any(turns[i].role in (Role.AGENT, Role.BOT) for i in range(last + 1, len(turns)))
    if not answered and not accepts and _asks(turns[last].text):
        return [_excerpt(read, FindingCode.UNRESOLVED, last)]
    # the agent's answers to the customer's last two messages: one that puts the matter off
    # leaves it open, whatever the customer accepts (好吧，那我等你消息), unless they say it is settled
    answers = [i for i in agents if len(customers) < 2 or i > customers[-2]]
    for turn in answers[::-1]:
        deferred = read.phrases[turn].get("deferral")
        if deferred and not (last > turn and read.has(last, "settled")):
            return [Finding(code=FindingCode.UNRESOLVED, turn=turn,
                            span=(deferred[0].start, deferred[0].end), evidence=deferred[0].term)]
    return []


def _answers_offer(read: Read, turn: int) -> bool:
    """The customer's message `turn` is short and answers an agent's message with a closing
    phrase (还有其他问题吗) just before it (system turns aside)."""
    spoken = [i for i in range(turn) if read.conversation.turns[i].role is not Role.SYSTEM]
    before = spoken[-1] if spoken else None
    return (before is not None and read.conversation.turns[before].role is Role.AGENT
            and read.has(before, "closing") and len(read.conversation.turns[turn].text.strip()) <= _SHORT_REPLY)


def _asks(text: str) -> bool:
    return any(mark in text for mark in "?？") or text.rstrip().endswith(("吗", "呢", "么"))


def _excerpt(read: Read, code: FindingCode, turn: int) -> Finding:
    text = read.conversation.turns[turn].text
    cut = text[:_EXCERPT]
    return Finding(code=code, turn=turn, span=(0, len(cut)), evidence=cut)


def _seconds(delta) -> float:
    return delta.total_seconds()
