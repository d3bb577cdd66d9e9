"""geoip.py: download from a loopback stand-in, accept only country-level MaxMind DB
files (checked from their metadata), never replace a good file with a bad one."""

from __future__ import annotations

import gzip
import http.server
import io
import struct
import tarfile
import time

import pytest

from umami_support import load_script, run_script, serve

MARKER = b"\xab\xcd\xefMaxMind.com"


def _ctrl(kind: int, size: int) -> bytes:
    head = b""
    if size < 29:
        s = size
    elif size < 285:
        s, head = 29, bytes([size - 29])
    else:
        s, head = 30, (size - 285).to_bytes(2, "big")
    if kind <= 7:
        return bytes([(kind << 5) | s]) + head
    return bytes([s, kind - 7]) + head


def encode(value) -> bytes:
    if isinstance(value, bool):
        return _ctrl(14, int(value))
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, int):
        raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
        return _ctrl(9 if value >= 2**32 else 6, len(raw)) + raw
    if isinstance(value, float):
        return _ctrl(3, 8) + struct.pack(">d", value)
    if isinstance(value, dict):
        return _ctrl(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(encode(v) for v in value)
    raise TypeError(value)


def mmdb(database_type="GeoLite2-Country", built=None, major=2, node_count=1000) -> bytes:
    meta = {"binary_format_major_version": major, "binary_format_minor_version": 0,
            "build_epoch": int(built if built is not None else time.time() - 86400),
            "database_type": database_type, "description": {"en": "test"}, "ip_version": 6,
            "languages": ["en"], "node_count": node_count, "record_size": 24}
    return b"\x00" * 4096 + b"\x00" * 16 + MARKER + encode(meta)


def targz(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Files(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    seen: list = []

    def do_GET(self):
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        body = self.files.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        status, body = body if isinstance(body, tuple) else (200, body)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def files():
    Files.files, Files.seen = {}, []
    with serve(Files) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}", Files


def fetch(url, out, *extra, env=None):
    return run_script("geoip.py", "fetch", "--source", "dbip", "--url", url, "--out", str(out), *extra,
                      env=env or {})


def test_metadata_reader_roundtrip():
    geo = load_script("geoip")
    meta = geo.read_metadata(mmdb("DBIP-Country-Lite"))
    assert meta["database_type"] == "DBIP-Country-Lite" and meta["languages"] == ["en"]


@pytest.mark.parametrize("name,payload", [
    ("/country.mmdb.gz", lambda: gzip.compress(mmdb("DBIP-Country-Lite"))),
    ("/country.tar.gz", lambda: targz("GeoLite2-Country_20260101/GeoLite2-Country.mmdb", mmdb())),
    ("/country.mmdb", lambda: mmdb()),
])
def test_fetch_installs_a_country_database(files, tmp_path, name, payload):
    base, handler = files
    handler.files[name] = payload()
    out = tmp_path / "geo" / "GeoLite2-Country.mmdb"
    result = fetch(base + name, out)
    assert result.returncode == 0, result.stderr
    assert b"Country" in out.read_bytes() and oct(out.stat().st_mode)[-3:] == "644"
    assert "restart Umami" in result.stdout


@pytest.mark.parametrize("payload,message", [
    (lambda: gzip.compress(mmdb("GeoLite2-City")), "city database"),
    (lambda: mmdb("GeoIP2-ISP"), "not a country database"),
    (lambda: mmdb(built=time.time() - 400 * 86400), "days ago"),
    (lambda: mmdb(major=3), "format version"),
    (lambda: b"<html>rate limited</html>", "not a MaxMind DB"),
    (lambda: b"\x1f\x8bbroken", "broken gzip"),
    (lambda: targz("a/readme.txt", b"x"), "expected one .mmdb"),
])
def test_bad_downloads_never_replace_the_current_file(files, tmp_path, payload, message):
    base, handler = files
    handler.files["/db"] = payload()
    out = tmp_path / "GeoLite2-Country.mmdb"
    out.write_bytes(b"current")
    result = fetch(base + "/db", out)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == b"current"


def test_http_error_is_reported(files, tmp_path):
    base, _ = files
    result = fetch(base + "/missing", tmp_path / "x.mmdb")
    assert result.returncode == 1 and "HTTP 404" in result.stderr


def test_maxmind_sends_basic_auth_and_needs_credentials(files, tmp_path):
    base, handler = files
    handler.files["/mm"] = targz("GeoLite2-Country_20260101/GeoLite2-Country.mmdb", mmdb())
    out = tmp_path / "c.mmdb"
    no_creds = run_script("geoip.py", "fetch", "--source", "maxmind", "--url", base + "/mm", "--out", str(out),
                          "--env-file", str(tmp_path / "none"))
    assert no_creds.returncode == 2 and "MAXMIND_LICENSE_KEY" in no_creds.stderr
    env = {"MAXMIND_ACCOUNT_ID": "12345", "MAXMIND_LICENSE_KEY": "test-only-key"}
    result = run_script("geoip.py", "fetch", "--source", "maxmind", "--url", base + "/mm", "--out", str(out),
                        "--env-file", str(tmp_path / "none"), env=env)
    assert result.returncode == 0, result.stderr
    assert handler.seen[-1][1] == "Basic MTIzNDU6dGVzdC1vbmx5LWtleQ=="  # 12345:test-only-key


def test_refuses_plain_http_to_other_hosts(tmp_path):
    result = fetch("http://downloads.example.org/db.mmdb", tmp_path / "x.mmdb")
    assert result.returncode == 2 and "refusing" in result.stderr


def test_default_sources_use_https():
    geo = load_script("geoip")
    import datetime as dt
    assert geo.default_url("maxmind", dt.date(2026, 3, 1)).startswith("https://download.maxmind.com/")
    assert geo.default_url("dbip", dt.date(2026, 3, 1)).endswith("dbip-country-lite-2026-03.mmdb.gz")
    assert geo.previous_month(dt.date(2026, 1, 5)) == dt.date(2025, 12, 31)


def test_check_command(tmp_path):
    good, city = tmp_path / "good.mmdb", tmp_path / "city.mmdb"
    good.write_bytes(mmdb())
    city.write_bytes(mmdb("GeoLite2-City"))
    assert run_script("geoip.py", "check", str(good)).returncode == 0
    result = run_script("geoip.py", "check", str(city))
    assert result.returncode == 1 and "city" in result.stderr
    assert run_script("geoip.py", "check", str(tmp_path / "nope")).returncode == 2
