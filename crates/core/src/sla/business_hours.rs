//! Business hours: a weekly schedule in one time zone, and time counted only inside it.
//!
//! Spelled `mon-fri 09:00-17:00; sat 10:00-14:00` (`SLA_BUSINESS_HOURS`): groups separated by
//! `;`, each a set of days (`mon`, a range `mon-fri`, or a list `mon,wed,fri`) and one or more
//! periods `HH:MM-HH:MM` (end `24:00` for midnight), in the zone `SLA_TIME_ZONE` (IANA name).
//! Daylight saving is the zone's: a period starting in a skipped hour starts when the clocks
//! resume, and one in a repeated hour at its first occurrence.

use std::fmt;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

/// Days looked at before giving up: a schedule has at least one period a week, so this is
/// only reached for a duration of years.
const MAX_DAYS: u64 = 3_700;

/// Why a schedule cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Names the part that is wrong and what was expected.
    #[error("business hours {0}")]
    Invalid(String),
    /// Not an IANA time zone name.
    #[error("unknown time zone {0:?} (an IANA name such as Europe/Berlin)")]
    UnknownZone(String),
}

/// A weekly schedule in a time zone. Periods of a day are sorted and do not overlap.
#[derive(Clone, PartialEq, Eq)]
pub struct BusinessHours {
    zone: Tz,
    /// Monday first: each day's periods as (start, end) seconds since local midnight.
    week: [Vec<(u32, u32)>; 7],
}

impl fmt::Debug for BusinessHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessHours")
            .field("zone", &self.zone.name())
            .field("week", &self.week)
            .finish()
    }
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessHours {
    /// Reads `schedule` in `zone`.
    pub fn parse(schedule: &str, zone: &str) -> Result<Self, ScheduleError> {
        let zone = Tz::from_str(zone.trim())
            .map_err(|_| ScheduleError::UnknownZone(zone.trim().to_owned()))?;
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for group in schedule.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let mut parts = group.split_whitespace();
            let days = parts
                .next()
                .map(parse_days)
                .transpose()?
                .unwrap_or_default();
            let mut periods = Vec::new();
            for period in parts {
                periods.push(parse_period(period)?);
            }
            if periods.is_empty() {
                return Err(invalid(format!("{group:?} has no period (HH:MM-HH:MM)")));
            }
            for day in days {
                week[day].extend(periods.iter().copied());
            }
        }
        for (day, periods) in week.iter_mut().enumerate() {
            periods.sort_unstable();
            if let Some(pair) = periods.windows(2).find(|pair| pair[0].1 > pair[1].0) {
                return Err(invalid(format!(
                    "overlap on {}: {} and {}",
                    DAY_NAMES[day],
                    spell_period(pair[0]),
                    spell_period(pair[1])
                )));
            }
        }
        if week.iter().all(Vec::is_empty) {
            return Err(invalid(format!(
                "{schedule:?} names no period (e.g. `mon-fri 09:00-17:00`)"
            )));
        }
        Ok(Self { zone, week })
    }

    /// The instant `duration` of business time after `start`: where a deadline falls.
    pub fn add(&self, start: DateTime<Utc>, duration: TimeDelta) -> DateTime<Utc> {
        let mut left = duration.max(TimeDelta::zero());
        for (open, close) in self.periods_from(start) {
            let from = open.max(start);
            if close <= from {
                continue;
            }
            let available = close - from;
            if left <= available {
                return from + left;
            }
            left -= available;
        }
        DateTime::<Utc>::MAX_UTC
    }

    /// The business time between `from` and `to` (zero if `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        let mut total = TimeDelta::zero();
        if to <= from {
            return total;
        }
        for (open, close) in self.periods_from(from) {
            if open >= to {
                break;
            }
            let (start, end) = (open.max(from), close.min(to));
            if end > start {
                total += end - start;
            }
        }
        total
    }

    /// Every period, as instants, from the local day of `start` (the day before, too: a
    /// period of the previous local day can still be open at `start`) onwards, in order.
    fn periods_from(
        &self,
        start: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = start
            .with_timezone(&self.zone)
            .date_naive()
            .checked_sub_days(Days::new(1))
            .unwrap_or(NaiveDate::MIN);
        (0..MAX_DAYS)
            .map_while(move |offset| first.checked_add_days(Days::new(offset)))
            .flat_map(move |date| {
                let day = date.weekday().num_days_from_monday() as usize;
                self.week[day].iter().filter_map(move |&(open, close)| {
                    Some((self.instant(date, open)?, self.instant(date, close)?))
                })
            })
    }

    /// Local `date` at `seconds` after midnight, as an instant.
    fn instant(&self, date: NaiveDate, seconds: u32) -> Option<DateTime<Utc>> {
        let local = date.and_time(NaiveTime::MIN) + TimeDelta::seconds(i64::from(seconds));
        let found = match self.zone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at),
            // In a skipped hour: the clocks resume at most two hours later.
            LocalResult::None => (1..=8).find_map(|quarter| {
                self.zone
                    .from_local_datetime(&(local + TimeDelta::minutes(15 * quarter)))
                    .earliest()
            }),
        };
        found.map(|at| at.with_timezone(&Utc))
    }
}

