import pytest

from models.metrics import Confusion, calibration_error


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


def test_calibration_error_is_zero_when_probabilities_come_true_as_often_as_they_say() -> None:
    confidence = [0.25] * 4 + [0.75] * 4
    outcome = [True, False, False, False, True, True, True, False]
    assert calibration_error(confidence, outcome) == pytest.approx(0.0)


def test_calibration_error_weights_each_bin_by_its_size() -> None:
    # 0.95 said, 50% true in 2 of 4; 0.05 said, 0% true in the other 2
    error = calibration_error([0.95, 0.95, 0.05, 0.05], [True, False, False, False])
    assert error == pytest.approx((2 * 0.45 + 2 * 0.05) / 4)
    assert calibration_error([1.0], [False]) == pytest.approx(1.0)  # 1.0 lands in the top bin
    assert calibration_error([], []) == 0.0


def test_calibration_error_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="length"):
        calibration_error([0.5], [])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_error([1.5], [True])
