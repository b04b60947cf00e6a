"""The connection's writes (``relay.http.connection``): what the socket takes is written at
once, and whatever it does not take follows through hypercorn's path, in order."""

from __future__ import annotations

import trio
import trio.testing
from hypercorn.config import Config
from hypercorn.events import RawData

from relay.http.connection import RelayTCPServer, write_now

BIG = bytes(range(256)) * (16 * 1024)  # 4 MiB: more than a socket pair buffers


def socket_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    left, right = trio.socket.socketpair()
    return trio.SocketStream(left), trio.SocketStream(right)


async def read_all(stream: trio.SocketStream, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        chunk = await stream.receive_some()
        assert chunk, "the writer closed early"
        received += chunk
    return bytes(received)


async def test_write_now_writes_what_the_socket_takes() -> None:
    ours, peer = socket_pair()
    async with ours, peer:
        assert write_now(ours, trio.Lock(), b"data: x\n\n") == 9
        assert await peer.receive_some() == b"data: x\n\n"


async def test_write_now_waits_its_turn_behind_a_write_in_flight() -> None:
    ours, peer = socket_pair()
    lock = trio.Lock()
    async with ours, peer:
        await lock.acquire()
        assert write_now(ours, lock, b"late") == 0
        lock.release()


async def test_write_now_writes_part_of_what_does_not_fit() -> None:
    ours, peer = socket_pair()
    async with ours, peer:
        written = write_now(ours, trio.Lock(), BIG)
        assert 0 < written < len(BIG)
        assert write_now(ours, trio.Lock(), b"more") == 0  # full: nothing, no error


async def test_write_now_leaves_a_broken_connection_to_the_ordinary_path() -> None:
    ours, peer = socket_pair()
    async with ours:
        await peer.aclose()
        results = {write_now(ours, trio.Lock(), b"x") for _ in range(3)}
    assert 0 in results  # EPIPE / ECONNRESET: reported as nothing written, not raised


async def test_a_write_the_socket_takes_in_part_keeps_its_order_with_the_next() -> None:
    ours, peer = socket_pair()
    server = RelayTCPServer(None, Config(), None, None, ours)
    async with ours, peer, trio.open_nursery() as nursery:
        nursery.start_soon(server.protocol_send, RawData(data=BIG))
        await trio.testing.wait_all_tasks_blocked()  # the rest of BIG waits for room
        nursery.start_soon(server.protocol_send, RawData(data=b"tail"))
        await trio.testing.wait_all_tasks_blocked()
        assert await read_all(peer, len(BIG) + 4) == BIG + b"tail"


async def test_a_cancelled_writer_writes_nothing() -> None:
    ours, peer = socket_pair()
    server = RelayTCPServer(None, Config(), None, None, ours)
    async with ours, peer:
        with trio.CancelScope() as scope:
            scope.cancel()
            await server.protocol_send(RawData(data=b"never"))
        assert scope.cancelled_caught
        await server.protocol_send(RawData(data=b"next"))
        assert await peer.receive_some() == b"next"