fn invalid(reason: String) -> ScheduleError {
    ScheduleError::Invalid(reason)
}

/// `mon`, `mon-fri`, `sat,sun`, `mon-wed,fri`: indexes from Monday.
fn parse_days(spec: &str) -> Result<Vec<usize>, ScheduleError> {
    let mut days = Vec::new();
    for item in spec.split(',') {
        let (from, to) = item.split_once('-').unwrap_or((item, item));
        let (from, to) = (day_index(from)?, day_index(to)?);
        if to < from {
            return Err(invalid(format!(
                "day range {item:?} runs backwards (use mon-fri)"
            )));
        }
        days.extend(from..=to);
    }
    Ok(days)
}

fn day_index(name: &str) -> Result<usize, ScheduleError> {
    let name = name.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|day| *day == name)
        .ok_or_else(|| invalid(format!("day {name:?} is none of {}", DAY_NAMES.join(", "))))
}

/// `09:00-17:30` as seconds since midnight; the end after the start, at most `24:00`.
fn parse_period(period: &str) -> Result<(u32, u32), ScheduleError> {
    let (open, close) = period
        .split_once('-')
        .ok_or_else(|| invalid(format!("period {period:?} is not HH:MM-HH:MM")))?;
    let (open, close) = (parse_clock(open)?, parse_clock(close)?);
    if close <= open {
        return Err(invalid(format!("period {period:?} ends before it starts")));
    }
    Ok((open, close))
}

fn parse_clock(clock: &str) -> Result<u32, ScheduleError> {
    let wrong = || invalid(format!("time {clock:?} is not HH:MM (00:00 to 24:00)"));
    let (hours, minutes) = clock.split_once(':').ok_or_else(wrong)?;
    if hours.len() != 2 || minutes.len() != 2 {
        return Err(wrong());
    }
    let hours: u32 = hours.parse().map_err(|_| wrong())?;
    let minutes: u32 = minutes.parse().map_err(|_| wrong())?;
    if minutes > 59 || hours > 24 || (hours == 24 && minutes > 0) {
        return Err(wrong());
    }
    Ok(hours * 3600 + minutes * 60)
}

