//! Durations as Kubernetes and Prometheus write them (`90s`, `5m`, `1h30m`): parsed and formatted.

use std::time::Duration;

const NANOS_PER_MS: u128 = 1_000_000;
const NANOS_PER_S: u128 = 1_000_000_000;
const NANOS_PER_M: u128 = 60 * NANOS_PER_S;
const NANOS_PER_H: u128 = 60 * NANOS_PER_M;
const NANOS_PER_D: u128 = 24 * NANOS_PER_H;
const DURATION_UNITS: &str = "ms, s, m, h or d";

/// Parses a Go-style duration: one or more `<number><unit>` with units `ms`, `s`, `m`, `h` and (a moorage extension)
/// `d`, e.g. `"30s"`, `"5m"`, `"1h30m"`, `"1.5h"`, `"500ms"`; `"0"` alone is zero. Rejects empty, negative, missing
/// or unknown units, whitespace, values finer than a nanosecond and values that do not fit a `Duration`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    const EXAMPLES: &str = "e.g. \"30s\", \"5m\" or \"1h30m\"";
    if value.is_empty() {
        return Err(format!("\"\" is not a duration: it is empty; give one, {EXAMPLES}"));
    }
    if value.chars().any(char::is_whitespace) {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let hint = match parse_duration(&compact) {
            Ok(_) if !compact.is_empty() => format!(": did you mean {compact:?}?"),
            Err(e) => e.split_once("did you mean ").map(|(_, s)| format!(": did you mean {s}")).unwrap_or_default(),
            Ok(_) => String::new(),
        };
        return Err(format!("{value:?} is not a duration: it contains whitespace, remove it{hint}"));
    }
    if value.starts_with('-') {
        return Err(format!("{value:?} is negative; durations must be zero or positive, remove the '-'"));
    }
    let body = value.strip_prefix('+').unwrap_or(value);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(format!("{value:?} is not a duration; {EXAMPLES}"));
    }
    let too_large = || format!("{value:?} is too large for a duration; use a smaller value");
    let mut rest = body;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (number, after) = rest.split_at(num_len);
        let unit_len = after.chars().take_while(|c| !c.is_ascii_digit() && *c != '.').map(char::len_utf8).sum();
        let (unit, next) = after.split_at(unit_len);
        rest = next;
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            let what = if number.is_empty() { format!("{unit:?} has no number before it") } else { format!("{number:?} is not a number") };
            return Err(format!("{value:?} is not a duration: {what}; {EXAMPLES}"));
        }
        let unit_nanos = match unit {
            "ms" => NANOS_PER_MS,
            "s" => NANOS_PER_S,
            "m" => NANOS_PER_M,
            "h" => NANOS_PER_H,
            "d" => NANOS_PER_D,
            "" => {
                return Err(if number == body {
                    format!("{value:?} has no unit; did you mean {:?}? (units: {DURATION_UNITS})", format!("{value}s"))
                } else {
                    format!("{value:?} is not a duration: {number:?} has no unit; add one of {DURATION_UNITS}")
                })
            }
            other => return Err(unknown_duration_unit(value, number, other)),
        };
        let int_value = if int_part.is_empty() { 0 } else { int_part.parse::<u128>().map_err(|_| too_large())? };
        let mut nanos = int_value.checked_mul(unit_nanos).ok_or_else(too_large)?;
        let frac = frac_part.trim_end_matches('0');
        if !frac.is_empty() {
            let too_precise = || format!("{value:?} is more precise than a nanosecond; round it");
            let digits = u32::try_from(frac.len()).map_err(|_| too_precise())?;
            let scale = 10u128.checked_pow(digits).ok_or_else(too_precise)?;
            let numerator = frac.parse::<u128>().map_err(|_| too_precise())?;
            let scaled = numerator.checked_mul(unit_nanos).ok_or_else(too_precise)?;
            if scaled % scale != 0 {
                return Err(too_precise());
            }
            nanos = nanos.checked_add(scaled / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(nanos).ok_or_else(too_large)?;
    }
    let secs = u64::try_from(total / NANOS_PER_S).map_err(|_| too_large())?;
    let sub = u32::try_from(total % NANOS_PER_S).map_err(|_| too_large())?;
    Ok(Duration::new(secs, sub))
}

fn unknown_duration_unit(value: &str, number: &str, unit: &str) -> String {
    let replacement = match unit.to_ascii_lowercase().as_str() {
        "sec" | "secs" | "second" | "seconds" => Some("s"),
        "min" | "mins" | "minute" | "minutes" => Some("m"),
        "hr" | "hrs" | "hour" | "hours" => Some("h"),
        "day" | "days" => Some("d"),
        "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => Some("ms"),
        "s" | "h" | "d" | "ms" => Some(match unit.to_ascii_lowercase().as_str() {
            "s" => "s",
            "h" => "h",
            "d" => "d",
            _ => "ms",
        }),
        _ => None,
    };
    if let Some(r) = replacement {
        return format!("{value:?} has the unknown unit {unit:?}; did you mean {:?}?", format!("{number}{r}"));
    }
    let hint = match unit {
        "ns" | "us" | "µs" | "μs" => "units below a millisecond are not supported, use a fraction such as \"0.5ms\"",
        "w" | "wk" | "week" | "weeks" => "weeks are not supported, use days such as \"7d\"",
        "y" | "yr" | "year" | "years" => "years are not supported, use days such as \"365d\"",
        _ => "",
    };
    if hint.is_empty() {
        format!("{value:?} has the unknown unit {unit:?}; use {DURATION_UNITS}, e.g. \"30s\" or \"1h30m\"")
    } else {
        format!("{value:?} has the unknown unit {unit:?}; {hint}")
    }
}

