"""A SaaS vendor onboards one customer: project, quota, users, domain, backups, then the app."""
import sys
import moorage

cluster = moorage.Cluster.from_kubeconfig() if "--cluster" in sys.argv else moorage.Cluster.simulated()
customer = moorage.Tenant(
    "initech", display_name="Initech",
    quota=moorage.Quota(limits_cpu="2", limits_memory="2Gi", requests_storage="20Gi", pods=10),
    members={"peter@initech.test": "admin"}, domains=["shop.initech.test"],
    storage=[{"name": "db", "storageClass": "openebs-replicated", "size": "10Gi"}],
    backups=[{"name": "nightly", "volume": "db", "schedule": "0 3 * * *", "retention": 14,
              "target": {"endpoint": "https://minio.backup.svc:9000", "bucket": "initech", "credentialsSecret": "initech-s3"},
              "database": {"engine": "postgres", "host": "db", "database": "shop", "credentialsSecret": "initech-db"}}],
)
shop = moorage.Release(customer, "shop", "1.0", image="nginxinc/nginx-unprivileged:1.27", replicas=2,
                       ports=[{"name": "http", "port": 8080}], hosts=["shop.initech.test"], strategy=moorage.BlueGreen())
print(f"{customer!r}\n  {cluster.apply_tenant(customer)} objects applied")
report = cluster.rollout(customer, shop, on_progress=lambda e: print("  ", e["event"], e.get("version", "")))
print(f"{shop!r}\n  revision {report.revision} live: {cluster.status(customer, 'shop')}")
