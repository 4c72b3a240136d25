"""smtp_server.py - a real SMTP server on 127.0.0.1 for delivery tests
(Debian's python3-aiosmtpd). Prints "PORT <n>" once listening, runs until
killed. Modes: accept (each message appended to --out as a JSON line),
reject (every recipient refused with 550), drop (greets, then closes the
connection after the client's first command). --user/--password require
AUTH (allowed without TLS, for the test)."""
import argparse
import asyncio
import email
import email.policy
import json
import logging
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with open(self.out, "a") as f:
            f.write(json.dumps({
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "headers": {k: str(v) for k, v in msg.items()},
                "body": msg.get_content().replace("\r\n", "\n"),
                "auth": bool(session.authenticated),
            }) + "\n")
        return "250 2.0.0 OK queued as test"


class Reject(Store):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: no such user"


async def drop(reader, writer):
    writer.write(b"220 drop.test ESMTP\r\n")
    await writer.drain()
    await reader.readline()
    writer.close()


def main():
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="accept", choices=["accept", "reject", "drop"])
    ap.add_argument("--out", default="/dev/null")
    ap.add_argument("--user")
    ap.add_argument("--password")
    a = ap.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    if a.mode == "drop":
        server = loop.run_until_complete(asyncio.start_server(drop, "127.0.0.1", 0))
    else:
        handler = Store(a.out) if a.mode == "accept" else Reject(a.out)
        kw = {}
        if a.user:
            def check(server, session, envelope, mechanism, auth_data):
                ok = (isinstance(auth_data, LoginPassword) and
                      auth_data.login.decode() == a.user and
                      auth_data.password.decode() == a.password)
                return AuthResult(success=ok)
            kw = dict(authenticator=check, auth_required=True, auth_require_tls=False)
        server = loop.run_until_complete(loop.create_server(
            lambda: SMTP(handler, hostname="smtp.test", **kw), "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    sys.stdout.close()
    loop.run_forever()


if __name__ == "__main__":
    main()
