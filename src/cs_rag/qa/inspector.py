"""Inspector: conversations in, one Inspection (findings, scores, measures) per conversation."""

from __future__ import annotations

from collections.abc import Sequence

from cs_rag.config import Settings
from cs_rag.errors import ConfigError
from cs_rag.guard import Guard, GuardResult
from cs_rag.guard.reload import Reloading
from cs_rag.knowledge_base import KnowledgeBase
from cs_rag.qa import rules
from cs_rag.qa.conversation import Conversation, Role
from cs_rag.qa.facts import FactChecker
from cs_rag.qa.findings import Finding, Inspection, Measures
from cs_rag.qa.phrases import PhraseLists, list_files, shipped_dir
from cs_rag.qa.reply_models import load_reply_models
from cs_rag.qa.scores import score
from cs_rag.types import FlagKind

_UPSET_KINDS = (FlagKind.OFFENSIVE, FlagKind.ESCALATION_THREAT)


class Inspector:
    """Inspects conversations by the rules of `cs_rag.qa.rules` with `settings.qa`.

    The customer's side is read by the guard (`guard`, default: one built from
    `settings.guard`). With a `knowledge_base`, agents' stated facts are checked against it
    (wrong_info, `cs_rag.qa.facts`); without one that code is never emitted. Phrase lists
    (`cs_rag.qa.phrases`) are re-read when their files change. Agents' replies are also read
    by the shipped reply models (`cs_rag.qa.reply_models`) unless `qa.reply_models` is off.
    Thread-safe as the guard is.
    """

    def __init__(self, settings: Settings | None = None, *, knowledge_base: KnowledgeBase | None = None,
                 guard: Guard | None = None) -> None:
        self.settings = settings or Settings()
        qa = self.settings.qa
        if qa.lexicon_dir is not None and not qa.lexicon_dir.is_dir():
            raise ConfigError("qa.lexicon_dir", f"not a folder: {qa.lexicon_dir}")
        folders = [shipped_dir(), *([qa.lexicon_dir] if qa.lexicon_dir else [])]
        self._phrases = Reloading(lambda: PhraseLists.load(folders),
                                  lambda: [f for d in folders for f in list_files(d)],
                                  qa.reload_seconds)
        self.guard = guard or Guard(self.settings.guard, public_contacts=self.settings.company.contacts())
        self.facts = FactChecker(knowledge_base, qa.evidence_hits) if knowledge_base else None
        self.reply_models = load_reply_models() if qa.reply_models else None

    @property
    def checks_facts(self) -> bool:
        """True when wrong_info is checked (a knowledge base was given)."""
        return self.facts is not None

    def inspect(self, conversations: Sequence[Conversation], *, check_facts: bool = True) -> list[Inspection]:
        """One Inspection per conversation, in order; the guard reads every customer message
        of the batch at once. `check_facts=False` leaves wrong_info out even with a knowledge
        base (the service before its index exists)."""
        places = [(n, i) for n, c in enumerate(conversations)
                  for i, t in enumerate(c.turns) if t.role is Role.CUSTOMER]
        texts = [conversations[n].turns[i].text for n, i in places]
        moods: list[dict[int, rules.Mood]] = [{} for _ in conversations]
        for (n, i), result in zip(places, self.guard.check_messages(texts) if texts else []):
            moods[n][i] = self._mood(result)
        readings: list[dict[int, dict[str, float]]] = [{} for _ in conversations]
        if self.reply_models is not None:
            replies = [(n, i) for n, c in enumerate(conversations)
                       for i, t in enumerate(c.turns) if t.role is Role.AGENT]
            found = self.reply_models.read([conversations[n].turns[i].text for n, i in replies])
            for (n, i), heads in zip(replies, found):
                readings[n][i] = heads
        phrases = self._phrases.get()
        facts = self.facts if check_facts else None
        return [self._inspect(c, phrases, moods[n], readings[n], facts) for n, c in enumerate(conversations)]

    def _inspect(self, conversation: Conversation, phrases: PhraseLists, moods: dict[int, rules.Mood],
                 readings: dict[int, dict[str, float]], facts: FactChecker | None) -> Inspection:
        read = rules.Read(conversation, [phrases.find(t.text) for t in conversation.turns], moods, readings)
        findings: list[Finding] = [*rules.timing(read, self.settings.qa), *rules.language(read)]
        if facts is not None:
            findings += facts.check(conversation)
        findings += rules.unresolved(read)
        findings.sort(key=lambda f: f.turn)
        return Inspection(id=conversation.id, agent_id=conversation.agent_id, findings=findings,
                          scores=score(findings), measures=self._measures(read, findings, facts is not None))

    def _mood(self, result: GuardResult) -> rules.Mood:
        emotion = next((f for f in result.flags if f.kind is FlagKind.NEGATIVE_EMOTION), None)
        level = (emotion.level or 0) if emotion is not None else 0
        # the offensive classifier alone misreads short messages (人呢？), so it counts only
        # beside a negative word; an abusive word or a threat counts by itself
        marked = [f for f in result.flags if f.kind in _UPSET_KINDS and (f.span or level)]
        upset = level >= self.settings.qa.upset_level or bool(marked)
        span = emotion.span if emotion is not None else next((f.span for f in marked if f.span), None)
        label = result.emotion.label.value if result.emotion.level else "neutral"
        return rules.Mood(emotion=label, level=level, upset=upset,
                          span=tuple(span) if span else None)

    @staticmethod
    def _measures(read: rules.Read, findings: list[Finding], checked: bool) -> Measures:
        conversation = read.conversation
        pair = rules.first_response(read)
        customers = read.of(Role.CUSTOMER)
        return Measures(
            first_response_seconds=None if pair is None else
            (conversation.turns[pair[1]].ts - conversation.turns[pair[0]].ts).total_seconds(),
            handling_seconds=rules.handling_seconds(conversation),
            agent_turns=len(read.of(Role.AGENT)),
            resolved=not any(f.code == "unresolved" for f in findings),
            satisfaction=conversation.satisfaction,
            emotion_start=read.moods[customers[0]].emotion if customers else "neutral",
            emotion_end=read.moods[customers[-1]].emotion if customers else "neutral",
            upset_level=max((m.level for m in read.moods.values()), default=0),
            wrong_info_checked=checked)
