"""Saving and loading models: round trips per flavor, and every refusal that keeps a load safe."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from relayml.errors import IntegrityError, InvalidInput, Unprocessable, UserCodeError
from relayml.flavors import Flavor, dump_model, load_model, save_model
from tests.flavors.payload import Boom, EvilPickle, FailingModel, MeanModel

Data = tuple[pd.DataFrame, "pd.Series[Any]"]


def _load(saved: Any, **kw: Any) -> Any:
    return load_model(
        saved.data, flavor=saved.flavor, digest=saved.digest, signature=saved.signature, **kw
    )


def test_sklearn_pipeline_round_trip(cancer: Data, cancer_pipeline: Any) -> None:
    X, _ = cancer
    saved = dump_model(cancer_pipeline, input_example=X.head(5))
    assert saved.flavor is Flavor.SKLEARN and not saved.unsafe_pickle
    assert saved.digest == hashlib.sha256(saved.data).hexdigest()
    assert saved.data[:2] == b"PK"  # a skops zip, not a pickle
    loaded = _load(saved)
    np.testing.assert_array_equal(loaded.predict(X), cancer_pipeline.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), cancer_pipeline.predict_proba(X))
    assert loaded.classes == (0, 1) and loaded.has_proba


def test_save_to_a_file_and_load_from_its_path(tmp_path: Path, iris: Data) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = iris
    # a forest holds sklearn.tree._tree.Tree, outside skops' defaults: allowed by Relay's rule
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    path = tmp_path / "model.skops"
    saved = save_model(model, path, input_example=X.head(3))
    assert path.read_bytes() == saved.data
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]  # no temporary left
    loaded = load_model(path, flavor="sklearn", digest=saved.digest, signature=saved.signature)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_regressor_fitted_on_an_array(cancer: Data) -> None:
    from sklearn.linear_model import Ridge

    X, y = cancer
    model = Ridge().fit(X.to_numpy(), y.to_numpy())
    saved = dump_model(model, input_example=X.to_numpy()[:4])
    loaded = _load(saved)
    assert saved.signature is not None and saved.signature.names[:2] == ["c0", "c1"]
    np.testing.assert_allclose(loaded.predict(X.to_numpy()), model.predict(X.to_numpy()))
    with pytest.raises(Unprocessable, match="predict_proba"):
        loaded.predict_proba(X.to_numpy())


def _skops_with(obj: Any) -> bytes:
    """A real skops file of a scikit-learn transformer that carries ``obj`` in its kw_args."""
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    return bytes(skops.io.dumps(FunctionTransformer(func=np.log1p, kw_args={"x": obj})))


def test_skops_file_naming_an_untrusted_type_is_refused_before_anything_is_built(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "marker"
    data = _skops_with(Boom(str(marker)))
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(Unprocessable, match=r"tests\.flavors\.payload\.Boom") as info:
        load_model(data, flavor="sklearn", digest=digest)
    assert info.value.details["types"] == ["tests.flavors.payload.Boom"]
    assert not marker.exists()
    # the refusal is what kept it from running: trusted by name, the same bytes build a Boom
    # (in a transformer, which Relay then refuses to run as a model)
    trusted = ["tests.flavors.payload.Boom"]
    with pytest.raises(InvalidInput, match="no predict method"):
        load_model(data, flavor="sklearn", digest=digest, trusted_types=trusted)
    assert marker.read_text() == "code ran"


def test_skops_schema_edited_to_name_a_dangerous_function_is_refused() -> None:
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    original = skops.io.dumps(FunctionTransformer(func=np.log1p))
    schema = zipfile.ZipFile(io.BytesIO(original)).read("schema.json").decode()
    schema = schema.replace(
        '"__class__": "log1p",\n        "__module__": "numpy"',
        '"__class__": "system",\n        "__module__": "os"',
    )
    assert "os" in json.loads(schema)["content"]["content"]["func"]["__module__"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("schema.json", schema)
    data = buf.getvalue()
    with pytest.raises(Unprocessable, match=r"os\.system"):
        load_model(data, flavor="sklearn", digest=hashlib.sha256(data).hexdigest())


def test_relay_rule_allows_library_classes_and_nothing_else() -> None:
    from relayml.flavors.trust import allowed_by_rule

    assert allowed_by_rule("sklearn.tree._tree.Tree")
    assert allowed_by_rule("scipy.sparse._csr.csr_matrix")
    assert not allowed_by_rule("numpy.load")  # a function: must be listed by name
    assert not allowed_by_rule("os.system")
    assert not allowed_by_rule("sklearn.utils._testing.TempMemmap")
    assert not allowed_by_rule("numpy.distutils.ccompiler.CCompiler")
    assert not allowed_by_rule("sklearnx.Evil") and not allowed_by_rule("sklearn")


def test_saving_a_model_that_would_not_load_is_refused() -> None:
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(func=np.log1p, kw_args={"x": MeanModel(1.0)})
    with pytest.raises(Unprocessable, match=r"would not load.*MeanModel"):
        dump_model(model)
    saved = dump_model(model, trusted_types=["tests.flavors.payload.MeanModel"])
    assert saved.flavor is Flavor.SKLEARN


def test_pickle_is_refused_without_unsafe_pickle_and_the_payload_never_runs(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "marker"
    data = pickle.dumps(EvilPickle(str(marker)))
    digest = hashlib.sha256(data).hexdigest()
    with pytest.raises(Unprocessable, match="unsafe_pickle=True"):
        load_model(data, flavor="pickle", digest=digest)
    # nor when the record claims another flavor: skops reads only its own zip format
    with pytest.raises(Unprocessable):
        load_model(data, flavor="sklearn", digest=digest)
    assert not marker.exists()
    # what was refused was live: trusted, it runs (and is no model)
    with pytest.raises(InvalidInput, match="no predict method"):
        load_model(data, flavor="pickle", digest=digest, unsafe_pickle=True)
    assert marker.exists()


def test_pickle_needs_unsafe_pickle_to_save_too() -> None:
    with pytest.raises(Unprocessable, match=r"no safe format.*MeanModel.*unsafe_pickle=True"):
        dump_model(MeanModel(2.0))
    with pytest.raises(Unprocessable, match="unsafe_pickle=True"):
        dump_model(MeanModel(2.0), flavor="pickle")
    saved = dump_model(MeanModel(2.0), unsafe_pickle=True, input_example={"a": [1.0, 2.0]})
    assert saved.flavor is Flavor.PICKLE and saved.unsafe_pickle
    loaded = _load(saved, unsafe_pickle=True)
    assert loaded.predict({"a": [0.5]}).tolist() == [2.0]


def test_tampered_bytes_fail_to_load(tmp_path: Path, cancer_pipeline: Any) -> None:
    saved = dump_model(cancer_pipeline)
    path = tmp_path / "model.skops"
    path.write_bytes(saved.data)
    tampered = bytearray(saved.data)
    tampered[len(tampered) // 2] ^= 0x01
    path.write_bytes(bytes(tampered))
    with pytest.raises(IntegrityError, match=saved.digest):
        load_model(path, flavor="sklearn", digest=saved.digest)
    # a tampered pickle is refused before unpickling, even when the caller trusts pickles
    marker = tmp_path / "marker"
    evil = pickle.dumps(EvilPickle(str(marker)))
    honest = hashlib.sha256(pickle.dumps(MeanModel(1.0))).hexdigest()
    with pytest.raises(IntegrityError):
        load_model(evil, flavor="pickle", digest=honest, unsafe_pickle=True)
    assert not marker.exists()


def test_predict_checks_input_against_the_signature(cancer: Data, cancer_pipeline: Any) -> None:
    X, _ = cancer
    loaded = _load(dump_model(cancer_pipeline, input_example=X.head(5)))
    with pytest.raises(InvalidInput, match=r"missing column.*'mean radius'"):
        loaded.predict(X.drop(columns=["mean radius"]))
    bad = X.head(3).astype({"mean area": object})
    bad.loc[bad.index[1], "mean area"] = "large"
    with pytest.raises(InvalidInput, match=r"column 'mean area' is declared float.*mixes.*'large'"):
        loaded.predict_proba(bad)
    # shuffled columns are put in the model's order
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(loaded.predict(shuffled), cancer_pipeline.predict(X))


def test_a_model_that_raises_is_user_code_error() -> None:
    saved = dump_model(FailingModel(0.0), unsafe_pickle=True)
    loaded = _load(saved, unsafe_pickle=True)
    with pytest.raises(UserCodeError, match="RuntimeError: model broke") as info:
        loaded.predict({"a": [1.0]})
    assert "model broke" in info.value.user_traceback


def test_bad_arguments_say_what_to_do(cancer: Data, cancer_pipeline: Any) -> None:
    saved = dump_model(cancer_pipeline, input_example=cancer[0].head(2))
    with pytest.raises(InvalidInput, match=r"unknown flavor 'joblib'.*sklearn, onnx"):
        load_model(saved.data, flavor="joblib", digest=saved.digest)
    with pytest.raises(InvalidInput, match="64 lowercase hex"):
        load_model(saved.data, flavor="sklearn", digest="abc")
    with pytest.raises(InvalidInput, match="dotted name"):
        load_model(saved.data, flavor="sklearn", digest=saved.digest, trusted_types=["Boom"])
    with pytest.raises(InvalidInput, match=r"Pipeline cannot be saved as onnx.*picks sklearn"):
        dump_model(cancer_pipeline, flavor="onnx")
    with pytest.raises(InvalidInput, match="no such folder"):
        save_model(cancer_pipeline, "/nonexistent/dir/model.skops")
    with pytest.raises(InvalidInput, match="cannot read a model file"):
        load_model("/nonexistent/model.skops", flavor="sklearn", digest=saved.digest)
    with pytest.raises(InvalidInput, match="not both"):
        dump_model(cancer_pipeline, input_example={"a": [1]}, signature=saved.signature)


def test_onnx_round_trip(iris: Data) -> None:
    pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
        X.to_numpy(), y.to_numpy()
    )
    graph = skl2onnx.convert_sklearn(
        model, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=17
    )
    saved = dump_model(graph, input_example=X.head(5))
    assert saved.flavor is Flavor.ONNX and "onnxruntime" in saved.environment.packages
    loaded = _load(saved)
    assert (loaded.predict(X) == model.predict(X.to_numpy())).mean() > 0.99
    np.testing.assert_allclose(
        loaded.predict_proba(X), model.predict_proba(X.to_numpy()), atol=1e-4
    )
    with pytest.raises(InvalidInput, match="unexpected column"):
        loaded.predict(X.assign(extra=1.0))
    tampered = saved.data[:-1] + bytes([saved.data[-1] ^ 1])
    with pytest.raises(IntegrityError):
        load_model(tampered, flavor="onnx", digest=saved.digest)


def test_refusing_a_skops_file_does_not_even_import_the_types_module(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = _skops_with(Boom(str(tmp_path / "marker")))
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    code = (
        "import sys\n"
        "from relayml.errors import Unprocessable\n"
        "from relayml.flavors import load_model\n"
        "try:\n"
        f"    load_model({str(path)!r}, flavor='sklearn', digest={digest!r})\n"
        "except Unprocessable:\n"
        "    print('refused', 'tests.flavors.payload' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "refused False"
    assert not (tmp_path / "marker").exists()


def _counting_predict(loaded: Any) -> list[int]:
    """Count the calls to the loaded estimator's own predict."""
    calls = [0]
    original = loaded.model.predict

    def predict(X: Any) -> Any:
        calls[0] += 1
        return original(X)

    loaded.model.predict = predict
    return calls


def test_predict_with_proba_takes_the_label_from_the_probabilities_once_checked(
    iris: Data,
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    loaded = _load(dump_model(model, input_example=X.head(5)))
    calls = _counting_predict(loaded)
    for part in (X.iloc[:50], X.iloc[50:], X):
        labels, proba = loaded.predict_with_proba(part)
        np.testing.assert_array_equal(labels, model.predict(part))  # always predict's answer
        assert labels.dtype == model.predict(part).dtype
        np.testing.assert_allclose(proba, model.predict_proba(part))
    assert calls[0] == 1  # predict ran once, to check the arg-max on every row of a call


def test_predict_with_proba_asks_predict_of_other_classifiers(cancer: Data) -> None:
    from sklearn.linear_model import SGDClassifier

    X, y = cancer
    model = SGDClassifier(loss="log_loss", random_state=0).fit(X.iloc[:200], y.iloc[:200])
    loaded = _load(dump_model(model, input_example=X.head(5)))
    calls = _counting_predict(loaded)
    for _ in range(2):
        labels, _proba = loaded.predict_with_proba(X.iloc[:100])
        np.testing.assert_array_equal(labels, model.predict(X.iloc[:100]))
    assert calls[0] == 2  # not a final estimator Relay knows predicts its most probable class