fn spell_period((open, close): (u32, u32)) -> String {
    format!(
        "{:02}:{:02}-{:02}:{:02}",
        open / 3600,
        open % 3600 / 60,
        close / 3600,
        close % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        match DateTime::parse_from_rfc3339(text) {
            Ok(time) => time.with_timezone(&Utc),
            Err(error) => panic!("{text}: {error}"),
        }
    }

    fn office() -> BusinessHours {
        match BusinessHours::parse("mon-fri 09:00-17:00", "Europe/Berlin") {
            Ok(hours) => hours,
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn a_deadline_inside_the_day_is_plain_addition() {
        // Tuesday 10:00 in Berlin (UTC+1 in December).
        let start = at("2026-12-08T09:00:00Z");
        assert_eq!(
            office().add(start, TimeDelta::hours(2)),
            at("2026-12-08T11:00:00Z")
        );
    }

    #[test]
    fn a_deadline_on_friday_afternoon_moves_across_the_weekend() {
        // Friday 16:30 Berlin + 1 h of business time = Monday 09:30 Berlin.
        let friday = at("2026-12-11T15:30:00Z");
        assert_eq!(
            office().add(friday, TimeDelta::hours(1)),
            at("2026-12-14T08:30:00Z")
        );
        // A customer writing on Saturday waits from Monday 09:00.
        let saturday = at("2026-12-12T12:00:00Z");
        assert_eq!(
            office().add(saturday, TimeDelta::minutes(30)),
            at("2026-12-14T08:30:00Z")
        );
    }

    #[test]
    fn business_time_between_leaves_out_nights_and_weekends() {
        let hours = office();
        let friday = at("2026-12-11T15:30:00Z");
        let monday = at("2026-12-14T08:30:00Z");
        assert_eq!(hours.between(friday, monday), TimeDelta::hours(1));
        assert_eq!(hours.between(monday, friday), TimeDelta::zero());
        // A whole week holds five days of eight hours.
        let week_later = friday + TimeDelta::days(7);
        assert_eq!(hours.between(friday, week_later), TimeDelta::hours(40));
    }

    #[test]
    fn adding_and_measuring_agree() {
        let hours = office();
        let start = at("2026-12-10T20:00:00Z");
        for minutes in [1, 59, 60, 480, 481, 2_000, 10_000] {
            let duration = TimeDelta::minutes(minutes);
            let due = hours.add(start, duration);
            assert_eq!(hours.between(start, due), duration, "{minutes} min");
        }
    }

    #[test]
    fn daylight_saving_follows_the_zone() {
        // 2027-03-28: Berlin moves from UTC+1 to UTC+2 (a Sunday); Monday opens 07:00 UTC.
        let sunday = at("2027-03-28T12:00:00Z");
        assert_eq!(
            office().add(sunday, TimeDelta::minutes(1)),
            at("2027-03-29T07:01:00Z")
        );
    }

    #[test]
    fn several_groups_and_periods_a_day() {
        let hours = match BusinessHours::parse(
            "mon-fri 08:00-12:00 13:00-17:00; sat,sun 10:00-12:00",
            "UTC",
        ) {
            Ok(hours) => hours,
            Err(error) => panic!("{error}"),
        };
        // Monday 11:30 + 1 h: 30 min before lunch, 30 min after.
        assert_eq!(
            hours.add(at("2026-12-07T11:30:00Z"), TimeDelta::hours(1)),
            at("2026-12-07T13:30:00Z")
        );
        // Saturday 11:00 + 2 h: one hour Saturday, one Sunday.
        assert_eq!(
            hours.add(at("2026-12-12T11:00:00Z"), TimeDelta::hours(2)),
            at("2026-12-13T11:00:00Z")
        );
        let midnight = BusinessHours::parse("sun 22:00-24:00", "UTC");
        assert!(midnight.is_ok(), "{midnight:?}");
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (schedule, zone, says) in [
            ("", "UTC", "names no period"),
            ("mon-fri", "UTC", "has no period"),
            ("mon-fry 09:00-17:00", "UTC", "day \"fry\""),
            ("fri-mon 09:00-17:00", "UTC", "runs backwards"),
            ("mon 9:00-17:00", "UTC", "is not HH:MM"),
            ("mon 09:00-24:30", "UTC", "is not HH:MM"),
            ("mon 17:00-09:00", "UTC", "ends before it starts"),
            ("mon 09:00-12:00 11:00-13:00", "UTC", "overlap on mon"),
            ("mon 09:00-17:00", "Mars/Olympus", "unknown time zone"),
        ] {
            match BusinessHours::parse(schedule, zone) {
                Ok(hours) => panic!("{schedule:?} read as {hours:?}"),
                Err(error) => assert!(
                    error.to_string().contains(says),
                    "{schedule:?}: {error} lacks {says:?}"
                ),
            }
        }
    }
}
