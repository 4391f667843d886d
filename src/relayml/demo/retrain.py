"""The retraining pipeline the demo's loop runs (chapter 10): the production recipe fitted on
the newest usable version of the tumours dataset, registered as a candidate with a golden set.

Its step runs in a process of its own and imports this module by reference, so it lives in the
package (`relay pipelines register relayml.demo.retrain:retrain`). The step is not cached: a
cached step would hand the loop last time's version again (docs/loops.md).
"""

from __future__ import annotations

import relayml as relay

MODEL = "tumour-classifier"


@relay.step(cache=False)
def register(dataset: str = "tumours", c: float = 1.0) -> str:
    """Fit on `dataset`'s newest usable version (a quarantined one is never used) and register
    the model from the run; the candidate's ref, for the loop."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = relay.datasets.get(dataset)
    frame = data.to_pandas()
    y = frame.pop("diagnosis")
    x = frame.drop(columns=["patient_id"])
    with relay.start_run(
        experiment="breast-cancer",
        name=f"retrain-on-{data.ref}",
        params={"C": c, "max_iter": 2000},
        tags={"trigger": "loop"},
    ) as run:
        run.use_dataset(data)  # lineage, and the new model's monitor reference
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        model.fit(x, y)
        run.log_metrics({"train_acc": float(model.score(x, y))})
        version = relay.models.register(
            MODEL,
            model,
            run=run,
            input_example=x[:5],
            golden=x.sample(min(len(x), 100), random_state=0),
            description=f"retrained by the loop on {data.ref}",
        )
    print(f"registered {version.ref} from run {run.id} on {data.ref} ({len(x)} rows)")
    return str(version.ref)


@relay.pipeline
def retrain(dataset: str = "tumours", c: float = 1.0) -> None:
    register(dataset, c)
