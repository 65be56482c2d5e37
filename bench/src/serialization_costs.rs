//! Where compile time goes: compile, JSON, JSON values and YAML for 1,000 runs of one 13-object tenant.
use std::time::Instant;
fn main() {
    let t = moorage::Tenant::builder("customer-0001")
        .quota(moorage::Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20))
        .member("admin@x.test", moorage::Role::Admin)
        .domain("c.shop.test")
        .build()
        .unwrap();
    let r = moorage::Release::builder("customer-0001", "webserver", "v1")
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(3)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .config_file("index.html", "x")
        .host("c.shop.test")
        .strategy(moorage::Strategy::blue_green())
        .build()
        .unwrap();
    let s = Instant::now();
    let mut objs = Vec::new();
    for _ in 0..1000 {
        objs = moorage::compile(&t, std::slice::from_ref(&r)).unwrap().objects;
    }
    println!("compile: {:?}", s.elapsed());
    let s = Instant::now();
    let mut n = 0;
    for _ in 0..1000 {
        n += serde_json::to_string(&objs).unwrap().len();
    }
    println!("json: {:?} {n}", s.elapsed());
    let s = Instant::now();
    for _ in 0..1000 {
        n += serde_json::to_value(&objs).unwrap().is_array() as usize;
    }
    println!("to_value: {:?} {n}", s.elapsed());
    let s = Instant::now();
    for _ in 0..1000 {
        n += moorage::manifest::to_yaml_stream(&objs).unwrap().len();
    }
    println!("yaml: {:?} {n}", s.elapsed());
}
