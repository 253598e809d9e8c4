/// The aiosmtpd launcher the tests run, kept in Swift so the test target has no unhandled resource file.
/// `SMTPTestServer` writes it to the test's temporary folder as `smtp_server.py`.
enum SMTPServerScript {
    static let source = #"""
"""A real SMTP server for the tests: aiosmtpd, storing each received message as a file.

Usage: smtp_server.py --dir DIR [--port N] [--cert PEM --key PEM] [--auth USER:PASSWORD]

Binds 127.0.0.1 (port 0 = a free one), prints "READY <port>" on stdout once it accepts connections, and exits
when its stdin closes (so it never outlives the test process). Each message is written atomically to
DIR/<n>.eml as: "X-Envelope-From: ...", "X-Envelope-To: a, b", then the message exactly as received
(CRLF line ends, after dot-unstuffing). With --cert/--key the server offers STARTTLS and requires it before
MAIL; with --auth it offers AUTH PLAIN/LOGIN after STARTTLS only and requires it.
"""
import argparse
import asyncio
import os
import socket
import ssl
import sys
import threading

try:
    from aiosmtpd.smtp import SMTP, AuthResult
except ImportError as error:  # the Swift helper turns this into a test failure
    sys.stderr.write(f"aiosmtpd is not importable by {sys.executable}: {error}\n")
    sys.exit(3)


class StoreHandler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8")
        name = os.path.join(self.directory, f"{self.count:06d}.eml")
        with open(name + ".tmp", "wb") as handle:
            handle.write(head + content)
        os.replace(name + ".tmp", name)
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth")
    args = parser.parse_args()

    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    authenticator = None
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            # handled=False: aiosmtpd then answers 535 itself (the default sends no reply at all).
            return AuthResult(success=ok, handled=False)

    handler = StoreHandler(args.dir)

    def factory():
        return SMTP(
            handler,
            hostname="test.smtp.local",
            tls_context=tls_context,
            require_starttls=tls_context is not None,
            authenticator=authenticator,
            auth_required=authenticator is not None,
            auth_require_tls=True,
            decode_data=False,
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(64)
    port = sock.getsockname()[1]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(factory, sock=sock))

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(1024):
                pass
        finally:
            os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write(f"READY {port}\n")
    sys.stdout.flush()
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
"""#
}
