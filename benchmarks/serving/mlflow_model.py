"""In MLflow's venv: the benchmark's pipeline saved as an MLflow model (fitted there, with the
same data and parameters as Relay's: lbfgs is deterministic), for `mlflow models serve`.

    python mlflow_model.py DEST
"""

from __future__ import annotations

import sys

import mlflow.sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

x, y = load_breast_cancer(return_X_y=True, as_frame=True)
x.columns = [c.replace(" ", "_") for c in x.columns]
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
mlflow.sklearn.save_model(
    model, sys.argv[1], input_example=x[:5], pip_requirements=["scikit-learn", "pandas"]
)
