//! The audit log as admins read it, and the query that filters it.
//!
//! Every change in Stargate appends one event (who, what, to which subject, when); nothing
//! ever updates or deletes one. Timestamps are the stored RFC 3339 UTC text
//! (`YYYY-MM-DDTHH:MM:SSZ`), which sorts as the instants do, so time filters compare text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    FieldError, FieldErrors, PageRequest, TeamName,
    query::{non_empty, query_string},
};

/// Longest email address (RFC 5321 path limit).
pub const MAX_ACTOR_LEN: usize = 254;

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    /// When, RFC 3339 UTC (`2026-03-01T09:30:00Z`).
    pub at: String,
    /// Email of who did it.
    pub actor: String,
    /// `request.submit`, `request.approve`, `token.create`, `user.sign_in`, ...
    pub action: String,
    /// What it was done to: `request/12`, `token/3`, ...
    pub subject: String,
    /// The team the subject belongs to, when it belongs to one.
    pub team: Option<TeamName>,
    /// What else is worth knowing, as recorded at the time.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
}

impl AuditEvent {
    /// The request id of a `request/N` subject.
    pub fn request_id(&self) -> Option<i64> {
        self.subject
            .strip_prefix("request/")
            .and_then(|id| id.parse().ok())
    }
}

/// `GET /audit` as typed. Empty values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawAuditQuery {
    /// Team name: events about that team's requests.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
            example = "payments"
        )
    )]
    pub team: Option<String>,
    /// Email of who acted, exactly as recorded.
    #[cfg_attr(
        feature = "openapi",
        param(
            max_length = 254,
            pattern = r"^([^@\s\x00-\x1F\x7F-\x9F]+@[^@\s\x00-\x1F\x7F-\x9F]+)?$",
            example = "pat@example.com"
        )
    )]
    pub actor: Option<String>,
    /// Request id: that request's events.
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>, minimum = 1, example = 12))]
    pub request: Option<String>,
    /// Events at or after this instant: RFC 3339 UTC `YYYY-MM-DDTHH:MM:SSZ`, or a date
    /// `YYYY-MM-DD` (its start).
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^(([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(0[13-9]|1[0-2])-(29|30)|[0-9]{4}-(0[13578]|1[02])-31|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?)?$",
            example = "2026-03-01"
        )
    )]
    pub since: Option<String>,
    /// Events before this instant (exclusive), same forms as `since`:
    /// `since=2026-03-01&until=2026-03-02` is one day.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^(([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|[0-9]{4}-(0[13-9]|1[0-2])-(29|30)|[0-9]{4}-(0[13578]|1[02])-31|([0-9]{2}(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00)-02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?)?$",
            example = "2026-03-02T00:00:00Z"
        )
    )]
    pub until: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 1000000))]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 100))]
    pub per_page: Option<String>,
}

impl RawAuditQuery {
    /// The filters that are set, on `page` (left out when 1), as a URL query string.
    pub fn to_query_string(&self, page: u32) -> String {
        let page = (page > 1).then(|| page.to_string());
        query_string([
            ("team", non_empty(&self.team)),
            ("actor", non_empty(&self.actor)),
            ("request", non_empty(&self.request)),
            ("since", non_empty(&self.since)),
            ("until", non_empty(&self.until)),
            ("page", page.as_deref()),
            ("per_page", non_empty(&self.per_page)),
        ])
    }

    /// Whether any filter (not paging) is set.
    pub fn is_filtered(&self) -> bool {
        [
            &self.team,
            &self.actor,
            &self.request,
            &self.since,
            &self.until,
        ]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
    }
}

/// A validated audit-log query; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub team: Option<TeamName>,
    pub actor: Option<String>,
    /// Only this request's events (subject `request/N`).
    pub request: Option<i64>,
    /// Inclusive lower bound, normalised to `YYYY-MM-DDTHH:MM:SSZ`.
    pub since: Option<String>,
    /// Exclusive upper bound, normalised to `YYYY-MM-DDTHH:MM:SSZ`.
    pub until: Option<String>,
    pub page: PageRequest,
}

