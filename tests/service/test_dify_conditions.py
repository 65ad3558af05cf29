"""Dify's metadata_condition mapped onto SearchFilter: every supported field and operator, how
`and` / `or` combine, and a clear error naming each condition cs_rag cannot honour."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.exceptions import RequestValidationError

from cs_rag.index.base import SearchFilter
from cs_rag.service.dify import MetadataCondition
from cs_rag.service.dify_conditions import SUPPORTED, search_filter
from cs_rag.types import DocumentKind


def _filter(*conditions: tuple, logical: str = "and", timezone: str | None = None) -> SearchFilter | None:
    body = {"logical_operator": logical,
            "conditions": [{"name": n, "comparison_operator": op, **({"value": v} if v is not None else {})}
                           for n, op, v in conditions]}
    return search_filter(MetadataCondition.model_validate(body), timezone)


def _refused(*conditions: tuple, logical: str = "and") -> tuple[list, str]:
    with pytest.raises(RequestValidationError) as caught:
        _filter(*conditions, logical=logical)
    error = caught.value.errors()[0]
    return list(error["loc"]), error["msg"]


def test_no_condition_is_no_filter():
    assert search_filter(None) is None
    assert search_filter(MetadataCondition(conditions=[])) is None


@pytest.mark.parametrize("conditions, expected", [
    ([("category", "is", "支付")], SearchFilter(categories={"支付"})),
    ([("category", "in", ["支付", "物流配送"])], SearchFilter(categories={"支付", "物流配送"})),
    ([("category", "in", "支付, 物流配送")], SearchFilter(categories={"支付", "物流配送"})),
    ([("kind", "is", "faq")], SearchFilter(kinds={DocumentKind.FAQ})),
    ([("kind", "in", ["policy", "passage"])], SearchFilter(kinds={DocumentKind.POLICY, DocumentKind.PASSAGE})),
    ([("products", "contains", "手机")], SearchFilter(products={"手机"})),
    ([("products", "in", ["手机", "笔记本"])], SearchFilter(products={"手机", "笔记本"})),
    ([("valid_on", "is", "2020-11-11")], SearchFilter(valid_on=dt.date(2020, 11, 11))),
    ([("valid_on", "=", "2020-11-11T10:30:00")], SearchFilter(valid_on=dt.date(2020, 11, 11))),
    ([("valid_from", "before", "2020-11-11"), ("valid_to", "after", "2020-11-11")],
     SearchFilter(valid_on=dt.date(2020, 11, 11))),
    ([("category", "is", "支付"), ("products", "contains", "手机"), ("kind", "is", "faq")],
     SearchFilter(categories={"支付"}, products={"手机"}, kinds={DocumentKind.FAQ})),
])
def test_each_supported_operator_maps_onto_the_filter(conditions, expected):
    assert _filter(*conditions) == expected


def test_every_supported_field_and_operator_is_covered_above():
    assert {(n, op) for n, ops in SUPPORTED.items() for op in ops} == {
        ("category", "is"), ("category", "in"), ("kind", "is"), ("kind", "in"), ("products", "contains"),
        ("products", "in"), ("valid_on", "is"), ("valid_on", "="), ("valid_from", "before"), ("valid_to", "after")}


def test_timestamps_are_days_in_the_configured_zone():
    # 2020-11-10 20:00 UTC is already the 11th in Shanghai
    stamp = int(dt.datetime(2020, 11, 10, 20, tzinfo=dt.timezone.utc).timestamp())
    assert _filter(("valid_on", "is", stamp), timezone="Asia/Shanghai").valid_on == dt.date(2020, 11, 11)
    assert _filter(("valid_on", "is", str(stamp)), timezone="UTC").valid_on == dt.date(2020, 11, 10)


def test_and_intersects_one_field_and_or_unites_it():
    assert _filter(("category", "in", ["支付", "物流配送"]), ("category", "is", "支付")).categories == {"支付"}
    assert _filter(("category", "is", "支付"), ("category", "is", "物流配送")).categories == set()
    assert _filter(("category", "is", "支付"), ("category", "is", "物流配送"),
                   logical="or").categories == {"支付", "物流配送"}
    assert _filter(("products", "contains", "手机"), ("products", "contains", "平板"),
                   logical="or").products == {"手机", "平板"}
    assert _filter(("products", "contains", "手机"), ("products", "in", ["手机"])).products == {"手机"}


@pytest.mark.parametrize("conditions, logical, loc, words", [
    ([("author", "is", "x")], "and", [0, "name"], "cannot filter on 'author'"),
    ([("category", "is not", "支付")], "and", [0, "comparison_operator"], "'is', 'in'"),
    ([("category", "contains", "支")], "and", [0, "comparison_operator"], "with 'contains'"),
    ([("products", "not contains", "手机")], "and", [0, "comparison_operator"], "'contains', 'in'"),
    ([("valid_on", "before", "2020-01-01")], "and", [0, "comparison_operator"], "'is', '='"),
    ([("category", "empty", None)], "and", [0, "comparison_operator"], "with 'empty'"),
    ([("kind", "is", "video")], "and", [0, "value"], "unknown kind 'video'"),
    ([("category", "is", ["支付"])], "and", [0, "value"], "needs one name"),
    ([("category", "in", 3)], "and", [0, "value"], "needs a list"),
    ([("category", "is", "  ")], "and", [0, "value"], "no name given"),
    ([("valid_on", "is", "next week")], "and", [0, "value"], "not a day"),
    ([("valid_from", "before", "2020-11-11")], "and", [0], "valid_to 'after'"),
    ([("category", "is", "x"), ("valid_to", "after", "2020-11-11")], "and", [1], "valid_from 'before'"),
    ([("valid_from", "before", "2020-11-01"), ("valid_to", "after", "2020-11-30")], "and", [1], "different days"),
    ([("valid_on", "is", "2020-11-01"), ("valid_on", "is", "2020-11-02")], "and", [1], "two different days"),
    ([("products", "contains", "手机"), ("products", "contains", "平板")], "and", [1], "use 'in'"),
    ([("category", "is", "支付"), ("kind", "is", "faq")], "or", ["logical_operator"], "need 'and'"),
])
def test_a_condition_cs_rag_cannot_honour_is_named(conditions, logical, loc, words):
    where, message = _refused(*conditions, logical=logical)
    prefix = ["body", "metadata_condition"] + ([] if loc == ["logical_operator"] else ["conditions"])
    assert where == prefix + loc and words in message
