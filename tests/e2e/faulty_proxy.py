#!/usr/bin/env python3
"""A loopback HTTP proxy in front of a registry that misbehaves on demand.

usage: faulty_proxy.py PORT_FILE UPSTREAM(host:port) RULES_FILE LOG_FILE

Every request is forwarded to UPSTREAM (Host header kept, so the registry's
Location headers point back at the proxy) and logged as one line:
  <METHOD> <path> range=<Range or -> status=<code> bytes=<body bytes sent>
      t=<start>-<end> [fault=<fault>]
RULES_FILE (JSON, re-read when it changes) is a list of faults:
  {"path": "<substring of the path>", "method": "GET", "times": N (-1: always),
   "fault": "status" (arg: the code; "challenge": a WWW-Authenticate to send) | "drop" (arg: bytes, then the connection
   is closed mid-body) | "slow" (arg: bytes per second) | "corrupt" (one byte
   of the body flipped) | "truncate" (half the body, and a Content-Length that
   says so) | "garbage" (a 200 with a body that is not JSON) | "delay" (arg:
   seconds before the request is forwarded)}
The first rule that matches a request and has times left applies to it.
"""
import http.client
import json
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT_FILE, UPSTREAM, RULES_FILE, LOG_FILE = sys.argv[1:5]
LOCK = threading.Lock()
STATE = {"mtime": None, "rules": []}


def take_rule(method, path):
    with LOCK:
        try:
            mtime = os.stat(RULES_FILE).st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != STATE["mtime"]:
            STATE["mtime"] = mtime
            try:
                with open(RULES_FILE) as f:
                    STATE["rules"] = json.load(f)
            except (OSError, ValueError):
                STATE["rules"] = []
        for rule in STATE["rules"]:
            if rule.get("method", method) != method or rule.get("path", "") not in path:
                continue
            times = rule.get("times", -1)
            if times == 0:
                continue
            if times > 0:
                rule["times"] = times - 1
            return rule
    return None


def log(line):
    with LOCK:
        with open(LOG_FILE, "a") as f:
            f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        method, path = self.command, self.path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        rule = take_rule(method, path)
        fault = rule["fault"] if rule else None
        sent, status, started = 0, 0, time.time()
        if fault == "slow" and body:
            time.sleep(len(body) / int(rule.get("arg", 65536)))
        if fault == "delay":
            time.sleep(float(rule.get("arg", 1)))
        try:
            if fault == "status":
                status = int(rule.get("arg", 503))
                payload = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if rule.get("challenge"):
                    self.send_header("WWW-Authenticate", rule["challenge"])
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                return
            upstream = http.client.HTTPConnection(UPSTREAM, timeout=120)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "content-length")}
            upstream.request(method, path, body=body, headers=headers)
            response = upstream.getresponse()
            status = response.status
            data_length = response.getheader("Content-Length")
            if fault == "garbage":
                payload = b"this is not a manifest {"
                self.send_response(200)
                self.send_header("Content-Type",
                                 response.getheader("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                sent = len(payload)
                return
            limit = None
            if fault == "truncate" and data_length is not None:
                limit = int(data_length) // 2
                data_length = str(limit)
            self.send_response(status)
            for name, value in response.getheaders():
                if name.lower() in ("connection", "content-length", "transfer-encoding"):
                    continue
                self.send_header(name, value)
            if data_length is not None:
                self.send_header("Content-Length", data_length)
            self.send_header("Connection", "close")
            self.end_headers()
            if method == "HEAD":
                return
            flipped = False
            chunk_size = 65536
            if fault == "slow":
                chunk_size = max(1, int(rule.get("arg", 65536)) // 10)
            while True:
                want = chunk_size if limit is None else min(chunk_size, limit - sent)
                if want <= 0:
                    break
                chunk = response.read(want)
                if not chunk:
                    break
                if fault == "corrupt" and not flipped:
                    chunk = bytes([chunk[0] ^ 1]) + chunk[1:]
                    flipped = True
                if fault == "drop" and sent + len(chunk) >= int(rule.get("arg", 0)):
                    chunk = chunk[:max(0, int(rule.get("arg", 0)) - sent)]
                    self.wfile.write(chunk)
                    sent += len(chunk)
                    self.wfile.flush()
                    # The connection ends before the Content-Length is
                    # reached; every byte sent arrives (a RST could drop some).
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.connection.close()
                    return
                if fault == "slow":
                    time.sleep(0.1)
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            log(f"{method} {path} range={self.headers.get('Range') or '-'} "
                f"status={status} bytes={sent} t={started:.3f}-{time.time():.3f}" +
                (f" fault={fault}" if fault else ""))
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
