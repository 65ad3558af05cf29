"""Small knowledge written by the tests themselves, and how to write it (imported by tests
as `from helpers import ...`; fixtures live in conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

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
