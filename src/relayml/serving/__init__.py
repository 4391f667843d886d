"""The model server: `relay serve NAME [NAME...]` answers predictions for deployments.

It follows the registry (an alias that moves is loaded, verified, warmed up and swapped in
without a failed or waiting request), checks every request against the model's signature,
batches concurrent requests into one model call, splits traffic between a primary and a canary
and mirrors it to a shadow, logs every answered row to Parquet segments in the artifact store,
takes feedback, and exports Prometheus metrics. docs/serving.md is the user's page;
`server.serve` is the entry point, `app.ModelServer` the ASGI application.

Modules: `options` (settings and defaults), `inputs` (request bodies checked against the
signature), `arms` (a loaded model version and its predict call), `batcher` (adaptive
micro-batching), `plans` (what a deployment serves now, swapped whole), `follower` (polling
the registry and loading new versions), `shadow`, `predlog` (the prediction log), `metrics`,
`access` (ids and access logs), `predict` (the prediction handlers, plain ASGI), `routes`
(health, readiness, metrics, v2 metadata, feedback), `app` (the ASGI application holding them
together, and its life), `server` (uvicorn, workers, signals).
"""
