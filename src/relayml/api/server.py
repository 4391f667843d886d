"""Run the REST API with uvicorn: `relay server` and `python -m relayml.api` call `serve`."""

from __future__ import annotations

from relayml.config import Settings


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails properly in open_services
        return url


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    settings: Settings | None = None,
    log_level: str = "warning",
) -> None:
    """Open the stores named by `settings` (default: the RELAY_* environment) and serve."""
    import uvicorn

    from relayml.api.app import create_app
    from relayml.services import open_services

    cfg = settings or Settings.from_env()
    services = open_services(
        cfg.database_url,
        cfg.artifact_uri,
        cfg.auth_cache_seconds,
        audit_key_file=cfg.audit_key_path,
        audit_key=cfg.audit_key,
        audit_checkpoints=cfg.audit_checkpoint_target,
        audit_checkpoint_every=cfg.audit_checkpoint_every,
        statement_timeout=cfg.statement_timeout,
        run_lost_after=cfg.run_lost_after,
        secret_key_file=cfg.secret_key_path,
        secret_key=cfg.secret_key,
        ui_idle_minutes=cfg.ui_idle_minutes,
    )
    try:
        app = create_app(services, cfg.max_json_bytes)
        print(
            f"Relay server on http://{host}:{port} "
            f"(database {_safe_url(cfg.database_url)}, artifacts {cfg.artifact_uri})",
            flush=True,
        )
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        services.close()
