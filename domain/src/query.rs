//! The catalog list's query: what comes in from a URL, validated once for pages and API.

use serde::{Deserialize, Serialize};

use crate::{FieldError, FieldErrors, ServiceStatus, TeamName, names::check_dns_label};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
/// Far beyond any real catalog; keeps offsets well inside i64.
pub const MAX_PAGE: u32 = 1_000_000;
pub const MAX_SEARCH_LEN: usize = 100;

/// The query string as typed: every field optional text, nothing trusted yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct RawServiceQuery {
    /// Search text, matched case-insensitively in names, descriptions and hosts.
    #[cfg_attr(feature = "openapi", param(max_length = 100))]
    pub q: Option<String>,
    // Empty values count as absent (HTML forms send them for "any"); the patterns say so.
    /// Team name.
    #[cfg_attr(
        feature = "openapi",
        param(
            pattern = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$",
            example = "payments"
        )
    )]
    pub team: Option<String>,
    /// Cluster name.
    #[cfg_attr(
        feature = "openapi",
        param(pattern = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)?$", example = "demo")
    )]
    pub cluster: Option<String>,
    /// pending, live, degraded or failed.
    #[cfg_attr(
        feature = "openapi",
        param(pattern = "^(pending|live|degraded|failed)?$", example = "live")
    )]
    pub status: Option<String>,
    /// `drifted`: only services whose Deployment or Service no longer holds what was
    /// approved (drifted or missing at the last drift check).
    #[cfg_attr(
        feature = "openapi",
        param(pattern = "^(drifted)?$", example = "drifted")
    )]
    pub drift: Option<String>,
    /// team (the default), name or updated (most recent first).
    #[cfg_attr(
        feature = "openapi",
        param(pattern = "^(team|name|updated)?$", example = "name")
    )]
    pub sort: Option<String>,
    /// Page number, from 1.
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 1000000))]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[cfg_attr(feature = "openapi", param(value_type = Option<u32>, minimum = 1, maximum = 100))]
    pub per_page: Option<String>,
}

/// How the catalog list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ServiceSort {
    /// By team, then name.
    #[default]
    Team,
    /// By name, then team.
    Name,
    /// Most recently changed first.
    Updated,
}

impl ServiceSort {
    pub const ALL: [ServiceSort; 3] = [Self::Team, Self::Name, Self::Updated];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Team => "team",
            Self::Name => "name",
            Self::Updated => "updated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Team => "Team",
            Self::Name => "Name",
            Self::Updated => "Recently changed",
        }
    }

    pub fn parse(path: &str, value: &str) -> Result<Self, FieldError> {
        let options = Self::ALL.map(|s| (s.as_str(), s));
        crate::field_error::choice(path, value, &options)
    }
}

/// Page number and size, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    pub page: u32,
    pub per_page: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    pub fn parse(page: &Option<String>, per_page: &Option<String>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let request = Self::collect(&mut errors, page, per_page);
        errors.into_result(request)
    }

    pub(crate) fn collect(
        errors: &mut FieldErrors,
        page: &Option<String>,
        per_page: &Option<String>,
    ) -> Self {
        // Numbers are not trimmed: `page=` or `page= 2` is a mistake worth naming.
        let page = page
            .as_deref()
            .and_then(|p| errors.collect(parse_bounded("page", p, MAX_PAGE)))
            .unwrap_or(1);
        let per_page = per_page
            .as_deref()
            .and_then(|p| errors.collect(parse_bounded("per_page", p, MAX_PER_PAGE)))
            .unwrap_or(DEFAULT_PER_PAGE);
        Self { page, per_page }
    }

    /// Rows to skip for this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }
}

/// A validated catalog query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQuery {
    /// Case-insensitive search text, trimmed; `None` when blank.
    pub q: Option<String>,
    pub team: Option<TeamName>,
    pub cluster: Option<String>,
    pub status: Option<ServiceStatus>,
    /// Only services with drift.
    pub drifted: bool,
    pub sort: ServiceSort,
    pub page: u32,
    pub per_page: u32,
}

