"""remote_log against a real SSH/SFTP server on 127.0.0.1 (asyncssh's, keys generated here)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import asyncssh
import pytest
import yaml

from evospikenet.server.remote_log import (
    MAX_LINES,
    MAX_OUTPUT_BYTES,
    READ_CHUNK_BYTES,
    RemoteHost,
    RemoteLogForbidden,
    RemoteLogUnavailable,
    load_nodes_file,
    read_remote_log,
)

try:  # tests/server as a plain folder (pytest "prepend" puts it on sys.path) ...
    from ssh_fixtures import (
        SSHTestServer,
        known_hosts_line,
        ssh_server,
        ssh_server_in_thread,
        write_private_key,
    )
except ImportError:  # ... or as a package, if an __init__.py is added later
    from .ssh_fixtures import (  # type: ignore[no-redef, import-not-found, unused-ignore]
        SSHTestServer,
        known_hosts_line,
        ssh_server,
        ssh_server_in_thread,
        write_private_key,
    )

LOG_LINES = [f"[12:00:{i % 60:02d}] rank 0 line {i:04d} spikes={i * 7 % 101}\n" for i in range(500)]


@pytest.fixture(scope="module")
def ssh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHTestServer]:
    with ssh_server_in_thread(tmp_path_factory.mktemp("ssh")) as server:
        (server.log_dir / "sim_rank_0.log").write_text("".join(LOG_LINES), encoding="utf-8")
        yield server


@pytest.fixture
def hosts(ssh: SSHTestServer) -> list[RemoteHost]:
    return ssh.remote_hosts()


def read(hosts: list[RemoteHost], ssh: SSHTestServer, **overrides: Any) -> str:
    request: dict[str, Any] = {
        "user": ssh.user,
        "ip": ssh.host,
        "key_path": "~/.ssh/id_rsa",
        "log_file_path": str(ssh.log_dir / "sim_rank_0.log"),
    }
    request.update(overrides)
    return asyncio.run(read_remote_log(hosts, **request))


def write_log(ssh: SSHTestServer, name: str, data: bytes) -> str:
    path = ssh.log_dir / name
    path.write_bytes(data)
    return str(path)


# --------------------------------------------------------------------------- reading


def test_default_is_exactly_the_last_100_lines(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    assert read(hosts, ssh) == "".join(LOG_LINES[-100:])


@pytest.mark.parametrize("lines", [1, 7, 499, 500, MAX_LINES])
def test_lines_is_honoured(ssh: SSHTestServer, hosts: list[RemoteHost], lines: int) -> None:
    assert read(hosts, ssh, lines=lines) == "".join(LOG_LINES[-lines:])


def test_last_line_without_newline_counts_as_a_line(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    path = write_log(ssh, "partial.log", b"a\nb\nc")
    assert read(hosts, ssh, log_file_path=path, lines=2) == "b\nc"
    assert read(hosts, ssh, log_file_path=path, lines=1) == "c"


def test_empty_file_gives_empty_text(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    assert read(hosts, ssh, log_file_path=write_log(ssh, "empty.log", b"")) == ""


def test_tail_spanning_many_chunks(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    lines = [f"{i:06d} " + "x" * 120 + "\n" for i in range(5000)]  # ~635 KB, ten 64 KiB chunks
    path = write_log(ssh, "big.log", "".join(lines).encode())
    assert read(hosts, ssh, log_file_path=path, lines=4000) == "".join(lines[-4000:])


def test_first_wanted_line_starting_exactly_at_a_chunk_boundary(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    width = 64
    count = READ_CHUNK_BYTES // width  # the last chunk holds exactly the wanted lines
    lines = [f"{i:05d}".ljust(width - 1, "z") + "\n" for i in range(count + 3)]
    path = write_log(ssh, "aligned.log", "".join(lines).encode())
    assert read(hosts, ssh, log_file_path=path, lines=count) == "".join(lines[-count:])


def test_output_is_capped_and_starts_at_a_line(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    lines = [f"{i:06d} " + "y" * 292 + "\n" for i in range(10_000)]  # 3 MB
    path = write_log(ssh, "huge.log", "".join(lines).encode())
    text = read(hosts, ssh, log_file_path=path, lines=MAX_LINES)
    assert 0 < len(text.encode()) <= MAX_OUTPUT_BYTES
    assert text == "".join(lines[-text.count("\n") :])
    assert text.count("\n") == MAX_OUTPUT_BYTES // 300


def test_one_line_over_the_cap_is_cut_on_a_character(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    # An odd file size puts the cut inside a two-byte character.
    path = write_log(ssh, "one-line.log", ("é" * MAX_OUTPUT_BYTES + "x").encode())
    text = read(hosts, ssh, log_file_path=path, lines=1)
    assert text.endswith("éx") and set(text[:-1]) == {"é"}
    assert len(text.encode()) == MAX_OUTPUT_BYTES - 1


def test_invalid_utf8_is_replaced(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    path = write_log(ssh, "binary.log", b"ok\n\xff\xfebad\n")
    assert read(hosts, ssh, log_file_path=path, lines=1) == "\ufffd\ufffdbad\n"


def test_dot_and_double_slash_are_normalized(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    messy = f"{ssh.log_dir}/.//sim_rank_0.log".replace("/logs/", "//logs/./")
    assert read(hosts, ssh, log_file_path=messy, lines=3) == "".join(LOG_LINES[-3:])


def test_symlink_inside_the_allowed_dir_is_followed(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    link = ssh.log_dir / "current.log"
    if not link.exists():
        link.symlink_to(ssh.log_dir / "sim_rank_0.log")
    assert read(hosts, ssh, log_file_path=str(link), lines=2) == "".join(LOG_LINES[-2:])


def test_allowed_dir_configured_through_a_symlink(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    alias = ssh.log_dir.parent / "logs-alias"
    if not alias.exists():
        alias.symlink_to(ssh.log_dir, target_is_directory=True)
    aliased = [dataclasses.replace(hosts[0], allowed_log_dirs=(alias,))]
    text = read(aliased, ssh, log_file_path=str(alias / "sim_rank_0.log"), lines=1)
    assert text == LOG_LINES[-1]


@pytest.mark.parametrize(
    "key_path",
    [
        "",
        "  ",
        "~/.ssh/id_rsa",
        "~/.ssh/id_ed25519",
        "/home/alice/.ssh/id_ecdsa",
        "id_ed25519_test",
        "/somewhere/else/id_ed25519_test",
        "C:\\Users\\alice\\.ssh\\id_rsa",
    ],
)
def test_key_path_resolves_to_the_configured_key(
    ssh: SSHTestServer, hosts: list[RemoteHost], key_path: str
) -> None:
    assert read(hosts, ssh, key_path=key_path, lines=1) == LOG_LINES[-1]


def test_async_context_manager_on_one_loop(tmp_path: Path) -> None:
    async def scenario() -> str:
        async with ssh_server(tmp_path, user="node") as server:
            log = server.log_dir / "sim_rank_1.log"
            log.write_text("first\nsecond\n", encoding="utf-8")
            return await read_remote_log(
                server.remote_hosts(),
                user="node",
                ip="127.0.0.1",
                key_path="",
                log_file_path=str(log),
                lines=1,
            )

    assert asyncio.run(scenario()) == "second\n"


def test_thread_server_serves_another_process(ssh: SSHTestServer) -> None:
    # What an API server in a child process does: load the nodes file, read over SSH.
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from evospikenet.server.remote_log import load_nodes_file, read_remote_log\n"
        "hosts = load_nodes_file(Path(sys.argv[1]))\n"
        "print(asyncio.run(read_remote_log(hosts, user=sys.argv[2], ip='127.0.0.1',"
        " key_path='~/.ssh/id_rsa', log_file_path=sys.argv[3], lines=2)), end='')\n"
    )
    log = str(ssh.log_dir / "sim_rank_0.log")
    child = subprocess.run(
        [sys.executable, "-c", script, str(ssh.nodes_file), ssh.user, log],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout == "".join(LOG_LINES[-2:])


def test_insecure_mode_skips_host_key_check(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    insecure = [dataclasses.replace(hosts[0], known_hosts=None)]
    assert read(insecure, ssh, lines=1) == LOG_LINES[-1]


# --------------------------------------------------------------------------- refused (403)


def assert_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost], fragment: str, **overrides: Any
) -> None:
    before = ssh.connections()
    with pytest.raises(RemoteLogForbidden, match=fragment):
        read(hosts, ssh, **overrides)
    assert ssh.connections() == before, "a refused request must not connect anywhere"


@pytest.mark.parametrize("ip", ["127.0.0.2", "localhost", "10.0.0.1", "", "127.0.0.1\n"])
def test_unconfigured_host_is_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost], ip: str
) -> None:
    assert_forbidden(ssh, hosts, "is not configured for remote_log", ip=ip)


@pytest.mark.parametrize("user", ["root", "Sim", "", "sim "])
def test_unconfigured_user_is_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost], user: str
) -> None:
    assert_forbidden(ssh, hosts, "is not configured for host '127.0.0.1'", user=user)


def test_no_hosts_configured_forbids_everything(ssh: SSHTestServer) -> None:
    assert_forbidden(ssh, [], "is not configured for remote_log")


@pytest.mark.parametrize(
    "key_path", ["~/.ssh/deploy_key", "/etc/passwd", "id_rsa.pub", "~/.ssh/id_rsa\x00", "x/"]
)
def test_key_path_not_among_configured_keys_is_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost], key_path: str
) -> None:
    assert_forbidden(ssh, hosts, "key_path", key_path=key_path)


@pytest.mark.parametrize(
    ("log_file_path", "fragment"),
    [
        ("/etc/passwd", "outside the allowed log directories"),
        ("{logs}", "outside the allowed log directories"),
        ("{logs}/../nodes.yaml", "contains '..'"),
        ("{logs}/sub/../../id_ed25519_test", "contains '..'"),
        ("{logs}-evil/x.log", "outside the allowed log directories"),
        ("logs/sim_rank_0.log", "not an absolute path"),
        ("~/sim_rank_0.log", "not an absolute path"),
        ("{logs}/sim_rank_0.log\x00.txt", "NUL or control characters"),
        ("{logs}/sim\nrank.log", "NUL or control characters"),
        ("", "must be a non-empty string"),
        ("/" + "a" * 5000, "longer than"),
    ],
)
def test_bad_log_paths_are_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost], log_file_path: str, fragment: str
) -> None:
    path = log_file_path.replace("{logs}", str(ssh.log_dir))
    assert_forbidden(ssh, hosts, fragment, log_file_path=path)


def test_symlink_escaping_the_allowed_dir_is_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    secret = ssh.log_dir.parent / "secret.txt"
    secret.write_text("do not leak\n", encoding="utf-8")
    link = ssh.log_dir / "escape.log"
    if not link.exists():
        link.symlink_to(secret)
    with pytest.raises(RemoteLogForbidden, match=r"resolves to .*secret\.txt.*outside") as caught:
        read(hosts, ssh, log_file_path=str(link))
    assert "do not leak" not in str(caught.value)


def test_symlinked_directory_escaping_is_forbidden(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    link = ssh.log_dir / "up"
    if not link.exists():
        link.symlink_to(ssh.log_dir.parent, target_is_directory=True)
    with pytest.raises(RemoteLogForbidden, match="outside"):
        read(hosts, ssh, log_file_path=str(link / "nodes.yaml"))


def test_refusals_and_reads_are_logged(
    ssh: SSHTestServer, hosts: list[RemoteHost], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="evospikenet.server.remote_log")
    read(hosts, ssh, lines=1)
    with pytest.raises(RemoteLogForbidden):
        read(hosts, ssh, ip="192.0.2.1")
    messages = [record.getMessage() for record in caplog.records]
    assert any("read" in m and "sim_rank_0.log" in m for m in messages)
    assert any("refused" in m and "192.0.2.1" in m for m in messages)


# --------------------------------------------------------------------------- unavailable (502)


def test_missing_file_is_unavailable_with_a_clear_message(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    missing = ssh.log_dir / "sim_rank_9.log"
    with pytest.raises(RemoteLogUnavailable, match=f"log file {missing} does not exist"):
        read(hosts, ssh, log_file_path=str(missing))


def test_directory_is_not_a_log_file(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    (ssh.log_dir / "old").mkdir(exist_ok=True)
    with pytest.raises(RemoteLogUnavailable, match="not a regular file"):
        read(hosts, ssh, log_file_path=str(ssh.log_dir / "old"))


def test_fifo_is_refused_without_blocking(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    fifo = ssh.log_dir / "pipe.log"
    if not fifo.exists():
        os.mkfifo(fifo)
    with pytest.raises(RemoteLogUnavailable, match="not a regular file"):
        read(hosts, ssh, log_file_path=str(fifo), timeout=5.0)


def test_unknown_host_key_is_unavailable(
    ssh: SSHTestServer, hosts: list[RemoteHost], tmp_path: Path
) -> None:
    other_key = asyncssh.generate_private_key("ssh-ed25519")
    wrong = tmp_path / "known_hosts"
    wrong.write_text(known_hosts_line(ssh.host, ssh.port, other_key), encoding="ascii")
    pinned_elsewhere = [dataclasses.replace(hosts[0], known_hosts=wrong)]
    with pytest.raises(RemoteLogUnavailable, match="host key not accepted"):
        read(pinned_elsewhere, ssh)


def test_empty_known_hosts_is_unavailable(
    ssh: SSHTestServer, hosts: list[RemoteHost], tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("", encoding="ascii")
    with pytest.raises(RemoteLogUnavailable, match="host key not accepted"):
        read([dataclasses.replace(hosts[0], known_hosts=empty)], ssh)


def test_key_the_server_does_not_authorize_is_unavailable(
    ssh: SSHTestServer, hosts: list[RemoteHost], tmp_path: Path
) -> None:
    stranger = write_private_key(asyncssh.generate_private_key("ssh-ed25519"), tmp_path / "k")
    with pytest.raises(RemoteLogUnavailable, match="authentication with the configured key"):
        read([dataclasses.replace(hosts[0], key_file=stranger)], ssh, key_path="")


def test_key_readable_by_others_is_refused(
    ssh: SSHTestServer, hosts: list[RemoteHost], tmp_path: Path
) -> None:
    loose = tmp_path / "id_ed25519_test"
    loose.write_bytes(ssh.client_key.read_bytes())
    loose.chmod(0o644)
    with pytest.raises(RemoteLogUnavailable, match="chmod 600"):
        read([dataclasses.replace(hosts[0], key_file=loose)], ssh)


def test_encrypted_key_is_refused_without_showing_it(
    ssh: SSHTestServer, hosts: list[RemoteHost], tmp_path: Path
) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    locked = tmp_path / "id_ed25519_test"
    locked.write_bytes(key.export_private_key("pkcs8-pem", passphrase="secret"))
    locked.chmod(0o600)
    with pytest.raises(RemoteLogUnavailable, match="passphrase-protected") as caught:
        read([dataclasses.replace(hosts[0], key_file=locked)], ssh)
    assert "PRIVATE KEY" not in str(caught.value)
    assert locked.read_text(encoding="ascii").splitlines()[1] not in str(caught.value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_connection_refused_is_unavailable(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    closed = [dataclasses.replace(hosts[0], port=free_port())]
    with pytest.raises(RemoteLogUnavailable, match="cannot connect"):
        read(closed, ssh)


def test_silent_server_times_out(ssh: SSHTestServer, hosts: list[RemoteHost]) -> None:
    with socket.socket() as silent:  # accepts TCP (kernel backlog) but never speaks SSH
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        mute = [dataclasses.replace(hosts[0], port=silent.getsockname()[1])]
        started = time.monotonic()
        with pytest.raises(RemoteLogUnavailable, match=r"no complete answer within 0.5 s"):
            read(mute, ssh, timeout=0.5)
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("lines", [0, -1, MAX_LINES + 1, True, 2.5, "10"])
def test_lines_out_of_range_is_a_value_error(
    ssh: SSHTestServer, hosts: list[RemoteHost], lines: object
) -> None:
    with pytest.raises(ValueError, match="lines must be an integer from 1 to"):
        read(hosts, ssh, lines=lines)


# --------------------------------------------------------------------------- nodes file


@pytest.fixture
def key_files(tmp_path: Path) -> Path:
    write_private_key(asyncssh.generate_private_key("ssh-ed25519"), tmp_path / "id_node")
    (tmp_path / "known_hosts").write_text("", encoding="ascii")
    return tmp_path


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": "10.0.0.5",
        "port": 2222,
        "user": "sim",
        "key_file": "id_node",
        "known_hosts": "known_hosts",
        "allowed_log_dirs": ["/var/log/evospikenet"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def write_nodes(folder: Path, data: Any, name: str = "nodes.yaml") -> Path:
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return path


def test_nodes_file_resolves_relative_paths_and_defaults(key_files: Path) -> None:
    path = write_nodes(key_files, {"hosts": [entry(port=..., name="node-a")]})
    (host,) = load_nodes_file(path)
    assert host == RemoteHost(
        host="10.0.0.5",
        port=22,
        user="sim",
        key_file=key_files / "id_node",
        known_hosts=key_files / "known_hosts",
        allowed_log_dirs=(Path("/var/log/evospikenet"),),
        name="node-a",
    )


def test_nodes_file_in_json_with_insecure_flag(key_files: Path) -> None:
    data = {
        "hosts": [
            entry(known_hosts=..., insecure_no_host_key_check=True),
            entry(user="ops", allowed_log_dirs=["/srv/logs/", "/var//log/./sim"]),
        ]
    }
    path = write_nodes(key_files, json.dumps(data), name="nodes.json")
    insecure, second = load_nodes_file(path)
    assert insecure.known_hosts is None
    assert second.allowed_log_dirs == (Path("/srv/logs"), Path("/var/log/sim"))


def test_empty_host_list_is_valid(key_files: Path) -> None:
    assert load_nodes_file(write_nodes(key_files, {"hosts": []})) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("hosts: [", r"not valid YAML/JSON"),
        ([entry()], r"exactly one key, 'hosts'"),
        ({"hosts": [entry()], "extra": 1}, r"exactly one key, 'hosts'"),
        ({"hosts": {"a": 1}}, r"'hosts' must be a list"),
        ({"hosts": ["10.0.0.5"]}, r"hosts\[0\]: must be a mapping"),
        ({"hosts": [entry(host=...)]}, r"hosts\[0\]\.host: required"),
        ({"hosts": [entry(host="")]}, r"hosts\[0\]\.host: must be a non-empty string"),
        ({"hosts": [entry(host="a b")]}, r"hosts\[0\]\.host: must not contain whitespace"),
        ({"hosts": [entry(user=...)]}, r"hosts\[0\]\.user: required"),
        ({"hosts": [entry(user=5)]}, r"hosts\[0\]\.user: must be a non-empty string"),
        ({"hosts": [entry(port="22")]}, r"hosts\[0\]\.port: must be an integer"),
        ({"hosts": [entry(port=70000)]}, r"hosts\[0\]\.port: must be an integer"),
        ({"hosts": [entry(port=True)]}, r"hosts\[0\]\.port: must be an integer"),
        ({"hosts": [entry(key_file=...)]}, r"hosts\[0\]\.key_file: required"),
        ({"hosts": [entry(key_file="nope")]}, r"hosts\[0\]\.key_file: no such file: .*nope"),
        (
            {"hosts": [entry(known_hosts=...)]},
            r"hosts\[0\]\.known_hosts: required .*insecure_no_host_key_check",
        ),
        (
            {"hosts": [entry(insecure_no_host_key_check=True)]},
            r"hosts\[0\]: set either known_hosts or insecure_no_host_key_check",
        ),
        (
            {"hosts": [entry(known_hosts=..., insecure_no_host_key_check="yes")]},
            r"insecure_no_host_key_check: must be true or false",
        ),
        ({"hosts": [entry(allowed_log_dirs=[])]}, r"allowed_log_dirs: must be a non-empty list"),
        (
            {"hosts": [entry(allowed_log_dirs="/var/log")]},
            r"allowed_log_dirs: must be a non-empty list",
        ),
        (
            {"hosts": [entry(allowed_log_dirs=["var/log"])]},
            r"allowed_log_dirs\[0\]: must be an absolute",
        ),
        (
            {"hosts": [entry(allowed_log_dirs=["/var/log", "/var/log/../../etc"])]},
            r"allowed_log_dirs\[1\]: must not contain '\.\.'",
        ),
        ({"hosts": [entry(allowed_log_dirs=["//"])]}, r"allowed_log_dirs\[0\]: '/' would"),
        ({"hosts": [entry(allowed_log_dir=["/x"])]}, r"unknown field\(s\) allowed_log_dir"),
        (
            {"hosts": [entry(), entry(name="b", host="node-b"), entry(name="c", port=22)]},
            r"hosts\[2\] \(c\) has the same host and user as hosts\[0\]",
        ),
        ({"hosts": [entry(name="")]}, r"hosts\[0\]\.name: must be a non-empty string"),
        (
            {"hosts": [entry(), entry(name="n2", port="x")]},
            r"hosts\[1\] \(n2\)\.port: must be an integer",
        ),
    ],
)
def test_bad_nodes_files_name_the_entry_and_field(
    key_files: Path, data: Any, fragment: str
) -> None:
    path = write_nodes(key_files, data)
    with pytest.raises(ValueError, match=fragment) as caught:
        load_nodes_file(path)
    assert str(path) in str(caught.value)


def test_nodes_file_refuses_a_key_readable_by_others(key_files: Path) -> None:
    (key_files / "id_node").chmod(0o640)
    with pytest.raises(ValueError, match=r"hosts\[0\]\.key_file: .*chmod 600"):
        load_nodes_file(write_nodes(key_files, {"hosts": [entry()]}))


def test_relative_nodes_file_path_gives_absolute_key_paths(
    key_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_nodes(key_files, {"hosts": [entry()]})
    monkeypatch.chdir(key_files)
    (host,) = load_nodes_file(Path("nodes.yaml"))
    assert host.key_file == key_files / "id_node" and host.key_file.is_absolute()


def test_missing_nodes_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_nodes_file(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("configured", "requested"),
    [("::1", "0:0:0:0:0:0:0:1"), ("Node-A.example.", "node-a.example"), ("10.0.0.5", "10.0.0.5")],
)
def test_host_names_and_addresses_are_compared_canonically(
    ssh: SSHTestServer, hosts: list[RemoteHost], configured: str, requested: str
) -> None:
    # A path refusal (not a host refusal) proves the host matched, and nothing connects.
    aliased = [dataclasses.replace(hosts[0], host=configured)]
    assert_forbidden(ssh, aliased, "outside the allowed", ip=requested, log_file_path="/etc/x")


def test_a_hard_link_inside_the_allowed_dir_is_refused(
    ssh: SSHTestServer, hosts: list[RemoteHost]
) -> None:
    secret = ssh.log_dir.parent / "hard-secret.txt"
    secret.write_text("do not leak either\n", encoding="utf-8")
    link = ssh.log_dir / "hard.log"
    if not link.exists():
        os.link(secret, link)
    with pytest.raises(RemoteLogForbidden, match="2 hard links") as caught:
        read(hosts, ssh, log_file_path=str(link))
    assert "do not leak" not in str(caught.value)
    assert read(hosts, ssh, log_file_path=str(ssh.log_dir / "sim_rank_0.log"), lines=1)


def test_the_link_count_of_an_sftp_v3_server_is_read_from_its_listing() -> None:
    from types import SimpleNamespace

    from evospikenet.server.remote_log import _listed_link_count

    class V3Listing:  # OpenSSH's sftp-server: no link count in attrs, only in long names
        async def readdir(self, path: str) -> list[SimpleNamespace]:
            assert path == "/var/log/app"
            return [
                SimpleNamespace(filename=name, longname=long, attrs=SimpleNamespace(nlink=None))
                for name, long in [
                    (b"other.log", b"-rw-r--r--    1 u g 5 Jan  1 00:00 other.log"),
                    (b"x.log", b"-rw-r--r--    2 u g 5 Jan  1 00:00 x.log"),
                    (b"odd.log", b"odd.log"),
                ]
            ]

    def count(name: str) -> int | None:
        return asyncio.run(_listed_link_count(V3Listing(), PurePosixPath("/var/log/app", name)))  # type: ignore[arg-type]

    assert count("x.log") == 2 and count("other.log") == 1
    assert count("odd.log") is None and count("missing.log") is None
