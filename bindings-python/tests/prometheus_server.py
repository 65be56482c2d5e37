"""A real Prometheus for the tests (Debian's ``prometheus`` on loopback, temp storage) scraping a
small exporter the tests control: per-version request counters with a chosen error rate, and pod
CPU/memory/volume figures. The Python twin of tests/src/prometheus.rs."""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Optional

import pytest

import moorage
from conftest import cluster_required

#: Requests per second the exporter counts for every version.
REQUESTS_PER_SECOND = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Exporter:
    """``/metrics`` on loopback: ``http_requests_total{namespace,tenant,app,version,code}`` for the
    versions a test declares (each failing the share of requests it chooses), and per-pod
    ``container_cpu_usage_seconds_total``, ``container_memory_working_set_bytes`` and
    ``kubelet_volume_stats_capacity_bytes``. Counters grow with real time from the moment set."""

    def __init__(self, tenant: str, app: str) -> None:
        self.tenant, self.app = tenant, app
        self._lock = threading.Lock()
        # version -> [error fraction, requests, errors, last update]
        self._versions: dict[str, list[float]] = {}
        # (namespace, pod) -> (cores, memory bytes, volume bytes, since)
        self._pods: dict[tuple[str, str], tuple[float, float, float, float]] = {}
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def set_error_rate(self, version: str, fraction: float) -> None:
        with self._lock:
            entry = self._versions.setdefault(version, [0.0, 0.0, 0.0, time.monotonic()])
            entry[0] = fraction

    def set_usage(self, namespace: str, pod: str, cores: float, memory_bytes: float, volume_bytes: float) -> None:
        with self._lock:
            self._pods[(namespace, pod)] = (cores, memory_bytes, volume_bytes, time.monotonic())

    def render(self) -> str:
        now = time.monotonic()
        out = ["# TYPE http_requests_total counter"]
        with self._lock:
            for version, entry in self._versions.items():
                fraction, _, _, last = entry
                elapsed = now - last
                entry[1] += REQUESTS_PER_SECOND * elapsed
                entry[2] += REQUESTS_PER_SECOND * elapsed * fraction
                entry[3] = now
                labels = f'namespace="{self.tenant}",tenant="{self.tenant}",app="{self.app}",version="{version}"'
                out.append(f'http_requests_total{{{labels},code="200"}} {entry[1] - entry[2]}')
                out.append(f'http_requests_total{{{labels},code="500"}} {entry[2]}')
            for (namespace, pod), (cores, memory, volume, since) in self._pods.items():
                labels = f'namespace="{namespace}",pod="{pod}",container="app"'
                out.append(f"container_cpu_usage_seconds_total{{{labels}}} {cores * (now - since)}")
                out.append(f"container_memory_working_set_bytes{{{labels}}} {memory}")
                out.append(f'kubelet_volume_stats_capacity_bytes{{namespace="{namespace}",persistentvolumeclaim="{pod}-data"}} {volume}')
        return "\n".join(out) + "\n"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def prometheus_binary() -> Optional[str]:
    """``$MOORAGE_PROMETHEUS``, else ``prometheus`` on the PATH, else Debian's /usr/bin/prometheus."""
    explicit = os.environ.get("MOORAGE_PROMETHEUS")
    if explicit:
        return explicit
    return shutil.which("prometheus") or ("/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None)


class PrometheusServer:
    """Prometheus on loopback scraping ``targets`` every second, with its own storage."""

    def __init__(self, binary: str, targets: list[str]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="moorage-py-prometheus-"))
        (self.dir / "data").mkdir()
        listed = ", ".join(f"'{t}'" for t in targets)
        (self.dir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: [{listed}]\n"
        )
        port = free_port()
        self.address = f"http://127.0.0.1:{port}"
        self._log = open(self.dir / "prometheus.log", "wb")
        self._process: Optional[subprocess.Popen[bytes]] = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1d",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.address}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self._process.poll() is not None:
                log = (self.dir / "prometheus.log").read_text(errors="replace")
                self.close()
                raise RuntimeError(f"Prometheus was not ready within 60 s; its log:\n{log}")
            time.sleep(0.2)

    def wait_for_data(self, query: str, timeout: float = 60) -> list[tuple[dict[str, str], float]]:
        """Waits until ``query`` returns at least one series and only finite values (scraped data),
        asking through the bindings' own client."""
        client = moorage.Prometheus(self.address)
        deadline = time.monotonic() + timeout
        while True:
            try:
                samples = client.instant(query)
            except moorage.PrometheusError:
                samples = []
            if samples and all(math.isfinite(v) for _, v in samples):
                return samples
            if time.monotonic() > deadline:
                raise AssertionError(f"no data for `{query}` within {timeout} s")
            time.sleep(0.25)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        self.stop()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_prometheus(targets: list[str]) -> PrometheusServer:
    """A Prometheus scraping ``targets``; the test is skipped without the binary, unless CI or
    MOORAGE_REQUIRE_CLUSTER=1 requires it (then it fails)."""
    binary = prometheus_binary()
    if binary is None:
        if cluster_required():
            pytest.fail("no Prometheus binary; test.sh installs Debian's `prometheus` package")
        pytest.skip("no Prometheus binary (install Debian's `prometheus` or set MOORAGE_PROMETHEUS)")
    return PrometheusServer(binary, targets)