impl Default for ServiceQuery {
    fn default() -> Self {
        Self {
            q: None,
            team: None,
            cluster: None,
            status: None,
            drifted: false,
            sort: ServiceSort::Team,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

pub(crate) fn non_blank(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A `LIKE` pattern matching `text` anywhere, lower-cased, with `%`, `_` and `\` escaped
/// by `\` (use `ESCAPE '\'`).
pub(crate) fn like_anywhere(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Filters are exact words: empty means "any", anything else is checked as sent.
pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Digits only: `u32::from_str` also takes `+5`, which a URL integer should not be.
fn parse_bounded(path: &str, value: &str, max: u32) -> Result<u32, FieldError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u32>() {
        Ok(n) if digits && (1..=max).contains(&n) => Ok(n),
        _ => Err(FieldError::new(
            path,
            format!("must be a whole number from 1 to {max} (got {value:?})"),
        )),
    }
}

impl ServiceQuery {
    /// Validates every field and reports every problem, each naming its parameter.
    pub fn parse(raw: &RawServiceQuery) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let q = non_blank(&raw.q).map(str::to_owned);
        if let Some(q) = &q
            && q.chars().count() > MAX_SEARCH_LEN
        {
            errors.push(FieldError::new(
                "q",
                format!("must be at most {MAX_SEARCH_LEN} characters"),
            ));
        }
        let team = non_empty(&raw.team).and_then(|t| errors.collect(TeamName::parse("team", t)));
        let cluster = non_empty(&raw.cluster).and_then(|c| {
            errors.collect(
                check_dns_label(c)
                    .map(|()| c.to_owned())
                    .map_err(|m| FieldError::new("cluster", m)),
            )
        });
        let status =
            non_empty(&raw.status).and_then(|s| errors.collect(ServiceStatus::parse("status", s)));
        let drifted = match non_empty(&raw.drift) {
            None => false,
            Some("drifted") => true,
            Some(other) => {
                errors.push(FieldError::new(
                    "drift",
                    format!("must be drifted or empty (got {other:?})"),
                ));
                false
            }
        };
        let sort = non_empty(&raw.sort)
            .and_then(|s| errors.collect(ServiceSort::parse("sort", s)))
            .unwrap_or_default();
        let paging = PageRequest::collect(&mut errors, &raw.page, &raw.per_page);
        let query = Self {
            q,
            team,
            cluster,
            status,
            drifted,
            sort,
            page: paging.page,
            per_page: paging.per_page,
        };
        errors.into_result(query)
    }

    /// Rows to skip for this page.
    pub fn offset(&self) -> u64 {
        PageRequest {
            page: self.page,
            per_page: self.per_page,
        }
        .offset()
    }

    /// A `LIKE` pattern matching the search text anywhere, lower-cased, with `%`, `_` and
    /// the escape character itself escaped by `\` (use `ESCAPE '\'`).
    pub fn like_pattern(&self) -> Option<String> {
        self.q.as_deref().map(like_anywhere)
    }

    /// The same query for another page, as a URL query string (`q=..&page=2`), leaving
    /// defaults out so shared links stay short.
    pub fn to_query_string(&self, page: u32) -> String {
        RawServiceQuery {
            q: self.q.clone(),
            team: self.team.as_ref().map(ToString::to_string),
            cluster: self.cluster.clone(),
            status: self.status.map(|s| s.as_str().to_owned()),
            drift: self.drifted.then(|| "drifted".to_owned()),
            sort: (self.sort != ServiceSort::Team).then(|| self.sort.as_str().to_owned()),
            page: (page != 1).then(|| page.to_string()),
            per_page: (self.per_page != DEFAULT_PER_PAGE).then(|| self.per_page.to_string()),
        }
        .to_query_string()
    }
}

impl RawServiceQuery {
    /// The fields that are set, as a URL query string; blank fields are left out, others
    /// kept as typed (trailing spaces too, so a search box bound to the URL keeps them).
    pub fn to_query_string(&self) -> String {
        let fields = [
            ("q", &self.q),
            ("team", &self.team),
            ("cluster", &self.cluster),
            ("status", &self.status),
            ("drift", &self.drift),
            ("sort", &self.sort),
            ("page", &self.page),
            ("per_page", &self.per_page),
        ];
        query_string(
            fields
                .iter()
                .map(|(key, value)| (*key, non_blank(value).and(value.as_deref()))),
        )
    }
}

/// `key=value` pairs joined with `&`, values percent-encoded; absent values left out.
pub(crate) fn query_string<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> String {
    pairs
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| format!("{key}={}", encode(v))))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawServiceQuery {
        let mut raw = RawServiceQuery::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "q" => raw.q = v,
                "team" => raw.team = v,
                "status" => raw.status = v,
                "cluster" => raw.cluster = v,
                "drift" => raw.drift = v,
                "sort" => raw.sort = v,
                "page" => raw.page = v,
                "per_page" => raw.per_page = v,
                _ => unreachable!(),
            }
        }
        raw
    }

    #[test]
    fn the_drift_filter_takes_drifted_only() {
        let q = ServiceQuery::parse(&raw(&[("drift", "drifted")])).unwrap();
        assert!(q.drifted);
        assert_eq!(q.to_query_string(1), "drift=drifted");
        assert!(!ServiceQuery::parse(&raw(&[("drift", "")])).unwrap().drifted);
        let errors = ServiceQuery::parse(&raw(&[("drift", "yes")])).unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["drift"]);
    }

    #[test]
    fn empty_query_is_first_page_of_twenty() {
        assert_eq!(
            ServiceQuery::parse(&RawServiceQuery::default()),
            Ok(ServiceQuery::default())
        );
    }

    #[test]
    fn blank_fields_count_as_absent() {
        let q = ServiceQuery::parse(&raw(&[("q", "  "), ("team", ""), ("status", "")])).unwrap();
        assert_eq!(q, ServiceQuery::default());
    }

    #[test]
    fn page_numbers_are_plain_digits() {
        for bad in ["", " 2", "+2", "2.0", "0", "-1"] {
            let errors = PageRequest::parse(&Some(bad.into()), &None).unwrap_err();
            assert_eq!(errors.0[0].path, "page", "{bad:?}");
        }
        let ok = PageRequest::parse(&Some("007".into()), &Some("100".into())).unwrap();
        assert_eq!((ok.page, ok.per_page), (7, 100));
    }

    #[test]
    fn parses_every_field() {
        let q = ServiceQuery::parse(&raw(&[
            ("q", " Checkout "),
            ("team", "payments"),
            ("status", "live"),
            ("page", "3"),
            ("per_page", "50"),
        ]))
        .unwrap();
        assert_eq!(q.q.as_deref(), Some("Checkout"));
        assert_eq!(q.team.unwrap().as_str(), "payments");
        assert_eq!(q.status, Some(ServiceStatus::Live));
        assert_eq!((q.page, q.per_page), (3, 50));
    }

    #[test]
    fn reports_every_bad_field_by_name() {
        let errors = ServiceQuery::parse(&raw(&[
            ("team", "Payments!"),
            ("status", "up"),
            ("page", "abc"),
            ("per_page", "1000"),
        ]))
        .unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["team", "status", "page", "per_page"]);
        assert!(errors.0[2].message.contains("\"abc\""));
        assert!(errors.0[3].message.contains("1 to 100"));
    }

    #[test]
    fn page_zero_and_negative_are_errors() {
        for bad in ["0", "-1", "1.5", "99999999999"] {
            let errors = ServiceQuery::parse(&raw(&[("page", bad)])).unwrap_err();
            assert_eq!(errors.0[0].path, "page", "{bad}");
        }
    }

    #[test]
    fn cluster_and_sort_are_validated_and_kept_in_links() {
        let q = ServiceQuery::parse(&raw(&[("cluster", "prod-eu"), ("sort", "updated")])).unwrap();
        assert_eq!(q.cluster.as_deref(), Some("prod-eu"));
        assert_eq!(q.sort, ServiceSort::Updated);
        assert_eq!(q.to_query_string(2), "cluster=prod-eu&sort=updated&page=2");
        let errors =
            ServiceQuery::parse(&raw(&[("cluster", "Prod EU"), ("sort", "size")])).unwrap_err();
        let paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["cluster", "sort"]);
    }

    #[test]
    fn page_request_defaults_and_bounds() {
        assert_eq!(PageRequest::parse(&None, &None), Ok(PageRequest::default()));
        let p = PageRequest::parse(&Some("3".into()), &Some("10".into())).unwrap();
        assert_eq!(p.offset(), 20);
        assert!(PageRequest::parse(&Some("0".into()), &None).is_err());
        assert!(PageRequest::parse(&None, &Some("101".into())).is_err());
    }

    #[test]
    fn overlong_search_is_refused() {
        let long = "x".repeat(MAX_SEARCH_LEN + 1);
        let errors = ServiceQuery::parse(&raw(&[("q", &long)])).unwrap_err();
        assert_eq!(errors.0[0].path, "q");
    }

    #[test]
    fn offset_follows_page() {
        let mut q = ServiceQuery::default();
        assert_eq!(q.offset(), 0);
        q.page = 3;
        assert_eq!(q.offset(), 40);
    }

    #[test]
    fn like_pattern_escapes_wildcards_and_lowercases() {
        let q = ServiceQuery {
            q: Some("Pay_100%\\x".into()),
            ..ServiceQuery::default()
        };
        assert_eq!(q.like_pattern().as_deref(), Some("%pay\\_100\\%\\\\x%"));
        assert_eq!(ServiceQuery::default().like_pattern(), None);
    }

    #[test]
    fn query_string_keeps_only_what_differs_from_defaults() {
        let q = ServiceQuery::parse(&raw(&[("q", "a b&c"), ("team", "search")])).unwrap();
        assert_eq!(q.to_query_string(1), "q=a%20b%26c&team=search");
        assert_eq!(q.to_query_string(2), "q=a%20b%26c&team=search&page=2");
        assert_eq!(ServiceQuery::default().to_query_string(1), "");
    }

    #[test]
    fn raw_query_string_skips_blank_fields() {
        let raw = raw(&[("q", "pay"), ("team", ""), ("status", "live")]);
        assert_eq!(raw.to_query_string(), "q=pay&status=live");
    }
}
