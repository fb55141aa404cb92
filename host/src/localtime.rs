//! Local calendar days and times, for the store's daily rollup and `hookmeter stats`.
//!
//! "Local" is the time zone of the process, as the C library resolves it in `localtime_r`:
//! `TZ` when set (e.g. `TZ=Europe/Berlin`, `TZ=UTC`), else `/etc/localtime`. Claude Code starts
//! its hooks with the user's environment, so a hook run files an update under the same day
//! that `hookmeter stats`, run from the user's shell, calls "today". A day that a daylight
//! saving change makes 23 or 25 hours long is still one day. If the C library cannot convert a
//! time (it never should), the time is taken as UTC.

use std::fmt;

/// A calendar date, as days since 1970-01-01 (negative before).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    pub fn from_ymd(year: i64, month: u32, day: u32) -> Day {
        Day(days_from_civil(year, month, day))
    }

    /// Year, month (1–12), day of month (1–31).
    pub fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    /// `YYYY-MM-DD`, the form the store keeps.
    pub fn parse(s: &str) -> Option<Day> {
        let mut parts = s.splitn(3, '-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let parsed = Day::from_ymd(year, month, day);
        // Rejects 2026-02-30 and the like: it would not print back the same.
        (parsed.ymd() == (year, month, day)).then_some(parsed)
    }

    pub fn days_since_epoch(self) -> i64 {
        self.0
    }

    /// The day `n` days before this one.
    pub fn minus(self, n: i64) -> Day {
        Day(self.0 - n)
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.0 + 3).rem_euclid(7) as u32
    }

    pub fn weekday_name(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.weekday() as usize]
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// A moment as the local clock shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub day: Day,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Seconds east of UTC in effect at that moment (daylight saving included).
    pub utc_offset_seconds: i64,
}

impl LocalTime {
    /// The offset as `+01:00` / `-05:30` / `+00:00`.
    pub fn offset_text(&self) -> String {
        let sign = if self.utc_offset_seconds < 0 {
            '-'
        } else {
            '+'
        };
        let abs = self.utc_offset_seconds.unsigned_abs();
        format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60)
    }

    /// RFC 3339, e.g. `2026-11-25T14:03:00+01:00`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{}T{:02}:{:02}:{:02}{}",
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.offset_text()
        )
    }
}

/// The local date and time of `ms` (Unix milliseconds).
#[allow(
    clippy::useless_conversion,
    reason = "tm_gmtoff is a c_long: i64 here, i32 on 32-bit targets"
)]
pub fn local_time(ms: u64) -> LocalTime {
    let secs = (ms / 1000) as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills in; both pointers are valid for the
    // call. localtime_r reads TZ with getenv, which races only with a concurrent setenv, and
    // hookmeter never sets environment variables.
    let converted = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&secs, &mut tm).is_null()).then_some(tm)
    };
    match converted {
        Some(tm) => LocalTime {
            day: Day::from_ymd(
                i64::from(tm.tm_year) + 1900,
                (tm.tm_mon + 1) as u32,
                tm.tm_mday as u32,
            ),
            hour: tm.tm_hour as u32,
            minute: tm.tm_min as u32,
            second: tm.tm_sec.min(59) as u32,
            utc_offset_seconds: i64::from(tm.tm_gmtoff),
        },
        None => utc_time(ms),
    }
}

/// The local date of `ms`.
pub fn local_day(ms: u64) -> Day {
    local_time(ms).day
}

/// `ms` in UTC.
pub fn utc_time(ms: u64) -> LocalTime {
    let secs = (ms / 1000) as i64;
    let rem = secs.rem_euclid(86_400);
    LocalTime {
        day: Day(secs.div_euclid(86_400)),
        hour: (rem / 3600) as u32,
        minute: (rem % 3600 / 60) as u32,
        second: (rem % 60) as u32,
        utc_offset_seconds: 0,
    }
}

// Date arithmetic after Howard Hinnant's `days_from_civil` / `civil_from_days`: exact for the
// proleptic Gregorian calendar, no tables, no time zone database.

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Day(0));
        assert_eq!(Day::from_ymd(2000, 2, 29).to_string(), "2000-02-29");
        assert_eq!(Day::from_ymd(2000, 3, 1).minus(1).to_string(), "2000-02-29");
        assert_eq!(Day::from_ymd(2026, 1, 1).minus(1).to_string(), "2025-12-31");
        assert_eq!(Day::from_ymd(1969, 12, 31), Day(-1));
        for d in -800_000..800_000i64 {
            let (y, m, dd) = Day(d).ymd();
            assert_eq!(Day::from_ymd(y, m, dd), Day(d));
        }
        assert_eq!(Day::parse("2026-11-25"), Some(Day::from_ymd(2026, 11, 25)));
        assert_eq!(Day::parse("2026-02-30"), None);
        assert_eq!(Day::parse("yesterday"), None);
        assert_eq!(Day::from_ymd(2026, 11, 25).weekday_name(), "Wed");
        assert_eq!(Day(0).weekday_name(), "Thu");
    }

    #[test]
    fn utc_times() {
        let t = utc_time(1_795_641_710_893);
        assert_eq!(t.rfc3339(), "2026-11-25T21:21:50+00:00");
        let t = LocalTime {
            utc_offset_seconds: -(5 * 3600 + 30 * 60),
            ..t
        };
        assert_eq!(t.offset_text(), "-05:30");
    }

    /// The process's own zone is whatever the machine has; the conversion must agree with the
    /// offset it reports.
    #[test]
    fn local_time_is_utc_plus_its_offset() {
        let ms = 1_795_641_710_000;
        let local = local_time(ms);
        let shifted = utc_time((ms as i64 + local.utc_offset_seconds * 1000) as u64);
        assert_eq!(
            (local.day, local.hour, local.minute, local.second),
            (shifted.day, shifted.hour, shifted.minute, shifted.second)
        );
    }
}
