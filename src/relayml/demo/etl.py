"""The demo's data pipeline: ingest a raw CSV export, clean it, publish it under a contract.

Steps run in their own processes and import this module by reference, so it lives in the
package (`relay pipelines run relayml.demo.etl:prepare`). `nightly_prepare` is the same on the
lab's nightly export, on a schedule (the demo registers it and pauses it).
"""

from __future__ import annotations

from typing import Any

import relayml as relay

DATASET = "tumours"


@relay.step
def ingest(path: str) -> Any:
    import pandas as pd

    raw = pd.read_csv(path)
    print(f"read {len(raw)} rows and {raw.shape[1]} columns from {path}")
    return raw


@relay.step(retries=1)
def clean(raw: Any) -> Any:
    """Snake-case column names, drop exact duplicate rows and rows without a diagnosis."""
    data = raw.rename(columns=lambda c: c.strip().lower().replace(" ", "_"))
    before = len(data)
    data = data.drop_duplicates().dropna(subset=["diagnosis"]).reset_index(drop=True)
    data["diagnosis"] = data["diagnosis"].astype("int64")
    print(f"kept {len(data)} of {before} rows")
    return data


@relay.step(cache=False)
def publish(data: Any, contract: str, source: str) -> Any:
    return relay.datasets.publish(
        DATASET,
        data,
        contract=contract,
        source=source,
        description="Breast cancer biopsies, one row per patient, cleaned from the lab export.",
    )


@relay.pipeline
def prepare(raw_path: str, contract_path: str) -> Any:
    return publish(clean(ingest(raw_path)), contract_path, raw_path)


@relay.pipeline(schedule="0 2 * * *")
def nightly_prepare(
    raw_path: str = "lab-export.csv", contract_path: str = "tumours.contract.yaml"
) -> Any:
    return publish(clean(ingest(raw_path)), contract_path, raw_path)
