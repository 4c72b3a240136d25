"""Helpers for the policy and AgentPin end-to-end tests: a test CA and a
server certificate made with the `openssl` command, and a real HTTPS server
on 127.0.0.1 serving /.well-known/agent-identity.json (swappable, counted)."""
import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def make_ca(d: Path, host: str):
    """Writes ca.pem (a test CA) and server.pem/server.key for `host`, signed by it."""
    def sh(*args):
        subprocess.run(args, check=True, capture_output=True, cwd=d)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=symbi test CA",
       "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={host}")
    (d / "ext.cnf").write_text(f"subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
       "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return d / "ca.pem", d / "server.pem", d / "server.key"


class DiscoveryServer:
    """HTTPS server answering GET /.well-known/agent-identity.json with `doc`."""

    def __init__(self, cert: Path, key: Path):
        self.doc = b"{}"
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/.well-known/agent-identity.json":
                    self.send_response(404)
                    self.end_headers()
                    return
                outer.hits += 1
                body = outer.doc
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve_file(self, path: Path):
        self.doc = Path(path).read_bytes()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def keygen(symbi, out: Path, kid: str, domain: str):
    out.mkdir(parents=True, exist_ok=True)
    symbi.run("agentpin", "keygen", "--kid", kid, "--out", out, "--domain", domain, check=True)
    return out / f"{kid}.key.pem", out / "agent-identity.json", out / "trust-bundle.json"


def issue(symbi, key: Path, kid: str, iss: str, sub: str, ttl="1h", der=False, caps=None):
    args = ["agentpin", "issue", "--key", key, "--kid", kid, "--iss", iss, "--sub", sub,
            "--ttl", ttl]
    if der:
        args.append("--der")
    if caps:
        args += ["--capabilities", ",".join(caps)]
    return symbi.run(*args, check=True).stdout.strip()


def load(path: Path):
    return json.loads(Path(path).read_text())
