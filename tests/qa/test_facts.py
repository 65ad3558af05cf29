"""wrong_info: an agent's numbers against the knowledge's closest clause, on a stub knowledge
base that returns fixed hits (the real retrieval is in test_route.py, marked slow)."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import START, chat

from cs_rag.config import Settings
from cs_rag.index.base import SearchFilter
from cs_rag.guard.claims import extract_claims
from cs_rag.qa import Inspector
from cs_rag.qa.facts import FactChecker, measure
from cs_rag.types import Chunk, DocumentKind, Hit

KNOWLEDGE = {
    "f-refund": ("退款多久能到账", "到账时间：闪电余额即时到账，微信和支付宝1-3个工作日，银行卡3-7个工作日。"),
    "f-ship": ("订单满多少包邮", "订单实付满99元免运费，不满99元收取8元运费。"),
    "f-price": ("买完降价能退差价吗", "价保期自下单之日起计算：普通会员和银卡7天，金卡15天，闪电PLUS会员30天。"),
    "f-new": ("新用户有什么优惠", "新人券包包含满99减10、满299减30两张券。"),
}
# searched only when a test names it
NAMED = {"f-speed": ("退款多快", "微信退款到账1-3个工作日；银行卡退款到账3-7个工作日。"),
         "f-bank": ("银行卡退款多久", "银行卡退款到账需要3-7个工作日。"),
         "f-alipay": ("支付宝退款多久", "支付宝退款到账需要1-3个工作日。"),
         "f-points": ("积分怎么用", "下单时每100积分抵扣1元，单笔抵扣不超过实付金额的20%。"),
         "f-redirect": ("能改地址吗", "已出库的订单可联系客服免费同城改派1次。"),
         "f-outbound": ("一直不发货", "现货商品超过承诺的出库时间（平时24小时、大促期间72小时）仍未出库的，补偿一张5元券。"),
         "f-late": ("退款没到账", "退款超过7个工作日仍未到账的，请联系客服。"),
         "f-instal": ("分期门槛", "分期按实付金额判断是否满足600元的门槛。"),
         "f-expiry": ("积分会过期吗", "每个自然年获得的积分，有效期至次年12月31日24:00，到期自动清零。")}


class StubKnowledge:
    """Holds the given entries (default: all) and returns every one for any search: the checker
    must find the right clause itself."""

    def __init__(self, ids=tuple(KNOWLEDGE), searched=None) -> None:
        known = {**KNOWLEDGE, **NAMED}
        self.chunks = [Chunk(id=i, doc_id=i, kind=DocumentKind.FAQ, source="faq.jsonl", text=known[i][1],
                             match_texts=[known[i][0]], question=known[i][0]) for i in ids]
        self.searched = ids if searched is None else searched
        self.queries: list[str] = []

    def search(self, query: str, k: int = 10, where: SearchFilter | None = None) -> list[Hit]:
        self.queries.append(query)
        where = where or SearchFilter()
        return [Hit(score=1.0, **c.model_dump(include=set(Hit.model_fields)))
                for c in self.chunks if c.id in self.searched and where.accepts(c, dt.date.today())][:k]

    def version(self) -> str:
        return "stub"

    def content(self) -> "StubKnowledge":
        return self

    def __len__(self) -> int:
        return len(self.chunks)

    def chunk(self, ordinal: int) -> Chunk:
        return self.chunks[ordinal]


def _wrong(agent_text: str, asked: str = "请问一下", ids=tuple(KNOWLEDGE)) -> list[str]:
    conversation = chat([("customer", 0, asked), ("agent", 10, agent_text)])
    return [f.evidence for f in FactChecker(StubKnowledge(ids)).check(conversation)]


def _wrong_clauses(agent_text: str, asked: str = "请问一下", ids=tuple(KNOWLEDGE)) -> list[str]:
    """The agent's clauses found wrong, without the knowledge."""
    return [evidence.split(" | ")[0] for evidence in _wrong(agent_text, asked, ids)]


def test_a_number_the_closest_clause_contradicts_is_wrong_info():
    assert _wrong("您好，银行卡退款一般1个工作日就到账") == ["银行卡退款一般1个工作日就到账 | knowledge: 银行卡3-7个工作日"]
    assert _wrong("订单实付满88元就免运费") == ["订单实付满88元就免运费 | knowledge: 订单实付满99元免运费"]
    assert _wrong("新人券包有满99减20的券") == ["新人券包有满99减20的券 | knowledge: 新人券包包含满99减10"]


def test_right_numbers_and_numbers_the_knowledge_does_not_speak_of_are_not():
    assert _wrong("您好，银行卡退款3-7个工作日到账，微信1-3个工作日") == []
    assert _wrong("银行卡退款一般5个工作日左右") == []          # within the range 3-7
    assert _wrong("不满99元收8元运费") == []
    assert _wrong("您这单一共258元，运单号明天更新") == []
    assert _wrong("这张券需要实付满299元才能用") == []            # 299 is stated loosely (满299减30)


