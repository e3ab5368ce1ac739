"""A real SMTP server for the onboarding tests (aiosmtpd), STARTTLS required.

Usage: server.py PORT DIR [plain]

Makes a throwaway CA and a certificate for localhost signed by it (DIR/ca.pem
is what the client trusts), then serves on 127.0.0.1:PORT, refusing mail
before STARTTLS. Each message is written to DIR/mail-N.eml, its first lines
the envelope (X-Envelope-To, X-TLS). Prints "ready" once it accepts
connections and runs until killed. With "plain" it offers no STARTTLS at
all (a server a client must refuse to send a pass to).
"""

import asyncio
import datetime
import ipaddress
import pathlib
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def certificates(out: pathlib.Path) -> ssl.SSLContext:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Onramp test SMTP CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (out / "ca.pem").write_bytes(ca.public_bytes(pem))
    (out / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (out / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(out / "cert.pem", out / "key.pem")
    return ctx


class Recorder:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        head = "".join(f"X-Envelope-To: {r}\r\n" for r in envelope.rcpt_tos)
        head += f"X-TLS: {'yes' if session.ssl else 'no'}\r\n"
        body = envelope.original_content or envelope.content
        if isinstance(body, str):
            body = body.encode()
        tmp = self.out / f".mail-{self.count}.tmp"
        tmp.write_bytes(head.encode() + body)
        # Whole files only: the test polls for them.
        tmp.rename(self.out / f"mail-{self.count}.eml")
        return "250 OK"


def main() -> None:
    port, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    if sys.argv[3:] == ["plain"]:
        controller = Controller(Recorder(out), hostname="127.0.0.1", port=port)
    else:
        controller = Controller(
            Recorder(out),
            hostname="127.0.0.1",
            port=port,
            tls_context=certificates(out),
            require_starttls=True,
        )
    controller.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.run_until_complete(stop.wait())
    controller.stop()


if __name__ == "__main__":
    main()
