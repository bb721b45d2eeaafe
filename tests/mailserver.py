"""A real SMTP server in the test process (aiosmtpd), to receive what the app sends."""

import asyncio
import email
import email.policy
import socket
import time

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    """Accepts mail, or refuses the next `refuse` messages with a temporary error (451), or holds the
    next `hold` conversations at RCPT (before any message is accepted) until `release()`."""

    def __init__(self):
        self.messages = []
        self.refuse = 0
        self.refused = 0
        self.hold = 0
        self.held = 0
        self.released = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold:
            self.hold -= 1
            self.held += 1
            while not self.released:
                await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def release(self):
        self.released = True

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 Mail server busy, try again later"
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages

    def wait_until_held(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not self.held and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.held


class MailServer:
    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self):
        return self.handler.messages

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"