def test_an_orders_own_amount_is_not_judged_against_a_threshold():
    assert _wrong("您这单实付258元") == []
    assert _wrong("您这单实付88元，满了就免运费") == []
    assert _wrong("订单实付满88元就免运费") != []                # a threshold against a threshold


def test_the_closest_clause_decides_before_any_other_that_agrees():
    # 微信's 1-3 speaks of it too, but 银行卡's clause speaks of it more closely
    assert _wrong("银行卡退款到账要1-3个工作日", ids=("f-speed",)) == [
        "银行卡退款到账要1-3个工作日 | knowledge: 银行卡退款到账3-7个工作日"]
    assert _wrong("微信退款到账要1-3个工作日", ids=("f-speed",)) == []


def test_a_number_for_another_case_of_the_rule_still_contradicts():
    # 金卡15天 names only 金卡 besides its number: sharing all of it is close enough
    assert _wrong("金卡会员价保期是30天", ids=("f-price",)) == ["金卡会员价保期是30天 | knowledge: 金卡15天"]


def test_a_clause_the_search_ranked_low_still_clears_the_agents_figure():
    # the search returns only the bank card entry, which says otherwise; the Alipay entry
    # stating 1-3 days speaks of it more closely and is found anyway
    conversation = chat([("customer", 0, "退款多久"), ("agent", 10, "支付宝退款到账需要1-3个工作日")])
    both = StubKnowledge(ids=("f-bank", "f-alipay"), searched=("f-bank",))
    assert FactChecker(both).check(conversation) == []
    bank_only = StubKnowledge(ids=("f-bank",))
    assert [f.turn for f in FactChecker(bank_only).check(conversation)] == [1]


def test_a_later_turn_repeating_a_wrong_figure_is_wrong_info_too():
    conversation = chat([("customer", 0, "满多少包邮"), ("agent", 10, "您好，订单实付满88元免运费"),
                         ("customer", 20, "确定是88吗"), ("agent", 30, "对的，满88元就行")])
    findings = FactChecker(StubKnowledge()).check(conversation)
    assert [f.turn for f in findings] == [1, 3]
    assert findings[1].evidence == "满88元就行 | knowledge: 订单实付满99元免运费"


def test_a_thousands_separator_or_a_clock_time_does_not_cut_a_clause():
    from cs_rag.qa.facts import _CLAUSE

    assert [m.group() for m in _CLAUSE.finditer("free from RMB 1,500, otherwise RMB 80")] == [
        "free from RMB 1,500", " otherwise RMB 80"]
    assert [m.group() for m in _CLAUSE.finditer("截止到11月20日23:59，注意：尾款")] == [
        "截止到11月20日23:59", "注意", "尾款"]


def test_a_label_before_its_figure_stays_in_the_figures_clause():
    from cs_rag.qa.facts import _CLAUSE

    # 截止时间：2026年11月20日 is one statement; cut at the colon, the date would name nothing
    assert [m.group() for m in _CLAUSE.finditer("价保申请截止时间：2026年11月20日23:59，注意：尾款")] == [
        "价保申请截止时间：2026年11月20日23:59", "注意", "尾款"]
    rule = Chunk(id="f-dl", doc_id="f-dl", kind=DocumentKind.POLICY, source="双11促销活动规则.md",
                 text="双11专属价保申请截止时间：2026年11月20日23:59。", match_texts=["价保截止"])
    knowledge = StubKnowledge(ids=())
    knowledge.chunks, knowledge.searched = [rule], ("f-dl",)
    conversation = chat([("customer", 0, "价保什么时候截止"), ("agent", 10, "双11价保申请截止时间：11月30日")])
    assert [f.evidence for f in FactChecker(knowledge).check(conversation)] == [
        "双11价保申请截止时间：11月30日 | knowledge: 双11专属价保申请截止时间:2026年11月20日23:59"]


def test_an_english_sentence_ends_at_its_full_stop_but_a_decimal_does_not():
    from cs_rag.qa.facts import _CLAUSE

    assert [m.group() for m in _CLAUSE.finditer("free from RMB 1,500. So an order of RMB 2.5 ships")] == [
        "free from RMB 1,500", " So an order of RMB 2.5 ships"]


def test_units_are_compared_in_one_scale():
    three_days = measure(extract_claims("3天")[0])
    assert three_days == measure(extract_claims("72小时")[0]) and three_days[0] != measure(extract_claims("3个月")[0])[0]


def test_the_customers_question_is_searched_too():
    knowledge = StubKnowledge()
    FactChecker(knowledge).check(chat([("customer", 0, "退款到银行卡要多久"), ("agent", 10, "一般3天")]))
    assert knowledge.queries == ["一般3天", "退款到银行卡要多久"]


