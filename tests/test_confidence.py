"""Logistic confidence models and decisions."""

import json

import numpy as np

from cs_rag.confidence import Calibration, LogisticModel
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
    calibration = Calibration(features=["dense"], top1=flat, top3=flat, answer_threshold=0.6,
                              clarify_threshold=0.4)
    assert calibration.decide(0.7, 0.9, 3) is Decision.ANSWER
    assert calibration.decide(0.5, 0.9, 3) is Decision.CLARIFY
    assert calibration.decide(0.5, 0.9, 1) is Decision.NONE  # nothing to choose between
    assert calibration.decide(0.1, 0.2, 3) is Decision.NONE
    path = tmp_path / "calibration.json"
    calibration.save(path)
    assert Calibration.load(path) == calibration
    older = json.loads(path.read_text(encoding="utf-8"))
    del older["embedding_model"]  # saved before the model was recorded
    path.write_text(json.dumps(older), encoding="utf-8")
    assert Calibration.load(path).embedding_model == ""


def test_shipped_calibration_matches_the_features_computed():
    from cs_rag.confidence import FEATURES
    from cs_rag.e5_convert import E5_MODEL_NAME
    from cs_rag.retrieve import default_calibration

    shipped = default_calibration()
    assert tuple(shipped.features) == FEATURES
    assert shipped.embedding_model == E5_MODEL_NAME  # fitted on knowledge/, embedded by "auto"
    assert len(shipped.top1.coef) == len(FEATURES) == len(shipped.top3.coef)
