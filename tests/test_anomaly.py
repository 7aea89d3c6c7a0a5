"""keras_ae.anomaly: scores of every kind, a Detector whose threshold meets
its false-positive target, calibrated probabilities, save/load, bad input.

Synthetic data: "normal" examples lie near a 2-dimensional plane in 16
dimensions (in [0, 1]); anomalies are uniform noise over the cube. A small
autoencoder trained on normal data reconstructs the plane and not the noise.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import keras_ae  # noqa: E402
from keras_ae import anomaly  # noqa: E402
from keras_ae.anomaly import Detector  # noqa: E402
from keras_ae.anomaly import detector as detector_module  # noqa: E402
from keras_ae.anomaly import scaling  # noqa: E402
from keras_ae.anomaly import scores  # noqa: E402

SMALL = dict(input_shape=(16,), latent_dim=4, hidden_units=(8,), seed=1)


def _normal(n, seed):
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(123).uniform(-1, 1, size=(2, 16))
    t = rng.uniform(-1, 1, size=(n, 2))
    x = 0.5 + 0.2 * t @ basis + 0.01 * rng.normal(size=(n, 16))
    return np.clip(x, 0, 1).astype("float32")


def _anomalies(n, seed):
    return np.random.default_rng(seed).uniform(size=(n, 16)).astype("float32")


X_TRAIN = _normal(1024, 0)
X_CAL = _normal(2000, 1)
X_TEST = _normal(2000, 2)
X_ANOM = _anomalies(200, 3)


@pytest.fixture(scope="module")
def ae():
    model = keras_ae.Autoencoder(
        input_shape=(16,), latent_dim=2, hidden_units=(16,), activation="tanh",
        reconstruction_loss="mse", seed=0,
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(X_TRAIN, epochs=8, batch_size=256, verbose=0)
    return model


# ------------------------------------------------------------------ scores
@pytest.mark.backends
def test_reconstruction_error_is_the_mean_squared_error(ae):
    x = X_TEST[:50]
    x_hat = ae.reconstruct(x)
    per_feature = scores.reconstruction_error(ae, x, per_feature=True)
    assert per_feature.shape == x.shape
    np.testing.assert_allclose(per_feature, (x_hat - x) ** 2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        scores.reconstruction_error(ae, x), per_feature.mean(axis=1), rtol=1e-12
    )
    np.testing.assert_allclose(anomaly.score(ae, x), per_feature.mean(axis=1))


@pytest.mark.backends
def test_vae_scores_are_negated_likelihood_estimates():
    vae = keras_ae.VAE(**SMALL)
    x = X_TEST[:20]
    nll = scores.negative_log_likelihood(vae, x, num_samples=8)
    np.testing.assert_allclose(
        nll, -vae.log_likelihood(x, num_samples=8, seed=0, reduction="none"), rtol=1e-6
    )
    # A fixed seed: the same scores every call.
    np.testing.assert_array_equal(nll, scores.negative_log_likelihood(vae, x, num_samples=8))
    nelbo = scores.negative_elbo(vae, x, num_samples=4)
    np.testing.assert_allclose(
        nelbo, -vae.elbo(x, num_samples=4, seed=0, reduction="none"), rtol=1e-6
    )
    assert nll.shape == nelbo.shape == (20,)
    # -log p(x) <= -ELBO in expectation.
    assert nll.mean() <= scores.negative_elbo(vae, x, num_samples=64).mean() + 1e-3


@pytest.mark.backends
def test_prior_negative_log_density_of_the_codes():
    aae = keras_ae.AAE(**SMALL)
    x = X_TEST[:20]
    z = aae.encode(x).astype("float64")
    expected = 0.5 * np.sum(z**2, axis=1) + 0.5 * z.shape[1] * np.log(2 * np.pi)
    got = scores.prior_negative_log_density(aae, x)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    np.testing.assert_allclose(anomaly.score(aae, x, kind="prior_negative_log_density"), got)


def test_contractive_score_method_and_jacobian_kind():
    cae = keras_ae.ContractiveAutoencoder(**SMALL)
    x = X_TEST[:10]
    np.testing.assert_allclose(cae.score(x), scores.reconstruction_error(cae, x))
    np.testing.assert_allclose(
        cae.score(x, kind="jacobian_norm"), cae.jacobian_norm(x, reduction="none"), rtol=1e-6
    )


# ---------------------------------------------------------------- detector
@pytest.mark.backends
def test_threshold_fitted_at_a_false_positive_rate_hits_it_on_new_normal_data(ae):
    detector = Detector(ae).fit_threshold(X_CAL, fpr=0.05)
    assert detector.threshold == pytest.approx(np.quantile(detector.score(X_CAL), 0.95))
    test_fpr = detector.predict(X_TEST).mean()
    assert abs(test_fpr - 0.05) < 0.015, test_fpr
    recall = detector.predict(X_ANOM).mean()
    assert recall > 0.9, recall
    flags = detector.predict(X_TEST)
    assert flags.dtype == bool and flags.shape == (len(X_TEST),)


def test_contamination_flags_that_fraction_of_the_data(ae):
    x = np.concatenate([X_TEST[:900], X_ANOM[:100]])
    detector = Detector(ae).fit_threshold(x, contamination=0.1)
    assert detector.predict(x).mean() == pytest.approx(0.1, abs=0.002)
    assert detector.contamination == 0.1 and detector.fpr is None
    # The anomalies are mostly the ones flagged.
    assert detector.predict(X_ANOM[:100]).mean() > 0.8


def test_predict_proba_is_the_empirical_cdf_of_calibration_scores(ae):
    detector = Detector(ae).fit_threshold(X_CAL[:500], fpr=0.1)
    cal = np.sort(detector.score(X_CAL[:500]))
    x = np.concatenate([X_TEST[:200], X_ANOM[:50]])
    s = detector.score(x)
    p = detector.predict_proba(x)
    np.testing.assert_allclose(p, [(cal <= v).mean() for v in s])
    assert np.all((p >= 0) & (p <= 1))
    order = np.argsort(s)
    assert np.all(np.diff(p[order]) >= 0)  # monotone in the score
    # Consistent with predict: flagged examples score above 90% of the
    # calibration set, and those above more than 90% of it are flagged (the
    # interpolated threshold lies between two calibration scores).
    flags = detector.predict(x)
    assert flags.any() and np.all(p[flags] >= 0.9) and np.all(flags[p > 0.9])


def test_large_calibration_sets_are_summarised_by_quantiles(ae):
    detector = Detector(ae).fit_threshold(X_CAL, fpr=0.05)
    assert detector.num_calibration == 2000
    assert len(detector.calibration_scores) == detector_module.MAX_CALIBRATION_POINTS + 1
    s = detector.score(X_TEST)
    exact = np.searchsorted(np.sort(detector.score(X_CAL)), s, side="right") / 2000.0
    np.testing.assert_allclose(detector.predict_proba(X_TEST), exact, atol=2e-3)


def test_feature_scores_show_where_an_example_is_anomalous(ae):
    x = X_TEST[:5].copy()
    x[:, 3] = 1.0 - x[:, 3]  # corrupt one feature
    detector = Detector(ae)
    per_feature = detector.feature_scores(x)
    assert per_feature.shape == x.shape
    np.testing.assert_allclose(per_feature.mean(axis=1), detector.score(x), rtol=1e-12)
    assert np.all(np.argmax(per_feature, axis=1) == 3)


def test_fixed_threshold_and_score_kwargs():
    vae = keras_ae.VAE(**SMALL)
    detector = Detector(
        vae, score="negative_log_likelihood", threshold=10.0,
        score_kwargs={"num_samples": 4},
    )
    s = detector.score(X_TEST[:10])
    np.testing.assert_allclose(
        s, scores.negative_log_likelihood(vae, X_TEST[:10], num_samples=4)
    )
    np.testing.assert_array_equal(detector.predict(X_TEST[:10]), s > 10.0)


# ------------------------------------------------------ standardised errors
def test_feature_scale_is_the_std_plus_the_offset():
    np.testing.assert_allclose(
        scaling.feature_scale(X_TRAIN, offset=0.05),
        X_TRAIN.astype("float64").std(axis=0) + 0.05, rtol=1e-12,
    )
    assert scaling.DEFAULT_OFFSET == 0.1
    np.testing.assert_allclose(
        scaling.feature_scale(X_TRAIN), X_TRAIN.astype("float64").std(axis=0) + 0.1
    )


@pytest.mark.backends
def test_standardized_reconstruction_error_equals_numpy(ae):
    x = np.concatenate([X_TEST[:40], X_ANOM[:10]])
    scale = X_TRAIN.astype("float64").std(axis=0) + 0.1
    x_hat = ae.reconstruct(x).astype("float64")
    expected_per_feature = ((x_hat - x) / scale) ** 2
    got = scores.reconstruction_error(ae, x, per_feature=True, feature_scale=scale)
    np.testing.assert_allclose(got, expected_per_feature, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        ae.score(x, feature_scale=scale), expected_per_feature.mean(axis=1), rtol=1e-6
    )
    detector = Detector(ae, standardize=True).fit_feature_scale(X_TRAIN)
    np.testing.assert_allclose(detector.feature_scale, scale, rtol=1e-12)
    np.testing.assert_allclose(detector.score(x), expected_per_feature.mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(detector.feature_scores(x), expected_per_feature, rtol=1e-6)
    # A plain detector scores the unweighted errors.
    np.testing.assert_allclose(
        Detector(ae).score(x), ((x_hat - x) ** 2).mean(axis=1), rtol=1e-6
    )


def test_standardized_errors_weigh_a_feature_that_never_varies(ae):
    # Feature 5 is constant in the normal data: the same small error there
    # is unusual, one on a feature of large spread is not.
    x_train = X_TRAIN.copy()
    x_train[:, 5] = 0.5
    detector = Detector(ae, standardize=True, scale_offset=0.01).fit_feature_scale(x_train)
    assert detector.feature_scale[5] == pytest.approx(0.01)
    spread = int(np.argmax(detector.feature_scale))
    x = np.repeat(X_TEST[:1], 2, axis=0)
    x[:, 5] = 0.5
    x[0, 5] += 0.1
    x[1, spread] += 0.1
    plain = Detector(ae).feature_scores(x)
    weighted = detector.feature_scores(x)
    assert np.argmax(weighted[0]) == 5
    assert weighted[0, 5] / plain[0, 5] > 50 * weighted[1, spread] / plain[1, spread]


def test_fit_threshold_fits_a_missing_feature_scale_on_its_data(ae):
    detector = Detector(ae, standardize=True, scale_offset=0.2).fit_threshold(X_CAL, fpr=0.05)
    np.testing.assert_allclose(
        detector.feature_scale, X_CAL.astype("float64").std(axis=0) + 0.2, rtol=1e-12
    )
    assert detector.threshold == pytest.approx(np.quantile(detector.score(X_CAL), 0.95))
    # New normal data: about 5% flagged (2000 calibration and 2000 test
    # examples: the rate's standard error is ~0.007).
    assert abs(detector.predict(X_TEST).mean() - 0.05) < 0.03
    # A scale fitted first is kept.
    fitted = Detector(ae, standardize=True).fit_feature_scale(X_TRAIN)
    scale = fitted.feature_scale.copy()
    fitted.fit_threshold(X_CAL, fpr=0.05)
    np.testing.assert_array_equal(fitted.feature_scale, scale)


@pytest.mark.backends
def test_save_load_keeps_the_feature_scale(ae, tmp_path):
    detector = Detector(ae, standardize=True, scale_offset=0.05)
    detector.fit_feature_scale(X_TRAIN).fit_threshold(X_CAL[:300], fpr=0.05)
    path = str(tmp_path / "std.keras")
    detector.save(path)
    with open(Detector.config_path(path)) as f:
        config = json.load(f)
    assert config["format_version"] == 2 and config["standardize"] is True
    assert config["scale_offset"] == 0.05 and len(config["feature_scale"]) == 16
    loaded = Detector.load(path)
    assert loaded.standardize and loaded.scale_offset == 0.05
    np.testing.assert_array_equal(loaded.feature_scale, detector.feature_scale)
    x = np.concatenate([X_TEST[:100], X_ANOM[:20]])
    np.testing.assert_allclose(loaded.score(x), detector.score(x), rtol=1e-5, atol=1e-9)
    assert loaded.threshold == detector.threshold


def test_version_1_detector_files_still_load(ae):
    config = Detector(ae, threshold=0.1).get_config()
    for key in ("standardize", "scale_offset", "feature_scale"):
        del config[key]
    config["format_version"] = 1
    detector = Detector.from_config(config, ae)
    assert detector.standardize is False and detector.feature_scale is None
    assert detector.threshold == 0.1


def test_standardize_bad_input_raises_clear_errors(ae):
    vae = keras_ae.VAE(**SMALL)
    good = X_TRAIN.std(axis=0) + 0.1
    cases = [
        (lambda: Detector(ae, standardize="yes"), "`standardize` must be True or False"),
        (
            lambda: Detector(vae, score="negative_elbo", standardize=True),
            "unless score='reconstruction'",
        ),
        (lambda: Detector(ae, standardize=True, scale_offset=0.0), "`scale_offset` must be"),
        (lambda: Detector(ae, standardize=True, scale_offset="a"), "`scale_offset` must be"),
        (
            lambda: Detector(ae, score_kwargs={"feature_scale": [1.0] * 16}),
            "without `feature_scale`",
        ),
        (lambda: Detector(ae, standardize=True).score(X_TEST), "Expected a fitted feature scale"),
        (
            lambda: Detector(ae, standardize=True).feature_scores(X_TEST),
            "Expected a fitted feature scale",
        ),
        (lambda: Detector(ae).fit_feature_scale(X_TRAIN), "`standardize` must be True"),
        (
            lambda: Detector(ae, standardize=True).fit_feature_scale(X_TRAIN[:1]),
            "at least two examples",
        ),
        (
            lambda: Detector(ae, standardize=True).fit_feature_scale(X_TRAIN[:, :8]),
            r"Expected `x` of shape \(N, 16\)",
        ),
        (
            lambda: scores.reconstruction_error(ae, X_TEST, feature_scale=good[:8]),
            r"`feature_scale` must be an array of shape \(16,\)",
        ),
        (
            lambda: scores.reconstruction_error(ae, X_TEST, feature_scale=good * 0),
            "finite and > 0",
        ),
        (
            lambda: scores.reconstruction_error(ae, X_TEST, feature_scale="wide"),
            "`feature_scale` must be an array",
        ),
        (lambda: scaling.feature_scale(X_TRAIN, offset=-1), "`offset` must be"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match):
            make()


# --------------------------------------------------------------- save/load
@pytest.mark.backends
def test_save_load_round_trip(ae, tmp_path):
    detector = Detector(ae).fit_threshold(X_CAL[:300], fpr=0.05)
    path = str(tmp_path / "ae.keras")
    model_path, config_path = detector.save(path)
    assert model_path == path and config_path == str(tmp_path / "ae.detector.json")
    # Nothing else is left in the folder (the temporary files were moved).
    assert sorted(os.listdir(tmp_path)) == ["ae.detector.json", "ae.keras"]
    with open(config_path) as f:
        config = json.load(f)
    assert config["score"] == "reconstruction" and config["fpr"] == 0.05
    assert config["model_file"] == "ae.keras"

    loaded = Detector.load(path)  # safe_mode=True
    assert loaded.threshold == detector.threshold
    assert loaded.score_kind == "reconstruction"
    x = np.concatenate([X_TEST[:100], X_ANOM[:20]])
    np.testing.assert_allclose(loaded.score(x), detector.score(x), rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(loaded.predict_proba(x), detector.predict_proba(x))
    assert np.mean(loaded.predict(x) == detector.predict(x)) > 0.99


def test_save_refuses_to_overwrite_unless_asked(ae, tmp_path):
    detector = Detector(ae, threshold=0.1)
    path = str(tmp_path / "model.keras")
    detector.save(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        detector.save(path)
    detector.threshold = 0.2
    detector.save(path, overwrite=True)
    assert Detector.load(path).threshold == 0.2
    assert sorted(os.listdir(tmp_path)) == ["model.detector.json", "model.keras"]


def test_load_checks_the_files(ae, tmp_path):
    path = str(tmp_path / "a.keras")
    Detector(ae, threshold=0.1).save(path)
    with pytest.raises(FileNotFoundError, match="Received: no file"):
        Detector.load(str(tmp_path / "missing.keras"))
    # A different model under the detector's name: refused.
    keras_ae.Autoencoder(**SMALL).save(path)
    with pytest.raises(ValueError, match="different SHA-256"):
        Detector.load(path)
    with pytest.raises(ValueError, match="Expected a path ending in '.keras'"):
        Detector.load(str(tmp_path / "a.h5"))
    config = Detector(ae, threshold=0.1).get_config()
    config["format_version"] = 99
    with pytest.raises(ValueError, match="Received: format_version=99"):
        Detector.from_config(config, ae)


# ------------------------------------------------------------ bad input
def test_bad_input_raises_clear_errors(ae):
    vae = keras_ae.VAE(**SMALL)
    cases = [
        (lambda: Detector("model"), "Expected a keras_ae model"),
        (lambda: Detector(ae, score="mahalanobis"), "Received: kind='mahalanobis'"),
        (lambda: Detector(ae, threshold="high"), "`threshold`.*Received"),
        (lambda: Detector(ae, score_kwargs=[1]), "Expected `score_kwargs` as a dict"),
        (lambda: Detector(ae, score_kwargs={"f": len}), "JSON-serializable"),
        (lambda: Detector(ae, score="negative_log_likelihood"), "VariationalAutoencoder"),
        (lambda: Detector(ae).fit_threshold(X_CAL, fpr=0.0), "`fpr`.*Received: fpr=0.0"),
        (lambda: Detector(ae).fit_threshold(X_CAL, fpr=1.5), "`fpr`.*Received"),
        (
            lambda: Detector(ae).fit_threshold(X_CAL, contamination=0.7),
            "`contamination`.*Received",
        ),
        (
            lambda: Detector(ae).fit_threshold(X_CAL, fpr=0.1, contamination=0.1),
            "Expected one of `fpr`",
        ),
        (lambda: Detector(ae).predict(X_TEST), "Expected a threshold"),
        (lambda: Detector(ae, threshold=1.0).predict_proba(X_TEST), "Expected a calibrated"),
        (lambda: Detector(ae).score(X_TEST[:, :8]), r"Expected `x` of shape \(N, 16\)"),
        (lambda: Detector(ae).score(X_TEST[0]), r"Expected `x` of shape"),
        (lambda: Detector(ae).score(np.full((2, 16), np.nan)), "Expected finite values"),
        (lambda: Detector(ae).score(np.zeros((0, 16))), "Expected at least one example"),
        (lambda: Detector(ae).score("x.npy"), "Expected `x` as an array"),
        (
            lambda: Detector(vae, score="negative_elbo").feature_scores(X_TEST),
            "score='reconstruction'",
        ),
        (lambda: scores.negative_elbo(ae, X_TEST), "Expected a VariationalAutoencoder"),
        (lambda: scores.negative_log_likelihood(ae, X_TEST), "VariationalAutoencoder"),
        (lambda: scores.prior_negative_log_density(vae, X_TEST), "AdversarialAutoencoder"),
        (lambda: scores.negative_log_likelihood(vae, X_TEST, 0), "`num_samples`"),
        (lambda: anomaly.score(ae, X_TEST, per_feature=True), "per_feature"),
        (lambda: Detector(ae).save("model.h5"), "Expected a path ending in '.keras'"),
    ]
    for make, match in cases:
        with pytest.raises(ValueError, match=match):
            make()
