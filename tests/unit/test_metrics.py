import pytest

from models.metrics import Confusion


def test_confusion_counts_accuracy_and_f1() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    m = Confusion.of(truth, pred, ["a", "b", "c"])
    assert m.counts == ((2, 1, 0), (0, 1, 1), (0, 0, 1))
    assert m.accuracy() == pytest.approx(4 / 6)
    assert m.f1("a") == pytest.approx(2 * 2 / (2 * 2 + 0 + 1))
    assert m.f1("b") == pytest.approx(0.5)
    assert m.f1("c") == pytest.approx(2 / 3)
    assert m.macro_f1(["a", "b", "c"]) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_predictions_outside_the_label_set_get_a_column() -> None:
    m = Confusion.of(["a", "b"], ["a", "unscored"], ["a", "b"])
    assert m.labels == ("a", "b", "unscored")
    assert m.f1("b") == 0.0
    assert "unscored" in m.render()


def test_length_mismatch() -> None:
    with pytest.raises(ValueError):
        Confusion.of(["a"], [], ["a"])
