#!/usr/bin/env python3
"""A tiny token service for the registry's bearer-token auth (e2e tests only).

Grants every scope asked for to berthuser:berthpass and nothing to anyone
else. Tokens are JWTs signed RS256 with openssl; the signing certificate goes
in the x5c header, and the registry trusts it through its rootcertbundle.

A GET with offline_token=true (docker login) also returns a refresh_token, the
identity token; a POST with grant_type=refresh_token and one of those gets an
access_token (OAuth2, as Docker's client sends it). Each request is logged to
PORT_FILE.requests as "GET basic|anonymous" or "POST refresh_token ok|bad".

Usage: token_server.py PORT_FILE KEY CERT ISSUER
"""
import base64
import http.server
import json
import subprocess
import sys
import secrets
import time
import urllib.parse

PORT_FILE, KEY, CERT, ISSUER = sys.argv[1:5]
REFRESH_TOKENS = set()
CERT_DER = subprocess.run(["openssl", "x509", "-in", CERT, "-outform", "DER"],
                          check=True, capture_output=True).stdout


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(payload):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", KEY],
                               input=signing_input.encode(), check=True,
                               capture_output=True).stdout
    return signing_input + "." + b64(signature)


def note(line):
    with open(PORT_FILE + ".requests", "a") as f:
        f.write(line + "\n")


def access_for(scopes):
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1],
                               "actions": parts[2].split(",")})
    return access


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, payload=None):
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type") != ["refresh_token"]:
            note("POST " + ",".join(form.get("grant_type", ["none"])) + " bad")
            self.reply(400, {"error": "unsupported_grant_type"})
            return
        if form.get("refresh_token", [""])[0] not in REFRESH_TOKENS:
            note("POST refresh_token bad")
            self.reply(401, {"error": "invalid_grant"})
            return
        note("POST refresh_token ok")
        now = int(time.time())
        token = sign({"iss": ISSUER, "sub": "berthuser", "aud": form.get("service", [""])[0],
                      "exp": now + 300, "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8),
                      "access": access_for(form.get("scope", []))})
        self.reply(200, {"access_token": token, "expires_in": 300})

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        expected = "Basic " + base64.b64encode(b"berthuser:berthpass").decode()
        authorized = self.headers.get("Authorization") == expected
        access = []
        for scope in query.get("scope", []):
            parts = scope.split(":")
            if authorized and len(parts) == 3:
                access.append({"type": parts[0], "name": parts[1],
                               "actions": parts[2].split(",")})
        if self.headers.get("Authorization") and not authorized:
            self.send_response(401)
            self.end_headers()
            return
        now = int(time.time())
        token = sign({"iss": ISSUER, "sub": "berthuser" if authorized else "",
                      "aud": query.get("service", [""])[0], "exp": now + 300,
                      "nbf": now - 10, "iat": now, "jti": str(now), "access": access})
        note("GET " + ("basic" if authorized else "anonymous"))
        answer = {"token": token, "expires_in": 300}
        if authorized and query.get("offline_token") == ["true"]:
            answer["refresh_token"] = secrets.token_hex(16)
            REFRESH_TOKENS.add(answer["refresh_token"])
        self.reply(200, answer)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
