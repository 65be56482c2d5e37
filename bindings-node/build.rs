//! Link settings of a Node-API module (napi-build).

fn main() {
    napi_build::setup();
}
