"""The one bridge between this machine's loopback, where the API server listens (127.0.0.1 only),
and the node's network namespace, where kubelet, kube-proxy and the pods live.

  into the node:   listening sockets created inside the node's namespace (on its 127.0.0.1 and on
                   the node's address), each connection relayed to the same port on this
                   machine's 127.0.0.1: the API server's, and with --forward the simulator's and
                   the object store's. kubelet and kube-proxy use https://127.0.0.1:<port> as on
                   the host; pods reach the `kubernetes` Service, which kube-proxy routes to the
                   node's address, and the simulator and object store at the node's address.
  out of the node: a unix socket speaking HTTP CONNECT, the API server's egress selector for the
                   "cluster" network (kubelet logs, exec, port-forward): each CONNECT is dialled
                   from inside the node's namespace, to the node's or a pod's address only.

One process, one thread, asyncio: a socket belongs to the namespace it was created in, so the
relay switches its thread into the node's namespace just to create a socket, and back.

    python -m sagemaker_ack_kfp.stack.relay --netns /run/netns/NAME --api-port PORT \
        --listen 127.0.0.1 --listen 10.200.0.2 --forward SIMULATOR_PORT \
        --egress-socket PATH --egress-allow 10.200.0.0/24 ...
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_MAX_HEADER = 8192


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Namespaces:
    def __init__(self, node_netns: str) -> None:
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.node = os.open(node_netns, os.O_RDONLY)

    @contextlib.contextmanager
    def inside_node(self) -> Iterator[None]:
        """Sockets created in this block belong to the node's namespace."""
        _setns(self.node)
        try:
            yield
        finally:
            _setns(self.home)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            if writer.can_write_eof():
                writer.write_eof()


async def _splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    try:
        await asyncio.gather(_pipe(a[0], b[1]), _pipe(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()


class Relay:
    def __init__(self, namespaces: Namespaces, api_port: int, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self.namespaces = namespaces
        self.api_port = api_port
        self.allowed = allowed

    def into_host_port(self, port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        """A connection handler relaying to `port` on this machine's loopback."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                writer.close()
                return
            await _splice((reader, writer), upstream)

        return handle

    async def egress(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP CONNECT host:port from the API server, dialled inside the node's namespace."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        request = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        target = self._target(request)
        if target is None:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        with self.namespaces.inside_node():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, target), timeout=10)
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            writer.write(f"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nX-Reason: {exc}\r\n\r\n".encode())
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _splice((reader, writer), await asyncio.open_connection(sock=sock))

    def _target(self, request: list[str]) -> tuple[str, int] | None:
        if len(request) < 2 or request[0] != "CONNECT":
            return None
        host, _, port = request[1].rpartition(":")
        try:
            address = ipaddress.ip_address(host.strip("[]"))
            number = int(port)
        except ValueError:
            return None
        if not any(address in network for network in self.allowed) or not 0 < number < 65536:
            return None
        return str(address), number


async def serve(args: argparse.Namespace) -> None:
    namespaces = Namespaces(args.netns)
    relay = Relay(namespaces, args.api_port, [ipaddress.ip_network(n) for n in args.egress_allow])
    ports = list(dict.fromkeys([args.api_port, *args.forward]))
    listeners: list[tuple[int, socket.socket]] = []
    with namespaces.inside_node():
        for port in ports:
            for address in args.listen:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                sock.listen(128)
                sock.setblocking(False)
                listeners.append((port, sock))
    servers = [await asyncio.start_server(relay.into_host_port(port), sock=sock) for port, sock in listeners]
    with contextlib.suppress(FileNotFoundError):
        os.unlink(args.egress_socket)
    servers.append(await asyncio.start_unix_server(relay.egress, path=args.egress_socket, limit=_MAX_HEADER))
    os.chmod(args.egress_socket, 0o600)
    print(f"relay: node {','.join(args.listen)}:{{{','.join(map(str, ports))}}} -> 127.0.0.1:(same port); "
          f"egress {args.egress_socket} -> {','.join(args.egress_allow)}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(args.egress_socket)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_ack_kfp.stack.relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--netns", required=True, help="the node's network namespace (a /run/netns path)")
    parser.add_argument("--api-port", type=int, required=True, help="the API server's port on this machine's 127.0.0.1")
    parser.add_argument("--listen", action="append", required=True, help="an address inside the node's namespace")
    parser.add_argument("--forward", action="append", type=int, default=[],
                        help="another loopback port to relay into the node (the simulator's, the object store's)")
    parser.add_argument("--egress-socket", required=True, help="unix socket for the API server's egress selector")
    parser.add_argument("--egress-allow", action="append", required=True, help="a network CONNECT may reach")
    asyncio.run(serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
