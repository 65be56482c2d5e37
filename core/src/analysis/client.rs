//! A small HTTP/1 GET client (hyper) for Prometheus queries and HTTP checks, with a timeout.

use std::time::Duration;

/// Largest body read (Prometheus answers to range queries can be large).
#[cfg(feature = "analysis-http")]
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why an HTTP request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The URL cannot be requested.
    #[error("{url:?} is not a URL moorage can request: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No connection, or the connection broke.
    #[error("{url} is unreachable: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport's message.
        reason: String,
    },
    /// No complete answer within the timeout.
    #[error("{url} did not answer within {}s", after.as_secs_f64())]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The body could not be read, or was too large.
    #[error("the answer of {url} could not be read: {reason}")]
    Body {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// This build has no HTTP client (feature `analysis-http` off).
    #[error("this build of moorage has no HTTP client (feature analysis-http)")]
    NoClient,
}

/// An answer: its status and body (lossily decoded as UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Sends `GET url` and reads the answer, all within `timeout`.
#[cfg(feature = "analysis-http")]
pub async fn get(url: &str, timeout: Duration) -> Result<Answer, HttpError> {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| HttpError::InvalidUrl { url: url.to_string(), reason: e.to_string() })?;
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::InvalidUrl { url: url.to_string(), reason: "only http:// is supported".into() });
    }
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build_http();
    let request = async {
        let response = client.get(uri).await.map_err(|e| HttpError::Unreachable { url: url.to_string(), reason: error_chain(&e) })?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| HttpError::Body { url: url.to_string(), reason: e.to_string() })?
            .to_bytes();
        Ok(Answer { status, body: String::from_utf8_lossy(&body).into_owned() })
    };
    match tokio::time::timeout(timeout, request).await {
        Ok(answer) => answer,
        Err(_) => Err(HttpError::Timeout { url: url.to_string(), after: timeout }),
    }
}

/// Without the `analysis-http` feature there is no client: every request fails with [`HttpError::NoClient`].
#[cfg(not(feature = "analysis-http"))]
pub async fn get(_url: &str, _timeout: Duration) -> Result<Answer, HttpError> {
    Err(HttpError::NoClient)
}

/// The message of an error and of its sources ("client error (Connect): tcp connect error: Connection refused").
#[cfg(feature = "analysis-http")]
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// Percent-encodes `value` for a URL query component.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_percent_encoded() {
        assert_eq!(encode_component(r#"rate(x{a="b c"}[1m])"#), "rate%28x%7Ba%3D%22b%20c%22%7D%5B1m%5D%29");
        assert_eq!(encode_component("safe-_.~09"), "safe-_.~09");
    }

    #[cfg(feature = "analysis-http")]
    #[tokio::test]
    async fn a_closed_port_is_unreachable_not_a_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        drop(listener);
        let err = get(&format!("http://127.0.0.1:{port}/"), Duration::from_secs(5)).await.err();
        assert!(matches!(err, Some(HttpError::Unreachable { .. })), "{err:?}");
    }
}
