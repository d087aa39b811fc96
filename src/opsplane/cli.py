"""The `opsplane` command: server, agent, simulate, heapdump, user, token, run.

Imports stay inside the commands so that the bare (agent-only) install never pulls in
server dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsplane import __version__
from opsplane.heapdump.cli import app as heapdump_app

if TYPE_CHECKING:
    from opsplane.server.settings import Settings

app = typer.Typer(
    help="opsplane: lightweight operations platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(heapdump_app, name="heapdump")


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    """opsplane: lightweight operations platform."""


def _settings(
    *, host: str | None = None, port: int | None = None, data_dir: Path | None = None
) -> Settings:
    """Settings from env / opsplane.toml, overridden by the options given on the command line."""
    from opsplane.server.settings import Settings

    given = {"host": host, "port": port, "data_dir": data_dir}
    return Settings(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]


DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default ./data).")
]


@app.command()
def server(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the server (settings: OPSPLANE_* env or opsplane.toml)."""
    from opsplane.server.runner import serve

    serve(_settings(host=host, port=port, data_dir=data_dir))


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run the server with a local agent enrolled automatically (what `make run` does)."""
    from opsplane.server.runner import run_with_local_agent

    run_with_local_agent(_settings(host=host, port=port, data_dir=data_dir))


@app.command()
def agent(
    server: Annotated[str, typer.Option(help="Server URL, e.g. https://ops.example.com")],
    enroll: Annotated[str | None, typer.Option(help="Enrollment token (first run only).")] = None,
    state_dir: Annotated[Path, typer.Option(help="Credential, spool and config live here.")] = Path(
        "/var/lib/opsplane-agent"
    ),
    name: Annotated[str | None, typer.Option(help="Node name (default: hostname).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error")] = "info",
) -> None:
    """Run the agent: enroll once, then keep one link to the server."""
    from opsplane.agent.cli import run_agent

    raise typer.Exit(run_agent(server, enroll, state_dir, name, log_level=log_level))


@app.command()
def simulate(
    server: Annotated[str, typer.Option(help="Server URL.")],
    enroll: Annotated[str, typer.Option(help="Enrollment token with enough uses.")],
    agents: Annotated[int, typer.Option(help="How many simulated agents.")] = 100,
    duration: Annotated[float | None, typer.Option(help="Stop after N seconds.")] = None,
    report_interval: Annotated[float, typer.Option(help="Seconds between summaries.")] = 10.0,
    state_file: Annotated[
        Path | None, typer.Option(help="Keep credentials here to reuse the nodes next run.")
    ] = None,
    name_prefix: Annotated[str | None, typer.Option(help="Node name prefix.")] = None,
    connect_rate: Annotated[float, typer.Option(help="New links per second.")] = 500.0,
) -> None:
    """Run N light simulated agents speaking the real link protocol (for benchmarks)."""
    from opsplane.agent.cli import run_simulator

    raise typer.Exit(
        run_simulator(
            server,
            enroll,
            agents,
            duration=duration,
            report_interval=report_interval,
            state_file=state_file,
            name_prefix=name_prefix,
            connect_rate=connect_rate,
        )
    )


@app.command()
def openapi() -> None:
    """Print the server's OpenAPI schema (the web UI's client is generated from it)."""
    import json
    import tempfile

    from opsplane.server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        schema = create_app(_settings(data_dir=Path(tmp))).openapi()
    typer.echo(json.dumps(schema, indent=1, sort_keys=True))


user_app = typer.Typer(help="Manage users directly in the database.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _password(prompt: str) -> str:
    value: str = typer.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[str, typer.Option(help="viewer, operator or admin")] = "viewer",
    password: Annotated[str | None, typer.Option(envvar="OPSPLANE_NEW_PASSWORD")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user."""
    import asyncio

    from opsplane.server.auth.roles import Role
    from opsplane.server.manage import create_user

    asyncio.run(
        create_user(
            _settings(data_dir=data_dir),
            username=username,
            password=password or _password("password"),
            role=Role(role),
        )
    )
    typer.echo(f"created {username} ({role})")


@user_app.command("set-password")
def user_set_password(
    username: str,
    password: Annotated[str | None, typer.Option(envvar="OPSPLANE_NEW_PASSWORD")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a user's password (and re-enable the user): the way back in for a lost admin."""
    import asyncio

    from opsplane.server.manage import set_password

    asyncio.run(
        set_password(
            _settings(data_dir=data_dir),
            username=username,
            password=password or _password("new password"),
        )
    )
    typer.echo(f"password of {username} changed")


@user_app.command("list")
def user_list(data_dir: DataDir = None) -> None:
    """List users."""
    import asyncio

    from opsplane.server.manage import list_users

    for name, role, disabled in asyncio.run(list_users(_settings(data_dir=data_dir))):
        typer.echo("\t".join([name, role, *(["disabled"] if disabled else [])]))


token_app = typer.Typer(help="Create tokens directly in the database.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("enrollment")
def token_enrollment(
    name: Annotated[str, typer.Option(help="What the token is for.")] = "",
    max_uses: Annotated[int | None, typer.Option(help="Default: unlimited.")] = None,
    expires_hours: Annotated[float | None, typer.Option(help="Default: 24.")] = 24,
    data_dir: DataDir = None,
) -> None:
    """Create an agent enrollment token and print it."""
    import asyncio
    from datetime import timedelta

    from opsplane.server.manage import create_enrollment_token

    secret = asyncio.run(
        create_enrollment_token(
            _settings(data_dir=data_dir),
            name=name,
            max_uses=max_uses,
            expires_in=timedelta(hours=expires_hours) if expires_hours else None,
        )
    )
    typer.echo(secret)


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message")],
    branch: Annotated[str, typer.Option(help="Domain migration branch, e.g. fleet")],
    new_branch: Annotated[bool, typer.Option(help="Start the branch")] = False,
    depends_on: Annotated[str | None, typer.Option(help="Revision this one needs")] = None,
) -> None:
    """(developers) Autogenerate a migration for a domain's models."""
    from opsplane.server.migrations_tool import new_revision

    new_revision(message, branch=branch, new_branch=new_branch, depends_on=depends_on)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
