//! Local time without a timezone database: the plugin has only `ctx.now_ms` (UTC) and the
//! configured `utc_offset_minutes`, which together place "today" and the quiet hours.

pub const MINUTE_MS: u64 = 60_000;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A moment in the user's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Days since 1970-01-01, local.
    pub day: i64,
    /// Minutes since local midnight, 0..1440.
    pub minute: u32,
}

impl LocalTime {
    pub fn at(now_ms: u64, utc_offset_minutes: i32) -> LocalTime {
        let local_ms = now_ms as i64 + i64::from(utc_offset_minutes) * MINUTE_MS as i64;
        LocalTime { day: local_ms.div_euclid(DAY_MS), minute: (local_ms.rem_euclid(DAY_MS) / MINUTE_MS as i64) as u32 }
    }

    /// The local date as `YYYY-MM-DD`: readable in the plugin's state, and it changes at local
    /// midnight.
    pub fn date(&self) -> String {
        let (y, m, d) = civil_from_days(self.day);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day), proleptic
/// Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A daily window of local time in which the plugin suggests nothing, e.g. `22:00-07:00`.
/// The end is exclusive; a window whose end is before its start wraps past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    start: u32,
    end: u32,
}

impl QuietHours {
    /// Parse `HH:MM-HH:MM` (24-hour clock, one- or two-digit hours). `None` when malformed or
    /// when start and end are equal (empty or whole-day: ambiguous, so refused).
    pub fn parse(text: &str) -> Option<QuietHours> {
        let (start, end) = text.split_once('-')?;
        let (start, end) = (minute_of_day(start.trim())?, minute_of_day(end.trim())?);
        (start != end).then_some(QuietHours { start, end })
    }

    pub fn contains(&self, minute: u32) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }
}

/// `HH:MM` or `H:MM` → minutes since midnight.
fn minute_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if !(1..=2).contains(&h.len()) || m.len() != 2 {
        return None;
    }
    let number = |s: &str| s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse::<u32>().ok()).flatten();
    let (h, m) = (number(h)?, number(m)?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-11-14T22:13:20Z, the harness's default `now_ms`.
    const NOW: u64 = 1_700_000_000_000;

    #[test]
    fn local_day_and_minute() {
        assert_eq!(LocalTime::at(NOW, 0), LocalTime { day: 19_675, minute: 22 * 60 + 13 });
        assert_eq!(LocalTime::at(NOW, 0).date(), "2023-11-14");
        // UTC+2 is already past midnight.
        let east = LocalTime::at(NOW, 120);
        assert_eq!((east.date().as_str(), east.minute), ("2023-11-15", 13));
        let west = LocalTime::at(NOW, -600);
        assert_eq!((west.date().as_str(), west.minute), ("2023-11-14", 12 * 60 + 13));
        assert_eq!(LocalTime::at(0, -1).date(), "1969-12-31");
    }

    #[test]
    fn dates_across_leap_years_and_month_ends() {
        for (day, date) in [
            (0, "1970-01-01"),
            (59, "1970-03-01"),
            (11_016, "2000-02-29"),
            (11_017, "2000-03-01"),
            (19_782, "2024-02-29"),
            (20_088, "2024-12-31"),
            (-719_468, "0000-03-01"),
        ] {
            assert_eq!(LocalTime { day, minute: 0 }.date(), date, "day {day}");
        }
    }

    #[test]
    fn quiet_hours_within_a_day() {
        let q = QuietHours::parse("12:30-14:00").unwrap();
        assert!(!q.contains(12 * 60 + 29));
        assert!(q.contains(12 * 60 + 30));
        assert!(q.contains(13 * 60 + 59));
        assert!(!q.contains(14 * 60));
    }

    #[test]
    fn quiet_hours_wrapping_midnight() {
        let q = QuietHours::parse("22:00-07:00").unwrap();
        assert!(q.contains(22 * 60));
        assert!(q.contains(23 * 60 + 59));
        assert!(q.contains(0));
        assert!(q.contains(6 * 60 + 59));
        assert!(!q.contains(7 * 60));
        assert!(!q.contains(21 * 60 + 59));
        assert_eq!(QuietHours::parse(" 7:05 - 9:00 ").unwrap(), QuietHours { start: 425, end: 540 });
    }

    #[test]
    fn malformed_quiet_hours() {
        for text in [
            "",
            "22:00",
            "22-07",
            "24:00-07:00",
            "22:60-07:00",
            "22:00-22:00",
            "10pm-7am",
            "22:000-07:00",
            "+1:00-2:00",
        ] {
            assert_eq!(QuietHours::parse(text), None, "{text:?}");
        }
    }
}
