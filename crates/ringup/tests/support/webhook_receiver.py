"""A webhook receiver for ringup's tests: verifies every request with the reference
Standard Webhooks library and records what it got.

    python3 webhook_receiver.py PORT DIR

Each endpoint is a path (`/a`, `/slow`, ...). Before answering, the receiver reads
DIR/control.json (rewritten by the test whenever it wants), of the shape

    {"<path name>": {"secrets": ["whsec_..."], "mode": "ok" | "fail" | "redirect" | "sleep:<s>"}}

and verifies the request with `standardwebhooks.webhooks.Webhook(secret).verify(body, headers)`
once per secret listed, independently. It appends one JSON line per request to
DIR/received.jsonl: the path, the three webhook headers, the body, which secrets verified it
(`verified`, one boolean per secret, in order), the status it answered and when. A request is
recorded as `started` in DIR/started.jsonl as soon as it arrives (before any sleep), so a test
can tell a delivery is in flight.

Modes: `ok` answers 204; `fail` 500; `redirect` 302 to /elsewhere; `sleep:<s>` waits s seconds,
then answers 204; `flaky:<k>` answers 500 to every k-th request to the path, 204 to the others.
A path not in control.json answers 404.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

PORT = int(sys.argv[1])
DIR = sys.argv[2]
LOCK = threading.Lock()
# Requests per path so far, for `flaky:<k>`.
COUNTS = {}


def control():
    try:
        with open(os.path.join(DIR, "control.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def append(name, record):
    line = json.dumps(record) + "\n"
    with LOCK:
        with open(os.path.join(DIR, name), "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def verify(secret, body, headers):
    try:
        Webhook(secret).verify(body, headers)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not verified"
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        name = self.path.strip("/")
        headers = {k.lower(): v for k, v in self.headers.items()}
        webhook_headers = {
            k: headers.get(k)
            for k in ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")
        }
        append("started.jsonl", {"path": name, "id": headers.get("webhook-id"), "at": time.time()})
        endpoint = control().get(name)
        if endpoint is None:
            status = 404
            verified = []
        else:
            verified = [verify(s, body, headers) for s in endpoint.get("secrets", [])]
            mode = endpoint.get("mode", "ok")
            if mode.startswith("sleep:"):
                time.sleep(float(mode.split(":", 1)[1]))
                status = 204
            elif mode == "fail":
                status = 500
            elif mode.startswith("flaky:"):
                every = int(mode.split(":", 1)[1])
                with LOCK:
                    COUNTS[name] = COUNTS.get(name, 0) + 1
                    n = COUNTS[name]
                status = 500 if n % every == 0 else 204
            elif mode == "redirect":
                status = 302
            else:
                status = 204
        append(
            "received.jsonl",
            {
                "path": name,
                "headers": webhook_headers,
                "body": body.decode("utf-8", "replace"),
                "verified": verified,
                "status": status,
                "at": time.time(),
            },
        )
        self.send_response(status)
        if status == 302:
            self.send_header("location", "/elsewhere")
        self.send_header("content-length", "0")
        self.end_headers()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    server.daemon_threads = True
    server.serve_forever()
