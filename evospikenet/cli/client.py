"""The client commands of ``evospikenet``: health, generate, sessions, artifacts, prompt, status.

They talk to a server through :class:`evospikenet.sdk.EvoSpikeNetAPIClient`. The server and key
come from ``--url``/``EVOSPIKENET_API_URL`` and ``EVOSPIKENET_API_KEY`` (a key on the command line
would land in the shell history, so there is no option for it). ``--json`` prints the API's JSON.
Exit codes: 0 done, 1 the request failed, 2 bad arguments, 3 not found, 4 the server is
unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evospikenet.sdk import EvoSpikeNetAPIClient

Handler = Callable[["EvoSpikeNetAPIClient", argparse.Namespace], Any]


def _common() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--url", default=None, help="server base URL (default $EVOSPIKENET_API_URL or :8000)"
    )
    parent.add_argument(
        "--request-timeout", type=float, default=None, help="seconds per request phase"
    )
    parent.add_argument("--json", action="store_true", help="print the API's JSON")
    return parent


def register(subparsers: Any) -> None:
    """Add the client commands."""
    common = _common()

    def add(name: str, help_text: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = subparsers.add_parser(
            name, help=help_text, description=help_text, parents=[common], **kwargs
        )
        parser.set_defaults(func=lambda args: _run(handler, args))
        return parser

    add("health", "check that the server is up (exit 0) or not (exit 4)", _health)
    generate = add("generate", "generate text from a prompt", _generate)
    generate.add_argument("prompt")
    generate.add_argument("--max-length", type=int, default=50)
    generate.add_argument("--temperature", type=float, default=None)
    generate.add_argument("--top-k", type=int, default=None)
    generate.add_argument(
        "--repetition-penalty",
        type=float,
        default=None,
        help="1-2: make tokens the answer already produced less likely (default: the model's)",
    )
    generate.add_argument("--seed", type=int, default=None)
    generate.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print the text as it is generated (default: when stdout is a terminal and "
        "without --json)",
    )
    add("status", "the simulation's nodes and queue", _status)

    sessions = subparsers.add_parser("sessions", help="experiment sessions")
    session_commands = sessions.add_subparsers(dest="sessions_command", metavar="ACTION")
    sessions.set_defaults(func=lambda args: _usage(sessions))
    listing = session_commands.add_parser("list", help="newest first", parents=[common])
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(func=lambda args: _run(_sessions_list, args))
    create = session_commands.add_parser("create", help="start a session", parents=[common])
    create.add_argument("description")
    create.set_defaults(func=lambda args: _run(_sessions_create, args))

    artifacts = subparsers.add_parser("artifacts", help="list, upload and download artifacts")
    artifact_commands = artifacts.add_subparsers(dest="artifacts_command", metavar="ACTION")
    artifacts.set_defaults(func=lambda args: _usage(artifacts))
    alist = artifact_commands.add_parser("list", help="newest first", parents=[common])
    alist.add_argument("--type", dest="artifact_type", default=None)
    alist.add_argument("--session", dest="session_id", default=None)
    alist.add_argument("--llm-type", default=None)
    alist.add_argument("--name", default=None)
    alist.add_argument("--limit", type=int, default=20)
    alist.set_defaults(func=lambda args: _run(_artifacts_list, args))
    upload = artifact_commands.add_parser(
        "upload", help="upload a file or a folder (zipped)", parents=[common]
    )
    upload.add_argument("session_id")
    upload.add_argument("artifact_type", help="model, config, tokenizer, dataset, ...")
    upload.add_argument("path", type=Path)
    upload.add_argument("--name", default=None, help="default: the file name")
    upload.add_argument("--llm-type", default=None, help="e.g. SpikingEvoTextLM")
    upload.set_defaults(func=lambda args: _run(_artifacts_upload, args))
    download = artifact_commands.add_parser(
        "download", help="download atomically", parents=[common]
    )
    download.add_argument("artifact_id")
    download.add_argument("destination", type=Path)
    download.add_argument("--extract", action="store_true", help="unpack a zip into a folder")
    download.set_defaults(func=lambda args: _run(_artifacts_download, args))

    prompt = subparsers.add_parser("prompt", help="prompts for the distributed brain")
    prompt_commands = prompt.add_subparsers(dest="prompt_command", metavar="ACTION")
    prompt.set_defaults(func=lambda args: _usage(prompt))
    submit = prompt_commands.add_parser("submit", help="queue a prompt", parents=[common])
    submit.add_argument("text", nargs="?", default=None)
    submit.add_argument("--image", type=Path, default=None)
    submit.add_argument("--audio", type=Path, default=None)
    submit.add_argument("--priority", type=int, default=None)
    submit.add_argument("--wait", type=float, default=None, help="then wait this many seconds")
    submit.set_defaults(func=lambda args: _run(_prompt_submit, args))
    wait = prompt_commands.add_parser("wait", help="wait for a prompt's result", parents=[common])
    wait.add_argument("prompt_id")
    wait.add_argument("--timeout", dest="wait_timeout", type=float, default=120)
    wait.set_defaults(func=lambda args: _run(_prompt_wait, args))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _run(handler: Handler, args: argparse.Namespace) -> int:
    from evospikenet.sdk import (
        APIConnectionError,
        EvoSpikeNetAPIClient,
        EvoSpikeNetAPIError,
        NotFoundError,
    )

    try:
        with EvoSpikeNetAPIClient(base_url=args.url, timeout=args.request_timeout) as client:
            result = handler(client, args)
    except NotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except APIConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    except EvoSpikeNetAPIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if isinstance(result, int):
        return result
    return 0


def _show(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=_plain) if args.json else text)


def _plain(value: object) -> object:
    """JSON for what ``json`` cannot encode itself: the SDK's results are mappings."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _count(value: object) -> str:
    """A count for a table column (``-`` when the server left it out)."""
    return f"{value:>3}" if isinstance(value, int) else "  -"


