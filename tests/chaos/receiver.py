"""A slow webhook receiver on 127.0.0.1 for the chaos suite: every POST is
noted (its run_id) and answered after `delay` seconds, so a test can kill the
daemon while a delivery is in flight."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class SlowReceiver:
    def __init__(self, delay=2.0):
        self.delay = delay
        self.run_ids = []
        self.arrived = threading.Condition()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                try:
                    rid = json.loads(body).get("run_id")
                except ValueError:
                    rid = None
                with rec.arrived:
                    rec.run_ids.append(rid)
                    rec.arrived.notify_all()
                threading.Event().wait(rec.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def wait_new(self, seen, timeout):
        """Waits for a POST after the first `seen` ones; True when one came."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.run_ids) > seen, timeout=timeout)

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
