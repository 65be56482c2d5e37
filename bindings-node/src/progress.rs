//! Progress delivery shared by release operations and fleet waves: an `onProgress` callback (a
//! thread-safe function) called with plain objects, and Promises that settle only after every
//! event was delivered (rejecting with what a callback threw, when the operation succeeded).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::errors::Failure;

/// The JavaScript progress callback: called with one event, its return value ignored.
pub type ProgressCallback = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false>;

/// Progress calls in flight: each call acknowledges once the JavaScript callback has run (with
/// the exception it threw, if any), so the Promise settles after the last event was delivered.
pub struct Deliveries {
    sent: AtomicUsize,
    acks: mpsc::UnboundedSender<Option<napi::Error>>,
    received: Mutex<Option<mpsc::UnboundedReceiver<Option<napi::Error>>>>,
}

impl Deliveries {
    /// Waits for every call's acknowledgement; the first exception a callback threw, if any.
    async fn drain(&self) -> Option<napi::Error> {
        let mut rx = self.received.lock().ok()?.take()?;
        let mut first = None;
        for _ in 0..self.sent.load(Ordering::SeqCst) {
            match rx.recv().await {
                Some(Some(e)) => {
                    first.get_or_insert(e);
                }
                Some(None) => {}
                None => break,
            }
        }
        first
    }
}

/// A function sending events to `callback`, and the deliveries to wait for before settling.
pub fn sink(callback: ProgressCallback) -> (Arc<Deliveries>, impl Fn(Value) + Send + Sync + 'static) {
    let (acks, rx) = mpsc::unbounded_channel();
    let deliveries = Arc::new(Deliveries { sent: AtomicUsize::new(0), acks, received: Mutex::new(Some(rx)) });
    let d = deliveries.clone();
    let send = move |event: Value| {
        let ack = d.acks.clone();
        d.sent.fetch_add(1, Ordering::SeqCst);
        let status = callback.call_with_return_value(event, ThreadsafeFunctionCallMode::NonBlocking, move |r, _| {
            let _ = ack.send(r.err());
            Ok(())
        });
        if status != Status::Ok {
            // Not queued (the environment is closing): no acknowledgement will come.
            d.sent.fetch_sub(1, Ordering::SeqCst);
        }
    };
    (deliveries, send)
}

/// Runs an operation reporting progress: the Promise settles after every progress event was
/// delivered, rejecting with the operation's `MoorageError`, else with what a callback threw.
pub fn run<'env, T, V, F, C>(env: &'env Env, deliveries: Option<Arc<Deliveries>>, fut: F, convert: C) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    C: FnOnce(T) -> V + 'static,
{
    env.spawn_future_with_callback(
        async move {
            let out = fut.await;
            let thrown = match deliveries {
                Some(d) => d.drain().await,
                None => None,
            };
            Ok((out, thrown))
        },
        move |env, (out, thrown)| {
            let value = out.map_err(|f| f.into_error(env))?;
            match thrown {
                Some(e) => Err(e),
                None => Ok(convert(value)),
            }
        },
    )
}