impl AuditQuery {
    /// Validates every field and reports every problem, each naming its parameter.
    pub fn parse(raw: &RawAuditQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let team = non_empty(&raw.team).and_then(|t| errors.collect(TeamName::parse("team", t)));
        let actor =
            non_empty(&raw.actor).and_then(|a| errors.collect(parse_actor("actor", a.to_owned())));
        let request =
            non_empty(&raw.request).and_then(|r| errors.collect(parse_request_id("request", r)));
        let since = non_empty(&raw.since).and_then(|s| errors.collect(parse_instant("since", s)));
        let until = non_empty(&raw.until).and_then(|u| errors.collect(parse_instant("until", u)));
        // A backwards range is not an error: it simply holds no events.
        let page = match PageRequest::parse(&raw.page, &raw.per_page) {
            Ok(page) => page,
            Err(page_errors) => {
                errors.0.extend(page_errors.0);
                PageRequest::default()
            }
        };
        errors.into_result(Self {
            team,
            actor,
            request,
            since,
            until,
            page,
        })
    }

    /// The audit subject the `request` filter selects: `request/N`.
    pub fn subject(&self) -> Option<String> {
        self.request.map(|id| format!("request/{id}"))
    }
}

/// An email-ish identifier: `local@domain`, no spaces or control characters, at most
/// [`MAX_ACTOR_LEN`] characters. Compared exactly as recorded.
fn parse_actor(path: &str, value: String) -> Result<String, FieldError> {
    if value.chars().count() > MAX_ACTOR_LEN {
        return Err(FieldError::new(
            path,
            format!("must be at most {MAX_ACTOR_LEN} characters"),
        ));
    }
    let shaped = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    });
    if !shaped || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(
            path,
            format!("must be an email address like pat@example.com (got {value:?})"),
        ));
    }
    Ok(value)
}

