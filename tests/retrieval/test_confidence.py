"""Logistic confidence models and decisions."""

import json

import numpy as np

from cs_rag.config import RetrievalSettings
from cs_rag.retrieval.confidence import FEATURES, Calibration, LogisticModel
from cs_rag.types import Decision


def test_logistic_fit_orders_by_the_informative_feature():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(float)
    model = LogisticModel.fit(x, y)
    assert abs(model.coef[0]) > 5 * abs(model.coef[1])
    p = model.predict(np.array([[2.0, 0.0], [-2.0, 0.0]]))
    assert p[0] > 0.9 and p[1] < 0.1
    assert ((model.predict(x) > 0.5) == y).mean() > 0.85


def test_constant_feature_does_not_break_the_fit():
    x = np.column_stack([np.linspace(-1, 1, 50), np.ones(50)])
    y = (x[:, 0] > 0).astype(float)
    model = LogisticModel.fit(x, y)
    assert np.isfinite(model.predict(x)).all()


def test_decisions_and_json_round_trip(tmp_path):
    flat = LogisticModel(coef=[0.0], intercept=0.0, mean=[0.0], scale=[1.0])
    calibration = Calibration(features=["dense"], top1=flat, top3=flat)
    bands = RetrievalSettings(answer_confidence=0.6, clarify_confidence=0.4)
    assert calibration.decide(0.7, 0.9, 3, bands) is Decision.ANSWER
    assert calibration.decide(0.5, 0.9, 3, bands) is Decision.CLARIFY
    assert calibration.decide(0.5, 0.9, 1, bands) is Decision.NONE  # nothing to choose between
    assert calibration.decide(0.1, 0.2, 3, bands) is Decision.NONE
    older = calibration.model_dump(mode="json") | {"answer_threshold": 0.27, "clarify_threshold": 0.3}
    assert Calibration.model_validate(older) == calibration   # files that stored thresholds still load
    path = tmp_path / "calibration.json"
    calibration.save(path)
    assert Calibration.load(path) == calibration
    older = json.loads(path.read_text(encoding="utf-8"))
    del older["embedding_model"]  # saved before the model was recorded
    path.write_text(json.dumps(older), encoding="utf-8")
    assert Calibration.load(path).embedding_model == ""


def test_shipped_calibration_matches_the_features_computed():
    from cs_rag.retrieval.confidence import FEATURES
    from cs_rag.models.e5_convert import E5_MODEL_NAME
    from cs_rag.retrieval.hybrid import default_calibration

    shipped = default_calibration()
    assert tuple(shipped.features) == FEATURES
    assert shipped.embedding_model == E5_MODEL_NAME  # fitted on knowledge/, embedded by "auto"
    assert len(shipped.top1.coef) == len(FEATURES) == len(shipped.top3.coef)


def test_shifted_model_keeps_the_ranking_and_moves_the_base_rate():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = (x[:, 0] + rng.normal(size=300) > 1).astype(float)
    model = LogisticModel.fit(x, y)
    raised = model.shifted(np.log(4.0))
    before, after = model.predict(x), raised.predict(x)
    assert (np.argsort(before) == np.argsort(after)).all()
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert np.allclose(odds(after) / odds(before), 4.0)


def test_confidence_is_moved_to_the_stated_traffic_mix():
    from cs_rag.retrieval.calibrate import _for_traffic, _traffic_weights

    # probes as a small knowledge base's carve gives them: 100 in scope (70 answered right),
    # 300 out of scope (never right); traffic is said to hold 10% out-of-scope questions
    in_scope = np.array([True] * 100 + [False] * 300)
    y = np.array([1.0] * 70 + [0.0] * 330)
    weight = _traffic_weights(in_scope, 0.1)
    assert np.isclose(weight[~in_scope].sum() / weight.sum(), 0.1)
    x = np.column_stack([y + np.random.default_rng(2).normal(scale=0.8, size=400)])
    fitted = LogisticModel.fit(x, y)
    moved = _for_traffic(fitted, y, weight)
    # base rate of a right first hit: 70/400 among the probes, 0.9 * 0.7 = 0.63 in traffic
    odds = lambda p: p / (1 - p)  # noqa: E731
    assert np.isclose(moved.intercept - fitted.intercept, np.log(odds(0.63) / odds(70 / 400)))
    assert (moved.predict(x) > fitted.predict(x)).all()


def test_settings_that_only_act_on_the_decision_need_no_refit():
    flat = LogisticModel(coef=[0.0] * len(FEATURES), intercept=0.0, mean=[0.0] * len(FEATURES),
                         scale=[1.0] * len(FEATURES))
    fitted = RetrievalSettings()
    calibration = Calibration(top1=flat, top3=flat, fitted_settings=fitted.model_dump(mode="json"))
    assert calibration.fitted_under(fitted.model_copy(update={"answer_confidence": 0.9, "near_miss_names": False}))
    assert not calibration.fitted_under(fitted.model_copy(update={"expected_out_of_scope": 0.4}))
