"""Helpers for the HTTP API end-to-end tests: start `symbi up` on a free
port (port 0, read back from its log), and a small client over http.client
that returns (status, headers, parsed body)."""
import http.client
import json
import re
import time

from slowness import SLOW

ERROR_KEYS = {"error", "code", "details"}


def start_api(symbi, daemons, *args, env=None, listen="127.0.0.1:0"):
    """Starts `symbi up --listen LISTEN` and returns (daemon, port)."""
    d = symbi.start("up", "--listen", listen, *args, env=env)
    daemons.append(d)
    out = d.wait_for(" port=", timeout=20)
    m = re.search(r"listening on \S+ port=(\d+)", out)
    assert m, out
    return d, int(m.group(1))


class Api:
    def __init__(self, port, host="127.0.0.1", key=None, timeout=10):
        self.host, self.port, self.key, self.timeout = host, port, key, timeout * SLOW

    def raw(self, method, path, body=None, headers=None):
        """Sends body (bytes/str/None) as is; returns (status, headers, text)."""
        c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        h = dict(headers or {})
        if self.key is not None and "Authorization" not in h:
            h["Authorization"] = f"Bearer {self.key}"
        if isinstance(body, str):
            body = body.encode()
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def call(self, method, path, obj=None, headers=None):
        """JSON in and out: returns (status, parsed body)."""
        h = dict(headers or {})
        body = None
        if obj is not None:
            body = json.dumps(obj)
            h.setdefault("Content-Type", "application/json")
        st, hd, data = self.raw(method, path, body, h)
        assert "content-length" in hd, (method, path, hd)
        assert int(hd["content-length"]) == len(data)
        if hd.get("content-type", "").startswith("application/json"):
            return st, json.loads(data)
        return st, data.decode()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, obj=None, **kw):
        return self.call("POST", path, obj, **kw)

    def put(self, path, obj=None, **kw):
        return self.call("PUT", path, obj, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


def assert_error(status, body, want_status=None):
    """The error shape of SPEC §9: exactly error, code, details."""
    if want_status is not None:
        assert status == want_status, (status, body)
    assert 400 <= status < 600, (status, body)
    assert isinstance(body, dict) and set(body) == ERROR_KEYS, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"].isupper()
    assert body["details"] is None or isinstance(body["details"], dict)


def wait_until(fn, timeout=10.0, interval=0.05):
    """Polls fn until it returns a truthy value; returns it."""
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met in {timeout}s (last: {last!r})")
