"""The Python twin of bench/src/compile_tenants.rs: N tenants with one release each, built with the
Python API, compiled and written as one YAML stream. Prints one line of JSON like the Rust binary.

    python bench/compile_tenants.py [N] [OUT_DIR]
"""
import json
import os
import sys
import time

import moorage


def tenant_and_release(i: int):
    name = f"customer-{i:04}"
    tenant = moorage.Tenant(
        name,
        display_name=f"Customer {i}",
        labels={"plan": "business" if i % 3 == 0 else "standard"},
        quota=moorage.Quota(limits_cpu="4", limits_memory="8Gi", requests_cpu="2", requests_memory="4Gi", pods=20),
        members={f"admin@{name}.test": "admin"},
        domains=[f"{name}.shop.test"],
    )
    release = moorage.Release(
        tenant, "webserver", "v1",
        image="nginxinc/nginx-unprivileged:1.27", replicas=3, ports=[{"name": "http", "port": 8080}],
        resources={"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        config_files={"index.html": f"<h1>{name}</h1>"}, hosts=[f"{name}.shop.test"], strategy=moorage.BlueGreen(),
    )
    return tenant, release


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    out = sys.argv[2] if len(sys.argv) > 2 else f"/tmp/moorage-bench-py-{os.getpid()}"
    os.makedirs(out, exist_ok=True)
    start = time.perf_counter()
    # Tenants and releases are built here; moorage.compile_many compiles them on every core
    # without the GIL (the core's compile_many_to_yaml), in input order.
    stream = moorage.compile_many([(t, [r]) for t, r in map(tenant_and_release, range(n))])
    with open(os.path.join(out, "manifests.yaml.tmp"), "w") as f:
        f.write(stream)
    os.replace(os.path.join(out, "manifests.yaml.tmp"), os.path.join(out, "manifests.yaml"))
    secs = time.perf_counter() - start
    objects = stream.count("\nkind: ") + stream.startswith("kind: ")
    print(json.dumps({"tenants": n, "objects": objects, "bytes": len(stream), "threads": os.cpu_count() or 1, "in_process_seconds": round(secs, 4)}))


if __name__ == "__main__":
    main()
