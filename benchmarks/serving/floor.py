"""The floor: a bare Starlette route on uvicorn that calls the model on an already-parsed NumPy
row (or a 1,000-row array for a batch body), with no parsing, checking or logging. What a model
server costs is the distance from here.

    python floor.py MODEL.pkl PORT
"""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import orjson
import uvicorn
from sklearn.datasets import load_breast_cancer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

warnings.filterwarnings("ignore")  # the array has no feature names; the model was fitted with them

MODEL = pickle.loads(Path(sys.argv[1]).read_bytes())  # our own file, made by run.py
X = load_breast_cancer().data
ROW = X[:1]
BATCH = X[np.arange(1000) % len(X)]


async def predict(request: Request) -> Response:
    body = await request.body()
    data = BATCH if len(body) > 10_000 else ROW
    return Response(
        orjson.dumps({"predictions": MODEL.predict(data).tolist()}), media_type="application/json"
    )


async def ping(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/ping", ping)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