/// A request id: plain digits, at least 1.
fn parse_request_id(path: &str, value: &str) -> Result<i64, FieldError> {
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<i64>() {
        Ok(id) if digits && id > 0 => Ok(id),
        _ => Err(FieldError::new(
            path,
            format!("must be a request id, a whole number from 1 (got {value:?})"),
        )),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` as is, or `YYYY-MM-DD` as its first second; checked by hand
/// (real calendar dates and times of day), since `domain` has no date library.
fn parse_instant(path: &str, value: &str) -> Result<String, FieldError> {
    let invalid = || {
        FieldError::new(
            path,
            format!(
                "must be a UTC time like 2026-03-01T09:30:00Z or a date like 2026-03-01 \
                 (got {value:?})"
            ),
        )
    };
    let bytes = value.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = bytes.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, b| n * 10 + u32::from(b - b'0')))
    };
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    if !(bytes.len() == 10 || bytes.len() == 20) || !at(4, b'-') || !at(7, b'-') {
        return Err(invalid());
    }
    let (year, month, day) = match (number(0..4), number(5..7), number(8..10)) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err(invalid()),
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(invalid());
    }
    if bytes.len() == 10 {
        return Ok(format!("{value}T00:00:00Z"));
    }
    if !at(10, b'T') || !at(13, b':') || !at(16, b':') || !at(19, b'Z') {
        return Err(invalid());
    }
    match (number(11..13), number(14..16), number(17..19)) {
        (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60 => Ok(value.to_owned()),
        _ => Err(invalid()),
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawAuditQuery {
        let mut raw = RawAuditQuery::default();
        for (key, value) in pairs {
            let value = Some((*value).to_owned());
            match *key {
                "team" => raw.team = value,
                "actor" => raw.actor = value,
                "request" => raw.request = value,
                "since" => raw.since = value,
                "until" => raw.until = value,
                "page" => raw.page = value,
                "per_page" => raw.per_page = value,
                _ => unreachable!("{key}"),
            }
        }
        raw
    }

    fn error_paths(raw: &RawAuditQuery) -> Vec<String> {
        AuditQuery::parse(raw)
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn nothing_set_is_the_first_page_of_everything() {
        assert_eq!(
            AuditQuery::parse(&RawAuditQuery::default()),
            Ok(AuditQuery::default())
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let empty = raw(&[
            ("team", ""),
            ("actor", ""),
            ("request", ""),
            ("since", ""),
            ("until", ""),
        ]);
        assert_eq!(AuditQuery::parse(&empty), Ok(AuditQuery::default()));
    }

    #[test]
    fn parses_every_field() {
        let query = AuditQuery::parse(&raw(&[
            ("team", "payments"),
            ("actor", "pat@example.com"),
            ("request", "12"),
            ("since", "2026-03-01"),
            ("until", "2026-03-01T09:30:00Z"),
            ("page", "2"),
            ("per_page", "50"),
        ]))
        .unwrap();
        assert_eq!(query.team.unwrap().as_str(), "payments");
        assert_eq!(query.actor.as_deref(), Some("pat@example.com"));
        assert_eq!(query.request, Some(12));
        assert_eq!(query.since.as_deref(), Some("2026-03-01T00:00:00Z"));
        assert_eq!(query.until.as_deref(), Some("2026-03-01T09:30:00Z"));
        assert_eq!((query.page.page, query.page.per_page), (2, 50));
    }

    #[test]
    fn request_filter_selects_its_subject() {
        let query = AuditQuery::parse(&raw(&[("request", "7")])).unwrap();
        assert_eq!(query.subject().as_deref(), Some("request/7"));
        assert_eq!(AuditQuery::default().subject(), None);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = raw(&[
            ("team", "Payments!"),
            ("actor", "not an email"),
            ("request", "abc"),
            ("since", "yesterday"),
            ("until", "2026-13-01"),
            ("page", "0"),
            ("per_page", "1000"),
        ]);
        assert_eq!(
            error_paths(&bad),
            [
                "team", "actor", "request", "since", "until", "page", "per_page"
            ]
        );
    }

    #[test]
    fn actors_are_email_addresses() {
        for ok in ["pat@example.com", "a.b+c@sub.example.org"] {
            assert!(AuditQuery::parse(&raw(&[("actor", ok)])).is_ok(), "{ok}");
        }
        let long = format!("{}@example.com", "x".repeat(MAX_ACTOR_LEN));
        for bad in [
            "pat",
            "@example.com",
            "pat@",
            "a@b@c",
            "pat @example.com",
            &long,
        ] {
            assert_eq!(error_paths(&raw(&[("actor", bad)])), ["actor"], "{bad:?}");
        }
    }

    #[test]
    fn request_ids_are_positive_plain_numbers() {
        for bad in [
            "0",
            "-1",
            "+3",
            " 3",
            "1.0",
            "99999999999999999999",
            "request/3",
        ] {
            assert_eq!(
                error_paths(&raw(&[("request", bad)])),
                ["request"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn times_are_utc_timestamps_or_dates() {
        for (given, stored) in [
            ("2026-03-01", "2026-03-01T00:00:00Z"),
            ("2024-02-29", "2024-02-29T00:00:00Z"),
            ("2026-12-31T23:59:59Z", "2026-12-31T23:59:59Z"),
        ] {
            let query = AuditQuery::parse(&raw(&[("since", given)])).unwrap();
            assert_eq!(query.since.as_deref(), Some(stored), "{given}");
        }
        for bad in [
            "2026-3-1",
            "2026-02-29",
            "2026-04-31",
            "2026-03-01T24:00:00Z",
            "2026-03-01T09:60:00Z",
            "2026-03-01T09:30:00",
            "2026-03-01T09:30:00+01:00",
            "2026-03-01T09:30:00.5Z",
            "2026-03-01 09:30:00Z",
            "2026-03-01t09:30:00z",
            "１２３４-03-01",
        ] {
            assert_eq!(error_paths(&raw(&[("since", bad)])), ["since"], "{bad:?}");
            assert_eq!(error_paths(&raw(&[("until", bad)])), ["until"], "{bad:?}");
        }
    }

    #[test]
    fn a_backwards_range_is_accepted_and_empty() {
        let backwards = raw(&[("since", "2026-03-02"), ("until", "2026-03-01T23:59:59Z")]);
        assert!(AuditQuery::parse(&backwards).is_ok());
    }

    #[test]
    fn query_string_keeps_set_filters_encoded() {
        let raw = raw(&[
            ("team", "payments"),
            ("actor", "pat+ops@example.com"),
            ("since", "2026-03-01T09:30:00Z"),
            ("request", ""),
        ]);
        assert!(raw.is_filtered());
        assert_eq!(
            raw.to_query_string(1),
            "team=payments&actor=pat%2Bops%40example.com&since=2026-03-01T09%3A30%3A00Z"
        );
        assert!(raw.to_query_string(3).ends_with("&page=3"));
        assert!(!RawAuditQuery::default().is_filtered());
        assert_eq!(RawAuditQuery::default().to_query_string(1), "");
    }

    #[test]
    fn request_subjects_link_to_their_request() {
        let event = |subject: &str| AuditEvent {
            id: 1,
            at: "2026-03-01T09:30:00Z".into(),
            actor: "pat@example.com".into(),
            action: "request.submit".into(),
            subject: subject.into(),
            team: None,
            detail: Value::Null,
        };
        assert_eq!(event("request/12").request_id(), Some(12));
        assert_eq!(event("token/3").request_id(), None);
    }
}