def _health(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> int:
    health = client.get_health()
    # Only ``status`` is required of a health answer: a lean server may leave out the rest.
    lines = [f"{client.base_url}: {health.status} (version {health.get('version', '?')})"]
    for name, component in (health.get("components") or {}).items():
        detail = f" — {component.get('detail')}" if component.get("detail") else ""
        lines.append(f"  {name}: {component.get('status')}{detail}")
    _show(args, health, "\n".join(lines))
    return 0 if health.status in ("healthy", "degraded") else 4


def _generate(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    options = {
        "temperature": args.temperature,
        "top_k": args.top_k,
        "seed": args.seed,
        "repetition_penalty": args.repetition_penalty,
    }
    streamed = args.stream if args.stream is not None else sys.stdout.isatty() and not args.json
    if not streamed:
        result = client.generate(args.prompt, args.max_length, **options)
        _show(args, result, result.generated_text)
        return
    with client.stream_generate(args.prompt, args.max_length, **options) as stream:
        try:
            for chunk in stream:
                if not args.json:
                    print(chunk.text, end="", flush=True)
        finally:
            if not args.json:
                print()  # end the line, also before an error message
    if args.json:
        _show(args, stream.result, "")


def _status(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    status = client.get_simulation_status()
    lines = [
        f"active nodes: {status.active_nodes}, queued: {status.queue_depth}, "
        f"last prompt: {status.last_prompt_status}"
    ]
    lines += [f"  rank {n.rank} {n.type_} {n.id}: {n.status}" for n in status.nodes]
    _show(args, status, "\n".join(lines))


def _sessions_list(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    sessions = client.get_all_sessions(limit=args.limit)
    lines = [
        f"{s['session_id']}  {s.get('created_at')}  {_count(s.get('artifact_count'))}  "
        f"{s.get('description', '')}"
        for s in sessions
    ]
    _show(args, sessions, "\n".join(lines) or "(no sessions)")


def _sessions_create(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    session = client.create_log_session(args.description)
    _show(args, session, session.session_id)


def _artifacts_list(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    items = client.list_artifacts(
        args.artifact_type,
        session_id=args.session_id,
        llm_type=args.llm_type,
        name=args.name,
        limit=args.limit,
    )
    lines = [
        f"{a['artifact_id']}  {a.get('artifact_type', ''):<10} {a.get('size') or 0:>12}  "
        f"{a.get('created_at')}  {a.get('name', '')}"
        for a in items
    ]
    _show(args, items, "\n".join(lines) or "(no artifacts)")


def _artifacts_upload(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    path: Path = args.path
    name = args.name or (f"{path.name}.zip" if path.is_dir() else path.name)
    artifact = client.upload_artifact(
        args.session_id, args.artifact_type, name, path, llm_type=args.llm_type
    )
    _show(
        args, artifact, f"{artifact.artifact_id}  {artifact.size} bytes  sha256 {artifact.sha256}"
    )


def _artifacts_download(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> None:
    target = client.download_artifact(args.artifact_id, args.destination, extract=args.extract)
    _show(args, {"artifact_id": args.artifact_id, "path": str(target)}, str(target))


def _prompt_submit(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> int:
    accepted = client.submit_prompt(args.text, args.image, args.audio, priority=args.priority)
    if args.wait is None:
        _show(args, accepted, accepted.prompt_id)
        return 0
    return _print_result(client, args, accepted.prompt_id, args.wait)


def _prompt_wait(client: EvoSpikeNetAPIClient, args: argparse.Namespace) -> int:
    return _print_result(client, args, args.prompt_id, args.wait_timeout)


def _print_result(
    client: EvoSpikeNetAPIClient, args: argparse.Namespace, prompt_id: str, timeout: float
) -> int:
    """Wait for the prompt and print its answer; exit 1 when it failed or did not finish."""
    result = client.poll_for_result(prompt_id, timeout=timeout)
    if result is None:
        print(f"error: no result for {prompt_id} within {timeout:g} s", file=sys.stderr)
        return 1
    if result.state == "failed":
        _show(args, result, f"failed: {result.error}")
        return 1
    _show(args, result, result.response or "")
    return 0
