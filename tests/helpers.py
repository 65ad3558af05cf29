"""Small knowledge written by the tests themselves, and how to write it (imported by tests
as `from helpers import ...`; fixtures live in conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from cs_rag.config import load_settings
from cs_rag.index.embedded import EmbeddedIndex, Row
from cs_rag.types import Chunk, DocumentKind

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE_CONFIG = REPOSITORY / "knowledge" / "cs_rag.toml"   # the sample company's settings
SAMPLE_COMPANY = load_settings(SAMPLE_CONFIG, environ={}).company

FAQ = [
    {"id": "f-refund", "question": "退款多久到账", "similar_questions": ["钱什么时候退回来", "退款几天能到"],
     "answer": "退款审核通过后3-5个工作日原路退回。", "category": "售后退款"},
    {"id": "f-invoice", "question": "怎么开发票", "similar_questions": ["发票在哪里申请", "能开增值税专票吗"],
     "answer": "在订单详情页点击申请发票即可。", "category": "支付", "products": ["手机", "笔记本"]},
    {"id": "f-ship", "question": "下单后多久发货", "similar_questions": ["什么时候发货", "几天能发出"],
     "answer": "现货商品24小时内发货。", "category": "物流配送"},
    {"id": "f-vip", "question": "How do I upgrade to gold membership?", "similar_questions": ["gold member upgrade"],
     "answer": "Spend 5,000 yuan within 12 months to become a gold member.", "category": "账户与会员"},
    {"id": "f-old-promo", "question": "去年双11满减怎么算", "similar_questions": ["双11满减规则"],
     "answer": "每满300减40。", "category": "促销活动", "valid_to": "2020-11-30"},
]
POLICY = """# 退换货政策
## 七天无理由退货
签收后七天内，商品完好且不影响二次销售的，可申请无理由退货。退货运费由买家承担，已购运费险的除外。
## 不支持退货的商品
定制商品、已激活的软件和拆封的耳机不支持无理由退货。
"""


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def write_knowledge(root: Path) -> Path:
    """The FAQ and the policy document above, as a knowledge folder at `root`."""
    (root / "policies").mkdir(parents=True)
    write_jsonl(root / "faq.jsonl", FAQ)
    (root / "policies" / "退换货政策.md").write_text(POLICY, encoding="utf-8")
    return root


# A generated FAQ big enough to calibrate itself: 8 products x 5 intents, each with similar questions.
PRODUCTS = ["手机", "笔记本电脑", "平板", "蓝牙耳机", "智能手表", "电视", "冰箱", "洗衣机"]
INTENTS = [("保修多久", ["{p}坏了保修几年", "{p}的质保期是多长"], "{p}整机保修一年。"),
           ("怎么退货", ["{p}不想要了怎么退", "{p}能退吗"], "{p}签收七天内可无理由退货。"),
           ("多久发货", ["{p}什么时候发出", "{p}下单后几天发货"], "{p}现货24小时内发货。"),
           ("能分期吗", ["{p}支持分期付款吗", "{p}可以免息分期吗"], "{p}满600元可分3/6/12期免息。"),
           ("有赠品吗", ["买{p}送什么", "{p}有没有礼品"], "{p}赠品以商品详情页为准。")]


def generated_faq() -> list[dict]:
    return [{"id": f"g-{i}-{j}", "question": p + intent, "answer": answer.format(p=p), "category": f"c{j}",
             "similar_questions": [s.format(p=p) for s in similars]}
            for i, p in enumerate(PRODUCTS) for j, (intent, similars, answer) in enumerate(INTENTS)]


def faq_entries(n: int) -> list[dict]:
    topics = ["退款", "发票", "发货", "会员", "优惠券", "换货", "保修", "地址", "密码", "积分"]
    return [{"id": f"f{i}", "question": f"{topics[i % 10]}问题第{i}条怎么办",
             "similar_questions": [f"请问{topics[i % 10]}第{i}条", f"{topics[i % 10]}的事情{i}"],
             "answer": f"第{i}条的答案。", "category": "测试"} for i in range(n)]


# ---- a hand-made index for the knowledge health (no model) --------------------------------

HEALTH_NOW = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
_TODAY = HEALTH_NOW.date()


def unit(*values: float) -> list[float]:
    vector = np.asarray(values, dtype=np.float32)
    return list(vector / np.linalg.norm(vector))


def _faq(entry_id: str, texts: list[str], category: str | None = None, **validity) -> Chunk:
    return Chunk(id=entry_id, doc_id=entry_id, kind=DocumentKind.FAQ, source="faq.jsonl", text="答",
                 match_texts=texts, question=texts[0], category=category, **validity)


# FAQ entries and a document as chunks, each with one vector per match text, chosen by hand:
# a near-duplicate pair, an answer row, an expired entry and its successor (never valid
# together), one not valid yet, a policy ending in 40 days.
HEALTH_CONTENT = [
    (_faq("f-refund", ["退款多久到账", "退款几天到"], "售后退款"), [unit(1, 0, 0, 0), unit(1, 0.3, 0, 0)]),
    (_faq("f-refund-2", ["退款几天能到账"], "售后退款"), [unit(1, 0.01, 0, 0)]),   # the same question again
    (_faq("f-ship", ["多久发货"], "物流配送"), [unit(0, 1, 0, 0)]),
    (_faq("f-ship", ["多久发货"], "物流配送").model_copy(update={"id": "f-ship#answer", "answer_field": True,
                                                              "match_texts": ["24小时内发货"]}),
     [unit(0, 1, 0, 0)]),                          # an answer row: not a question, never compared
    (_faq("f-old-promo", ["去年双11满减"], "促销活动", valid_to=dt.date(2020, 11, 30)), [unit(0, 0, 1, 0)]),
    (_faq("f-promo", ["今年双11满减"], "促销活动", valid_from=dt.date(2026, 11, 1),
          valid_to=_TODAY + dt.timedelta(days=10)), [unit(0, 0, 1, 0.001)]),   # never valid with the old one
    (_faq("f-soon", ["明年的活动"], "促销活动", valid_from=_TODAY + dt.timedelta(days=5)), [unit(0, 0, 0, 1)]),
    (Chunk(id="退换货政策#0", doc_id="退换货政策", kind=DocumentKind.POLICY, source="退换货政策.md", text="七天",
           match_texts=["退换货政策\n七天无理由"], heading_path=["退换货政策", "七天无理由退货"],
           valid_to=_TODAY + dt.timedelta(days=40)), [unit(0, 1, 1, 0)]),
    (_faq("learned-9", ["拼多多退款多久到账"], None).model_copy(update={"text": "", "tags": ["declined"]}),
     [unit(1, 0, 0, 0)]),                          # declined: never answered, not in the health
]


class HandMadeKnowledgeBase:
    """What the knowledge health reads of a KnowledgeBase (its content), over HEALTH_CONTENT."""

    def __init__(self) -> None:
        chunks, rows, vectors = [], [], []
        for ordinal, (chunk, chunk_vectors) in enumerate(HEALTH_CONTENT):
            chunks.append(chunk)
            rows += [Row(ordinal, f"{chunk.id}/{i}", list(text)) for i, text in enumerate(chunk.match_texts)]
            vectors += chunk_vectors
        self.index = EmbeddedIndex.build(chunks, rows, np.asarray(vectors, dtype=np.float32),
                                         embedding_model="hand-made", tokenizer_fingerprint="-", documents={})

    def content(self) -> EmbeddedIndex:
        return self.index


@contextmanager
def service_client(root: Path, settings, client_keys: list[str], admin_keys: list[str], *,
                   knowledge: bool = True, widget_keys: list[str] = ()):
    """A FastAPI TestClient over `create_app`, its models loaded: on the knowledge above
    (written and indexed under `root` with the real model), or with `knowledge=False` on an
    empty index the service builds itself; for tests of the service's routes."""
    from fastapi.testclient import TestClient

    from cs_rag import Assistant, KnowledgeBase
    from cs_rag.service import create_app
    from cs_rag.service.auth import ApiKeys

    index_dir, sources, assistant = root / "index", [], None
    if knowledge:
        sources = [write_knowledge(root / "knowledge")]
        KnowledgeBase(index_dir, settings).ingest(sources)
        assistant = Assistant.open(index_dir, settings)
    app = create_app(index_dir, sources, settings=settings, data_dir=root / "data",
                     keys=ApiKeys(client_keys, admin_keys, widget_keys), assistant=assistant)
    with TestClient(app) as client:
        assert client.app.state.service.warm.wait(60)
        yield client


def keyword_message_model(keywords: dict[str, dict[str, str]]):
    """A guard MessageModel (cs_rag.guard.understanding) written by hand: each character of
    `keywords` pushes the heads it names ({"emotion": "angry", "level": "2", ...}) to that
    class; without one, every head stays on its first class (none, 0, inquiry)."""
    from cs_rag.guard.classifier import FeatureConfig, gram_buckets
    from cs_rag.guard.cues import CUE_NAMES
    from cs_rag.guard.understanding import HEADS, Head, MessageModel

    config = FeatureConfig(1, 1, 2 ** 12)
    heads = {}
    for name, classes in HEADS.items():
        ngram = np.zeros((config.n_features, len(classes)))
        for char, wanted in keywords.items():
            if name in wanted:
                [(_, _, bucket)] = gram_buckets(char, config)
                ngram[bucket, classes.index(wanted[name])] = 20.0
        bias = np.zeros(len(classes))
        bias[0] = 3.0
        heads[name] = Head(classes, ngram, np.zeros((len(CUE_NAMES), len(classes))), bias)
    return MessageModel(np.ones(config.n_features), heads, config, {"negative_threshold": 0.5},
                        {"trained_by": "tests"})
