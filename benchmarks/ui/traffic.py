"""The live-traffic panel of a deployment's page (`services.deployments.traffic`, what
`relay deployments traffic` and the UI read): the time to count an hour of traffic from its
prediction-log segments at the page's upper bound (50 segments, 1,000,000 rows) and below it.

    python benchmarks/ui/traffic.py            # writes the "traffic" section of RESULTS.md

No peer has this panel to race: MLflow has no serving log, and a Prometheus/Grafana stack reads
its own time series instead. The bar is the UI's: under 1 s for the page's numbers.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import machine_line, write_section

TARGET_S = 1.0
CASES = ((10, 10_000), (50, 20_000))  # (segments, rows per segment)


def _world(root: Path, segments: int, rows: int) -> tuple[object, object]:
    from sklearn.linear_model import LogisticRegression

    from relayml.flavors.formats import save_model
    from relayml.services import open_services

    svc = open_services(
        f"sqlite:///{root / 'relay.db'}", str(root / "artifacts"),
        secret_key_file=root / "secret.keys",
    )  # fmt: skip
    admin = svc.identity.provision_local("admin")
    svc.identity.ensure_project(admin, "shop")
    x = np.random.default_rng(0).normal(size=(50, 2))
    path = root / "m.skops"
    saved = save_model(LogisticRegression().fit(x, x[:, 0] > 0), path, input_example=x[:3])
    blob, _ = svc.models.upload(admin, "shop", [path.read_bytes()])
    env = saved.environment.to_dict()
    svc.models.register(admin, "shop", "m", blob, flavor="sklearn", environment=env)
    svc.deployments.create(admin, "shop", "api", "m@1")
    rng = np.random.default_rng(1)
    now = datetime.now(UTC)
    for seq in range(segments):
        start = now - timedelta(minutes=55) + timedelta(seconds=seq * 3300 / segments)
        ts = [start + timedelta(milliseconds=int(i * 66_000 / rows)) for i in range(rows)]
        arm = rng.choice(["primary", "canary", "shadow"], rows, p=[0.45, 0.1, 0.45])
        table = pa.table(
            {
                "prediction_id": [f"{seq}-{i}" for i in range(rows)],
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "arm": arm,
                "version": pa.array(np.ones(rows, dtype=np.int64)),
                "request_id": [f"{seq}-{i // 4}" for i in range(rows)],  # 4 rows a request
                "latency_ms": rng.gamma(2.0, 2.0, rows),
                "x1": rng.normal(size=rows),
                "x2": rng.normal(size=rows),
            }
        )
        out = io.BytesIO()
        pq.write_table(table, out)
        digest, _ = svc.deployments.upload(admin, "shop", "api", [out.getvalue()])
        svc.deployments.record_segment(
            admin, "shop", "api", uri=f"serving/shop/api/d/s-{seq}.parquet", digest=digest,
            records=rows, first_at=ts[0], last_at=ts[-1], server_id="s",
        )  # fmt: skip
    return svc, admin


def measure(segments: int, rows: int, repeats: int = 5) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        svc, admin = _world(Path(tmp), segments, rows)
        times, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            found = svc.deployments.traffic(admin, "shop", "api")  # type: ignore[attr-defined]
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        assert found.rows == segments * rows and found.complete, found
        svc.close()  # type: ignore[attr-defined]
    return {"median": statistics.median(times), "cpu": statistics.median(cpu), "rows": found.rows}


def main() -> None:
    lines = [
        "<!-- traffic:begin -->",
        "## A deployment's live traffic (`services.deployments.traffic`: the UI panel, "
        "`relay deployments traffic`)",
        "",
        f"Machine: {machine_line()}. Command: `python benchmarks/ui/traffic.py`. An hour of "
        "logged requests (4 rows each, three arms) in SQLite + local files; the median of 5 "
        "reads, each downloading every segment (sha256 verified), reading 5 of its columns, "
        "grouping rows into requests and counting per minute and arm.",
        "",
        "| segments x rows | rows | wall (median) | CPU | target | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for segments, rows in CASES:
        m = measure(segments, rows)
        verdict = "PASS" if m["median"] < TARGET_S else "FAIL"
        lines.append(
            f"| {segments} x {rows:,} | {int(m['rows']):,} | {m['median']:.3f} s | "
            f"{m['cpu']:.3f} s | < {TARGET_S:.0f} s | {verdict} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "The page reads at most 50 segments or 1,000,000 rows (the second row is that bound) and "
        "says what it left unread beyond it. No peer to race: MLflow logs no served "
        "predictions, and Evidently and NannyML compute from a frame you hand them.",
        "<!-- traffic:end -->",
    ]
    write_section("traffic", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