/// Reads a duration given as a number of seconds, as the bindings take their `timeout` options
/// (`timeout=30`, `{timeout: 0.5}`): zero or more, fractions allowed. A number beyond the longest
/// `Duration` (about 585 billion years), infinity included, is `Duration::MAX`, which every wait of
/// moorage reads as "no limit". Refuses NaN and negative numbers, naming the number.
pub fn duration_from_seconds(seconds: f64) -> Result<Duration, String> {
    if seconds.is_nan() {
        return Err("NaN is not a number of seconds; give one, 0 or more (is it the result of a failed conversion?)".to_string());
    }
    if seconds < 0.0 {
        return Err(format!("{} is negative; give a number of seconds, 0 or more", seconds_text(seconds)));
    }
    if seconds == 0.0 {
        // -0.0 included.
        return Ok(Duration::ZERO);
    }
    Ok(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
}

/// A number of seconds as a message shows it: `-1`, `-0.5`, `-1e300` (not 300 digits).
fn seconds_text(seconds: f64) -> String {
    match seconds {
        s if s.is_infinite() => if s > 0.0 { "infinity" } else { "-infinity" }.to_string(),
        s if s.abs() < 1e15 => format!("{s}"),
        s => format!("{s:e}"),
    }
}

/// Formats a duration canonically so that [`parse_duration`] reads it back exactly: hours, minutes, seconds and
/// milliseconds with zero parts left out (`"1h30m"`, `"30s"`, `"500ms"`, `"1s500ms"`), `"0s"` for zero, and a
/// fraction of a millisecond for sub-millisecond parts (`"0.5ms"`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let nanos = d.subsec_nanos();
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        out.push_str(&format!("{seconds}s"));
    }
    if nanos > 0 {
        let (ms, sub) = (nanos / 1_000_000, nanos % 1_000_000);
        if sub == 0 {
            out.push_str(&format!("{ms}ms"));
        } else {
            let frac = format!("{sub:06}");
            out.push_str(&format!("{ms}.{}ms", frac.trim_end_matches('0')));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

    #[test]
    fn durations() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("2d", Duration::from_secs(172_800)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("+1s", Duration::from_secs(1)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("0.5ms", Duration::from_micros(500)),
            ("1h1h", Duration::from_secs(7200)),
            ("1.000000000000000000000000000000000000000000s", Duration::from_secs(1)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input}");
        }
        let errors = [
            ("", "it is empty"),
            ("30", "did you mean \"30s\"?"),
            ("1h30", "\"30\" has no unit"),
            ("-5s", "negative"),
            ("5x", "unknown unit \"x\""),
            ("5sec", "did you mean \"5s\"?"),
            ("10 minutes", "did you mean \"10m\"?"),
            ("1h 30m", "did you mean \"1h30m\"?"),
            ("5us", "below a millisecond"),
            ("2w", "\"7d\""),
            ("s", "has no number"),
            ("1.2.3s", "not a number"),
            ("0.0000000001s", "more precise than a nanosecond"),
            ("99999999999999999999999999999999999999999h", "too large"),
            ("999999999999999999999h", "too large"),
            ("+", "not a duration"),
        ];
        for (input, needle) in errors {
            let e = err(parse_duration(input));
            assert!(e.contains(needle), "{input:?}: {e}");
        }
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_nanos(1_500_000)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(1)), "0.000001ms");
        assert_eq!(format_duration(Duration::from_secs(90_000)), "25h");
    }

    #[test]
    fn seconds() {
        let cases = [
            (0.0, Duration::ZERO),
            (-0.0, Duration::ZERO),
            (0.5, Duration::from_millis(500)),
            (30.0, Duration::from_secs(30)),
            (1e-10, Duration::ZERO),
            (f64::MAX, Duration::MAX),
            (f64::INFINITY, Duration::MAX),
            (1.9e19, Duration::MAX),
        ];
        for (input, expected) in cases {
            assert_eq!(duration_from_seconds(input), Ok(expected), "{input}");
        }
        let errors = [
            (-1.0, "-1 is negative; give a number of seconds, 0 or more"),
            (-0.5, "-0.5 is negative; give a number of seconds, 0 or more"),
            (-1e300, "-1e300 is negative; give a number of seconds, 0 or more"),
            (f64::NEG_INFINITY, "-infinity is negative; give a number of seconds, 0 or more"),
            (f64::NAN, "NaN is not a number of seconds; give one, 0 or more (is it the result of a failed conversion?)"),
        ];
        for (input, message) in errors {
            assert_eq!(err(duration_from_seconds(input)), message, "{input}");
        }
    }
}
