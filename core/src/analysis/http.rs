//! The HTTP provider: a GET on the new version's Service (or a given URL) and the answer it must give.

use std::time::Duration;

use super::{client, Subject, Verdict};
use crate::checks::parse_duration;
use crate::model::analysis::HttpAnalysis;

/// One measurement: the answer's status and body against what is expected. No answer is inconclusive.
pub(super) async fn measure(h: &HttpAnalysis, subject: &Subject) -> (Verdict, String) {
    let url = match (&h.url, &h.path) {
        (Some(url), _) => subject.substitute(url),
        (None, Some(path)) => format!("{}{}", subject.service_url(), subject.substitute(path)),
        (None, None) => return (Verdict::Inconclusive, "neither url nor path is set".into()),
    };
    let timeout = parse_duration(&h.timeout).unwrap_or(Duration::from_secs(10));
    let answer = match client::get(&url, timeout).await {
        Ok(a) => a,
        Err(e) => return (Verdict::Inconclusive, e.to_string()),
    };
    if answer.status != h.expected_status {
        return (Verdict::Failed, format!("GET {url} answered {} instead of {}", answer.status, h.expected_status));
    }
    if let Some(text) = &h.body_contains {
        if !answer.body.contains(text.as_str()) {
            return (Verdict::Failed, format!("GET {url} answered {} but the body does not contain {text:?}", answer.status));
        }
    }
    (Verdict::Passed, format!("GET {url} answered {}", answer.status))
}
