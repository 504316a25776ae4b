"""A small asyncio MQTT 3.1.1 client: what one virtual recorder needs, nothing more.

CONNECT (credentials, last will, keep-alive), PUBLISH at QoS 0/1 waiting for the PUBACK,
SUBSCRIBE, incoming PUBLISH (acknowledged at QoS 1), PINGREQ, DISCONNECT, and `abort()`,
which drops the TCP connection without a DISCONNECT, as a recorder losing 4G does (the
broker then publishes the last will).  Written on asyncio streams rather than paho so that
a thousand connections cost two small tasks each and no thread (docs/simulator.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK = 0x10, 0x20, 0x30, 0x40
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x82, 0x90, 0xC0, 0xD0, 0xE0
MAX_PACKET_ID = 0xFFFF


class MqttError(Exception):
    """The connection failed, was refused, or was lost."""


class ConnectionRefused(MqttError):
    def __init__(self, code: int) -> None:
        super().__init__(f"CONNACK return code {code}")
        self.code = code


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _packet(first: int, body: bytes) -> bytes:
    return bytes([first]) + _remaining_length(len(body)) + body


def connect_packet(
    client_id: str,
    *,
    username: str | None,
    password: str | None,
    keepalive: int,
    clean_session: bool,
    will: Will | None,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _string(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3)
        payload += _string(will.topic) + _string(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
    if password is not None:
        flags |= 0x40
        payload += _string(password)
    header = _string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive)
    return _packet(CONNECT, header + payload)


def publish_packet(topic: str, payload: bytes, *, qos: int, packet_id: int, dup: bool) -> bytes:
    first = PUBLISH | (qos << 1) | (0x08 if dup and qos else 0)
    body = _string(topic) + (struct.pack("!H", packet_id) if qos else b"") + payload
    return _packet(first, body)


class MqttClient:
    """One connection; `connect()` again after a loss (a fresh session each time)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 60,
        will: Will | None = None,
        on_message: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.client_id = client_id
        self.username, self.password = username, password
        self.keepalive = keepalive
        self.will = will
        self.on_message = on_message
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._next_id = 0

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def connect(self, *, wait_seconds: float = 10.0) -> None:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), wait_seconds
            )
        except (OSError, TimeoutError) as exc:
            raise MqttError(f"cannot reach {self.host}:{self.port}: {exc}") from exc
        writer.write(
            connect_packet(
                self.client_id,
                username=self.username,
                password=self.password,
                keepalive=self.keepalive,
                clean_session=True,
                will=self.will,
            )
        )
        try:
            first, body = await asyncio.wait_for(_read_packet(reader), wait_seconds)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            writer.close()
            raise MqttError(f"no CONNACK: {exc!r}") from exc
        if first & 0xF0 != CONNACK or len(body) != 2:
            writer.close()
            raise MqttError("expected CONNACK")
        if body[1] != 0:
            writer.close()
            raise ConnectionRefused(body[1])
        self._reader, self._writer = reader, writer
        self._tasks = [
            asyncio.create_task(self._read_loop(reader)),
            asyncio.create_task(self._ping_loop(writer)),
        ]

    def _packet_id(self) -> int:
        self._next_id = self._next_id % MAX_PACKET_ID + 1
        return self._next_id

    async def _request(self, packet: bytes, packet_id: int, wait_seconds: float) -> bytes:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise MqttError("not connected")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[packet_id] = future
        try:
            writer.write(packet)
            await writer.drain()
            return await asyncio.wait_for(future, wait_seconds)
        except (OSError, TimeoutError) as exc:
            raise MqttError(f"no answer: {exc!r}") from exc
        finally:
            self._pending.pop(packet_id, None)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        dup: bool = False,
        wait_seconds: float = 15.0,
    ) -> None:
        """Send; at QoS 1 return once the broker's PUBACK came (MqttError otherwise)."""
        if qos == 0:
            writer = self._writer
            if writer is None or writer.is_closing():
                raise MqttError("not connected")
            writer.write(publish_packet(topic, payload, qos=0, packet_id=0, dup=False))
            await writer.drain()
            return
        packet_id = self._packet_id()
        packet = publish_packet(topic, payload, qos=1, packet_id=packet_id, dup=dup)
        await self._request(packet, packet_id, wait_seconds)

    async def subscribe(
        self, topic_filter: str, *, qos: int = 1, wait_seconds: float = 10.0
    ) -> int:
        """The granted QoS (0x80: refused)."""
        packet_id = self._packet_id()
        body = struct.pack("!H", packet_id) + _string(topic_filter) + bytes([qos])
        answer = await self._request(_packet(SUBSCRIBE, body), packet_id, wait_seconds)
        return answer[-1] if answer else 0x80

    async def disconnect(self) -> None:
        """A clean goodbye: DISCONNECT, so the broker drops the last will."""
        writer = self._writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(OSError):
                writer.write(_packet(DISCONNECT, b""))
                await writer.drain()
        await self._close()

    def abort(self) -> None:
        """Lose the connection abruptly (no DISCONNECT): the broker sends the last will."""
        writer = self._writer
        if writer is not None:
            writer.transport.abort()
        self._lost("aborted")

    async def _close(self) -> None:
        writer = self._writer
        self._lost("closed")
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()

    def _lost(self, why: str) -> None:
        self._writer = None
        self._reader = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(MqttError(f"connection {why}"))
        self._pending.clear()
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._tasks = []

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                first, body = await _read_packet(reader)
                self._dispatch(first, body)
        except (OSError, asyncio.IncompleteReadError, MqttError):
            if self._reader is reader:
                self._lost("lost")

    def _dispatch(self, first: int, body: bytes) -> None:
        kind = first & 0xF0
        if kind in (PUBACK, SUBACK & 0xF0):
            (packet_id,) = struct.unpack("!H", body[:2])
            future = self._pending.get(packet_id)
            if future is not None and not future.done():
                future.set_result(body[2:])
        elif kind == PUBLISH:
            self._incoming(first, body)

    def _incoming(self, first: int, body: bytes) -> None:
        qos = (first >> 1) & 0x03
        (length,) = struct.unpack("!H", body[:2])
        topic = body[2 : 2 + length].decode()
        offset = 2 + length
        if qos:
            packet_id = body[offset : offset + 2]
            offset += 2
            if self._writer is not None:
                self._writer.write(_packet(PUBACK, packet_id))
        if self.on_message is not None:
            self.on_message(topic, body[offset:])

    async def _ping_loop(self, writer: asyncio.StreamWriter) -> None:
        interval = max(1.0, self.keepalive / 2)
        with contextlib.suppress(OSError, ConnectionError):
            while not writer.is_closing():
                await asyncio.sleep(interval)
                writer.write(_packet(PINGREQ, b""))
                await writer.drain()


async def _read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = await reader.readexactly(1)
    length, shift = 0, 0
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    else:
        raise MqttError("malformed remaining length")
    body = await reader.readexactly(length) if length else b""
    return header[0], body
