//! Checks of cron schedules (CronJobs: backups, scheduled jobs).

const CRON_MACROS: [&str; 7] = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field of a 5-field cron schedule.
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for values starting at `min`, matched case-insensitively.
    names: &'static [&'static str],
    question: bool,
}

const CRON_FIELDS: [CronField; 5] = [
    CronField { name: "minute", min: 0, max: 59, names: &[], question: false },
    CronField { name: "hour", min: 0, max: 23, names: &[], question: false },
    CronField { name: "day-of-month", min: 1, max: 31, names: &[], question: true },
    CronField { name: "month", min: 1, max: 12, names: &MONTHS, question: false },
    CronField { name: "day-of-week", min: 0, max: 6, names: &WEEKDAYS, question: true },
];

/// Checks a CronJob schedule as Kubernetes accepts it: five whitespace-separated fields (minute 0-59, hour 0-23,
/// day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 or SUN-SAT), each a comma list of `*`, `?`
/// (day-of-month and day-of-week only), `n` or `a-b`, optionally with `/step`; or one of the macros `@yearly`,
/// `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. Time zones (`TZ=`, `CRON_TZ=`) are
/// rejected: Kubernetes wants them in the CronJob `timeZone` field.
pub fn check_cron_schedule(value: &str) -> Result<(), String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(format!(
            "{value:?} is not a cron schedule: it is empty; give five fields (minute hour day-of-month month \
             day-of-week), e.g. \"0 3 * * *\" for 03:00 every day"
        ));
    }
    if value.contains("TZ") {
        return Err(format!(
            "{value:?}: a time zone cannot be set inside the schedule; remove the TZ=/CRON_TZ= prefix and set the \
             CronJob timeZone field instead"
        ));
    }
    if trimmed.starts_with('@') {
        if CRON_MACROS.contains(&trimmed) {
            return Ok(());
        }
        return Err(format!("{value:?} is not a supported schedule macro; use one of {} or five fields such as \"*/15 * * * *\"", CRON_MACROS.join(", ")));
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != 5 {
        let seconds = if fields.len() == 6 { " (seconds are not supported)" } else { "" };
        return Err(format!(
            "{value:?} has {} fields{seconds}; a schedule needs exactly 5: minute hour day-of-month month \
             day-of-week, e.g. \"*/15 * * * *\"",
            fields.len()
        ));
    }
    for (spec, field) in CRON_FIELDS.iter().zip(fields) {
        check_cron_field(spec, field).map_err(|why| format!("{value:?}: {} field {field:?} {why}", spec.name))?;
    }
    Ok(())
}

/// Checks one cron field; the error completes "<name> field "<field>" ...".
fn check_cron_field(spec: &CronField, field: &str) -> Result<(), String> {
    let single = !field.contains(',');
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            let parsed = if step.chars().all(|c| c.is_ascii_digit()) { step.parse::<u32>().ok() } else { None };
            match parsed {
                Some(0) => return Err(format!("has the step {step:?}; a step must be at least 1")),
                Some(_) => {}
                None => return Err(format!("has the invalid step {step:?}; a step is a whole number such as 5")),
            }
        }
        let syntax_hint = format!("use \"*\", a value {}-{}, a range \"a-b\", a list \"a,b\" or a step such as \"*/5\"", spec.min, spec.max);
        if item.is_empty() {
            return Err(format!("has an empty list entry; {syntax_hint}"));
        }
        if range == "*" {
            continue;
        }
        if range == "?" {
            if spec.question {
                continue;
            }
            return Err("uses '?', which is only allowed in the day-of-month and day-of-week fields; use '*'".into());
        }
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        let parse = |token: &str| -> Result<u32, String> {
            let number = if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
                // Saturate very long numbers: they are out of range either way.
                Some(token.parse::<u32>().unwrap_or(u32::MAX))
            } else {
                let lower = token.to_ascii_lowercase();
                spec.names.iter().position(|n| *n == lower).and_then(|i| u32::try_from(i).ok()).map(|i| i.saturating_add(spec.min))
            };
            let Some(n) = number else {
                return Err(format!("has the invalid value {token:?}; {syntax_hint}"));
            };
            if n < spec.min || n > spec.max {
                let sunday = if spec.name == "day-of-week" && n == 7 { "; use 0 for Sunday (Kubernetes does not accept 7)" } else { "" };
                return Err(if single && token == field {
                    format!("is out of range {}-{}{sunday}", spec.min, spec.max)
                } else {
                    format!("has {token:?}, out of range {}-{}{sunday}", spec.min, spec.max)
                });
            }
            Ok(n)
        };
        let start = parse(lo)?;
        if let Some(hi) = hi {
            let end = parse(hi)?;
            if start > end {
                return Err(format!("has the descending range {range:?}; ranges must go from low to high, e.g. {:?}", format!("{hi}-{lo}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

    #[test]
    fn cron_schedules() {
        for ok in [
            "* * * * *",
            "*/15 * * * *",
            "0 3 * * *",
            "0 0 1 1 *",
            "0,30 8-18/2 ? JAN-dec MON-FRI",
            "5/10 * * * sun",
            "0 0 * * 0-6",
            "59 23 31 12 6",
            "  0   3 * * *  ",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ] {
            assert_eq!(check_cron_schedule(ok), Ok(()), "{ok}");
        }
        assert_eq!(err(check_cron_schedule("61 * * * *")), "\"61 * * * *\": minute field \"61\" is out of range 0-59");
        let cases = [
            ("", "it is empty"),
            ("TZ=Europe/Paris 0 3 * * *", "timeZone field"),
            ("CRON_TZ=UTC 0 3 * * *", "timeZone field"),
            ("@every 5m", "not a supported schedule macro"),
            ("@reboot", "not a supported schedule macro"),
            ("* * * *", "has 4 fields"),
            ("0 * * * * *", "seconds are not supported"),
            ("* 24 * * *", "hour field \"24\" is out of range 0-23"),
            ("* * 0 * *", "day-of-month field \"0\" is out of range 1-31"),
            ("* * * 13 *", "month field \"13\" is out of range 1-12"),
            ("* * * * 7", "use 0 for Sunday"),
            ("1,61 * * * *", "minute field \"1,61\" has \"61\", out of range 0-59"),
            ("*/0 * * * *", "at least 1"),
            ("*/x * * * *", "invalid step"),
            ("30-10 * * * *", "descending range \"30-10\""),
            ("? * * * *", "only allowed in the day-of-month and day-of-week"),
            ("1,,2 * * * *", "empty list entry"),
            ("MON * * * *", "invalid value \"MON\""),
            ("* * * FOO *", "invalid value \"FOO\""),
            ("99999999999999 * * * *", "out of range"),
            ("- * * * *", "invalid value"),
        ];
        for (input, needle) in cases {
            let e = err(check_cron_schedule(input));
            assert!(e.contains(needle), "{input:?}: {e}");
            assert!(e.starts_with(&format!("{input:?}")), "{input:?} not quoted first: {e}");
        }
    }
}
