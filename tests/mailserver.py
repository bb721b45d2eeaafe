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
    """Accepts mail, or refuses the next `refuse` messages with `refuse_reply` (a temporary 451 unless
    told otherwise; every message while `refusing` is set), or refuses recipients with `refuse_rcpt`
    (e.g. "550 5.1.1 no such user"), or holds the next `hold` conversations at RCPT (before any message
    is accepted) until `release()`. `before_accept(envelope)` runs once the message is in, just before
    the "250" goes out (a fault injected at the moment the server has accepted it); `delay` seconds
    slow every DATA down."""

    def __init__(self):
        self.messages = []
        self.refuse = 0
        self.refusing = False
        self.refuse_reply = "451 4.3.0 Mail server busy, try again later"
        self.refuse_rcpt = ""
        self.refused = 0
        self.hold = 0
        self.held = 0
        self.released = False
        self.before_accept = None
        self.delay = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            self.refused += 1
            return self.refuse_rcpt
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
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse or self.refusing:
            self.refuse = max(self.refuse - 1, 0)
            self.refused += 1
            return self.refuse_reply
        if self.before_accept is not None:
            hook, self.before_accept = self.before_accept, None  # once
            hook(envelope)
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