def test_the_inspector_emits_wrong_info_only_with_knowledge():
    conversation = chat([("customer", 0, "满多少包邮"), ("agent", 10, "您好，订单实付满88元免运费，祝您生活愉快")])
    with_knowledge = Inspector(Settings(), knowledge_base=StubKnowledge()).inspect([conversation])[0]
    assert [(f.code.value, f.turn) for f in with_knowledge.findings] == [("wrong_info", 1)]
    assert with_knowledge.measures.wrong_info_checked and with_knowledge.scores.competence == 65
    off = Inspector(Settings(), knowledge_base=StubKnowledge()).inspect([conversation], check_facts=False)[0]
    assert off.findings == [] and not off.measures.wrong_info_checked


def test_customer_service_forms_are_claims_too():
    from cs_rag.qa.facts import claims_in

    assert [c.key for c in claims_in("每满300减40")] == [("amount", 300.0, "cny"), ("amount", 40.0, "cny")]
    assert [c.key for c in claims_in("50积分抵1元")] == [("points", 50.0), ("amount", 1.0, "cny")]


def test_a_promotion_counts_only_on_the_days_it_runs():
    last_year = Chunk(id="f-old", doc_id="f-old", kind=DocumentKind.FAQ, source="faq.jsonl",
                      text="2025年双11全场每满300元减40元。", match_texts=["双11满减"], question="双11满减",
                      valid_from=dt.date(2025, 10, 20), valid_to=dt.date(2025, 11, 30))
    this_year = last_year.model_copy(update={"id": "f-new", "doc_id": "f-new", "text": "2026年双11全场每满300元减50元。",
                                             "valid_from": dt.date(2026, 10, 20), "valid_to": dt.date(2026, 11, 30)})
    knowledge = StubKnowledge(ids=())
    knowledge.chunks = [last_year, this_year]
    knowledge.searched = ("f-old", "f-new")
    checker = FactChecker(knowledge)

    def wrong(agent_text: str, year: int) -> list[str]:
        turns = [("customer", 0, "双11满减多少"), ("agent", 10, agent_text)]
        conversation = chat(turns).model_copy(update={"started_at": START.replace(year=year)})
        return [f.evidence.split(" | knowledge: ")[1] for f in checker.check(conversation)]

    # START is 2026-11-02: last year's figure is wrong now, this year's is right
    assert wrong("今年双11是全场每满300减40", 2026) == ["2026年双11全场每满300元减50元"]
    assert wrong("今年双11是全场每满300减50", 2026) == []
    # a conversation from last year's sale is judged by last year's rule
    assert wrong("今年双11是全场每满300减40", 2025) == []
    assert wrong("今年双11是全场每满300减50", 2025) == ["2025年双11全场每满300元减40元"]


def test_a_figure_the_customer_gave_is_their_case_not_a_rule():
    # 12元 of 这单运费收取12元 would contradict 收取8元运费; the customer said it first
    assert _wrong("这单运费收取12元，我帮您查一下原因", asked="我这单运费怎么收取了12块") == []
    assert _wrong_clauses("这单运费收取12元") == ["这单运费收取12元"]
    # a threshold the customer names is still a rule: agreeing with a wrong one is wrong
    assert _wrong_clauses("对，满88元就免运费", asked="是满88元免运费吧") == ["满88元就免运费"]


def test_points_and_money_in_one_clause_are_judged_as_a_rate():
    ids = ("f-points",)
    assert _wrong("您的1500积分可以抵15元", asked="我有1500分能抵多少", ids=ids) == []
    assert _wrong_clauses("您的1500积分可以抵150元", asked="我有1500分能抵多少", ids=ids) == ["您的1500积分可以抵150元"]
    assert _wrong_clauses("积分是10积分抵1元", ids=ids) == ["积分是10积分抵1元"]


def test_a_worked_example_is_not_a_rule():
    ids = ("f-instal",)
    assert _wrong("例如，若订单实付金额为50元，则不能分期", ids=ids) == []
    assert _wrong_clauses("订单实付金额为50元也能分期", ids=ids) == ["订单实付金额为50元也能分期"]


def test_a_limit_of_one_written_with_a_digit_is_a_claim():
    ids = ("f-redirect",)
    assert _wrong_clauses("已出库的订单可以免费同城改派两次", ids=ids) == ["已出库的订单可以免费同城改派两次"]
    assert _wrong("已出库的订单可以免费同城改派1次", ids=ids) == []


def test_the_figure_of_another_case_in_the_knowledges_list_is_not_a_contradiction():
    ids = ("f-outbound", "f-late")     # 超过 is common, so the 大促 clause ranks closest
    # 平时24小时、大促期间72小时: the agent who says 24小时 without naming the sale spoke of 平时
    assert _wrong("超过24小时还没出库的话", ids=ids) == []
    assert _wrong_clauses("大促期间超过24小时没出库就能补偿", ids=ids) == ["大促期间超过24小时没出库就能补偿"]


def test_a_year_alone_names_which_not_when():
    ids = ("f-expiry",)
    assert _wrong("您2025年获得的积分有效期至次年12月31日", ids=ids) == []
    assert _wrong_clauses("您2025年获得的积分有效期至次年6月30日", ids=ids) == ["您2025年获得的积分有效期至次年6月30日"]
