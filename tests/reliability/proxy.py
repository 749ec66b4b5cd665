"""A fault-injecting TCP proxy on 127.0.0.1 for tests: forwards to a server and, on demand,
delays traffic, cuts a connection after so many bytes of the server's reply, or drops every
connection at once."""

from __future__ import annotations

import asyncio
import contextlib


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.delay = 0.0
        # Close a connection once this many more bytes came from the server (None: never).
        self.cut_after: int | None = None
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    def drop_all(self) -> None:
        """The network fails: every open connection closes at once, both ways."""
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._links.update((client_w, server_w))
        up = asyncio.create_task(self._pump(client_r, server_w, (client_w, server_w), from_server=False))
        down = asyncio.create_task(self._pump(server_r, client_w, (client_w, server_w), from_server=True))
        self._tasks.update((up, down))
        up.add_done_callback(self._tasks.discard)
        down.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
        from_server: bool,
    ) -> None:
        try:
            while data := await reader.read(4096):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if from_server and self.cut_after is not None:
                    if len(data) >= self.cut_after:
                        writer.write(data[: self.cut_after])
                        self.cut_after = None
                        for w in pair:
                            w.transport.abort()
                        return
                    self.cut_after -= len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for w in pair:
                w.transport.abort()
                self._links.discard(w)
