//! A backend whose driver "dies": once `dead` is set, every call hangs forever (a frozen, then killed, process).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moorage::backend::{Applied, ApplyOptions, Backend, BackendError, Kind, Propagation, Selector, WatchStream};
use serde_json::Value;

/// What a [`Dying`] backend wraps: a borrowed backend or a shared one.
pub trait BackendHandle: Send + Sync {
    /// The backend.
    fn backend(&self) -> &dyn Backend;
}

impl BackendHandle for &dyn Backend {
    fn backend(&self) -> &dyn Backend {
        *self
    }
}

impl BackendHandle for Arc<dyn Backend> {
    fn backend(&self) -> &dyn Backend {
        self.as_ref()
    }
}

/// Forwards to `inner` until `dead` is set; from then on no call returns.
pub struct Dying<B> {
    /// The backend calls go to.
    pub inner: B,
    /// Set it to freeze every later call.
    pub dead: Arc<AtomicBool>,
}

impl<B: BackendHandle> Dying<B> {
    async fn check(&self) {
        if self.dead.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl<B: BackendHandle> Backend for Dying<B> {
    fn describe(&self) -> String {
        self.inner.backend().describe()
    }
    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        self.check().await;
        self.inner.backend().apply(objects, options).await
    }
    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        self.check().await;
        self.inner.backend().get(kind, namespace, name).await
    }
    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        self.check().await;
        self.inner.backend().list(kind, namespace, selector).await
    }
    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError> {
        self.check().await;
        self.inner.backend().delete(kind, namespace, name, propagation).await
    }
    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        self.check().await;
        self.inner.backend().watch(kind, namespace, selector).await
    }
    async fn sleep(&self, duration: Duration) {
        self.check().await;
        self.inner.backend().sleep(duration).await
    }
    fn now(&self) -> Duration {
        self.inner.backend().now()
    }
}
