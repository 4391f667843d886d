"""`python -m relayml.api --host 127.0.0.1 --port 8080`: serve the REST API."""

from __future__ import annotations

import argparse
import sys

from relayml.errors import RelayError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relayml.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (warning)",
    )
    args = parser.parse_args(argv)
    from relayml.api.server import serve

    try:
        serve(args.host, args.port, log_level=args.log_level)
    except RelayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
