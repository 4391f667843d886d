"""Relay's side of the registry benchmark, run by run.py with Relay's interpreter in a fresh
process and a fresh store (`--home`, embedded SQLite).

    register --home H --versions 50     register 50 versions (+1 warm-up), each in its own run
    promote  --home H --rows 1000000    publish the holdout, put v1 in champion (approved), then
                                        time promotion requests whose evaluation reads the
                                        holdout, and predict_proba alone on the same frame
"""

from __future__ import annotations

import argparse
import pickle
import resource
import time
from pathlib import Path
from typing import Any

from common import MODEL, emit, median, pipelines, progress

import relayml as relay

PROJECT = "bench"
POLICY = """
separation_of_duties: true
evaluation:
  dataset: holdout@1
  target: target
protected:
  champion:
    approvals: 1
    approvers: [model_governance]
    evidence: [load_check, data_checks, evaluation, requirements]
"""


def register(home: Path, versions: int) -> dict[str, Any]:
    relay.init(project=PROJECT, home=home / ".relay")
    frame, fitted = pipelines(versions + 1)
    X = frame.drop(columns="target")
    frame.head(5).drop(columns="target").to_csv(home / "X.csv", index=False)
    (home / "model.pkl").write_bytes(pickle.dumps(fitted[0]))  # v1, for the floor of a load
    train = relay.datasets.publish("train", frame)
    blocks: list[float] = []
    calls: list[float] = []
    for i, model in enumerate(fitted):
        t0 = time.perf_counter()
        with relay.start_run(experiment="registry-bench") as run:
            run.use_dataset(train)
            t1 = time.perf_counter()
            mv = relay.models.register(MODEL, model, run=run, input_example=X[:5])
            t2 = time.perf_counter()
        t3 = time.perf_counter()
        if i:  # the first is a warm-up
            calls.append(t2 - t1)
            blocks.append(t3 - t0)
    assert mv.version == versions + 1, mv.ref
    progress(
        f"relay: {versions} versions, register call median {median(calls) * 1000:.1f} ms, "
        f"run + register median {median(blocks) * 1000:.1f} ms"
    )
    return {"versions": versions, "call_s": calls, "block_s": blocks, "flavor": mv.flavor}


def promote(home: Path, rows: int, reps: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow.parquet as pq

    from relayml.sdk import session

    relay.init(project=PROJECT, home=home / ".relay")
    frame, _ = pipelines(0)
    rng = np.random.default_rng(11)
    holdout = frame.iloc[rng.integers(0, len(frame), rows)].reset_index(drop=True)
    t0 = time.perf_counter()
    ds = relay.datasets.publish("holdout", holdout)
    publish_s = time.perf_counter() - t0
    del holdout
    progress(f"relay: published {ds.ref} ({rows:,} rows) in {publish_s:.1f} s")
    relay.policy.apply(POLICY)
    admin = session.current().backend
    gina = admin.identity.create_user("gina", ["model_governance"], PROJECT)

    # v1 into champion: the holder every timed request is compared with (evaluated too)
    first = relay.models.promote(f"{MODEL}@1", to="champion", note="baseline")
    relay.init(project=PROJECT, home=home / ".relay", token=gina.token)
    relay.requests.approve(first.id, "bench set-up")
    relay.init(project=PROJECT, home=home / ".relay")
    assert relay.models.get(f"{MODEL}@champion").version == 1

    latest = relay.models.get(MODEL).version
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(reps):
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        req = relay.models.promote(f"{MODEL}@{latest}", to="champion", note="bench")
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        failed = [e.name.value for e in req.evidence if not e.ok]
        assert not failed, failed
        relay.requests.withdraw(req.id, "bench")
    evaluation = next(e for e in req.evidence if e.name.value == "evaluation").details
    progress(f"relay: promote median {median(times):.2f} s ({reps} reps)")

    # predict_proba alone, on the frame the evaluation builds (the dataset's Parquet, to pandas)
    model = relay.models.load(f"{MODEL}@{latest}")
    features = pq.read_table(relay.datasets.get("holdout@1").path()).to_pandas()
    features = features.drop(columns="target")
    raw: list[float] = []
    checked: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        model.model.predict_proba(features)
        raw.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        model.predict_proba(features)
        checked.append(time.perf_counter() - t0)
    progress(
        f"relay: predict_proba median {median(raw):.2f} s (scikit-learn), "
        f"{median(checked):.2f} s (through Relay's signature check)"
    )
    return {
        **phases(latest, reps),
        "rows": rows,
        "publish_s": publish_s,
        "promote_s": times,
        "promote_cpu_s": cpu,
        "proba_raw_s": raw,
        "proba_checked_s": checked,
        "evaluated_rows": evaluation["candidate"]["rows"],
        "holder_evaluated": evaluation.get("holder") is not None,
        "auc": evaluation["candidate"]["metrics"].get("auc"),
    }


def phases(latest: int, reps: int) -> dict[str, Any]:
    """The evaluation's pieces, each timed alone (medians of `reps`), in the order it runs
    them: read and verify the dataset's bytes and decode them into pandas (once per request),
    then per model: load it, check the input against the signature, predict_proba, metrics."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from relayml.flavors.signature import enforce
    from relayml.sdk import session
    from relayml.stats.evaluation import evaluate_classifier

    backend = session.current().backend
    ds = relay.datasets.get("holdout@1")
    services = getattr(backend, "services", None)
    store = services.artifact_store if services is not None else None
    out: dict[str, list[float]] = {k: [] for k in ("read", "decode", "load", "check", "metrics")}
    for _ in range(reps):
        t0 = time.perf_counter()
        data = Path(ds.path()).read_bytes()
        if store is not None:
            data = b"".join(store.iter_verified(ds.record.blob))
        t1 = time.perf_counter()
        frame = pq.read_table(pa.BufferReader(data)).to_pandas()
        t2 = time.perf_counter()
        model = relay.models.load(f"{MODEL}@{latest}")
        t3 = time.perf_counter()
        features = enforce(model.signature, frame[model.feature_names])
        t4 = time.perf_counter()
        proba = model.model.predict_proba(features)
        t5 = time.perf_counter()
        evaluate_classifier(frame["target"].to_numpy(), proba, classes=list(model.classes))
        t6 = time.perf_counter()
        for key, took in zip(out, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t6 - t5), strict=True):
            out[key].append(took)
        del data, frame, features
    progress(
        "relay: evaluation pieces "
        + ", ".join(f"{k} {median(v):.2f} s" for k, v in out.items())
        + ("" if store is not None else " (read without the hash check)")
    )
    return {f"phase_{k}_s": median(v) for k, v in out.items()} | {"verified": store is not None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["register", "promote", "phases"])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--versions", type=int, default=50)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if args.mode == "register":
        emit(register(args.home, args.versions))
    elif args.mode == "phases":  # on a store `promote` filled
        relay.init(project=PROJECT, home=args.home / ".relay")
        emit(phases(relay.models.get(MODEL).version, args.reps))
    else:
        emit(promote(args.home, args.rows, args.reps))


if __name__ == "__main__":
    main()
