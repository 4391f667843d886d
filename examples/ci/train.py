"""Train and register the model, for examples/ci/pipeline.sh (its `train` stage).

Publishes the training file as a dataset version under its contract (a quarantined version stops
here), fits a scikit-learn pipeline inside a run that records the data it used (the promotion's
data_checks evidence reads that lineage), registers the model with its signature, and prints
the registered ref (churn@4) as its last line. Configured by the pipeline's variables:
MODEL, TRAIN_DATA, TRAIN_DATASET, CONTRACT, TARGET and RELAY_PROJECT.
"""

from __future__ import annotations

import os
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import relayml as relay


def main() -> int:
    model, target = os.environ["MODEL"], os.environ["TARGET"]
    relay.init(project=os.environ.get("RELAY_PROJECT"))
    data = relay.datasets.publish(
        os.environ["TRAIN_DATASET"], os.environ["TRAIN_DATA"], contract=os.environ["CONTRACT"]
    )
    if data.status.value != "valid":
        print(f"{data.ref} is {data.status.value}: see relay datasets show {data.ref}",
              file=sys.stderr)  # fmt: skip
        return 1
    frame = data.to_pandas()
    X, y = frame.drop(columns=[target]), frame[target]
    with relay.start_run(experiment=f"{model}-ci", params={"C": 1.0}) as run:
        run.use_dataset(data)
        fitted = make_pipeline(StandardScaler(), LogisticRegression(C=1.0)).fit(X, y)
        run.log_metric("train_accuracy", float(fitted.score(X, y)))
        version = relay.models.register(model, fitted, run=run, input_example=X[:5])
    print(version.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
