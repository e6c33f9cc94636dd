//! The few server-rendered pages around sign-in (no app shell, no scripts).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

/// Escapes text for element content and double-quoted attributes alike.
pub fn escape(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// A plain page in the portal's style; `body` must already be escaped HTML.
pub fn page(status: StatusCode, title: &str, body: &str, dev_banner: bool) -> Response {
    let banner = if dev_banner {
        r#"<aside class="dev-banner" aria-label="Development sign-in">Development sign-in: anyone who can reach this address can act as any demo user.</aside>"#
    } else {
        ""
    };
    let html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Stargate</title><link rel="stylesheet" href="/pkg/stargate.css"><link rel="icon" type="image/svg+xml" href="/favicon.svg"></head>
<body>{banner}<header class="topbar"><div class="container topbar-inner"><a class="brand" href="/services"><span class="brand-mark" aria-hidden="true">◎</span>Stargate</a></div></header>
<main class="container narrow"><h1>{title}</h1>{body}</main></body></html>"#,
        title = escape(title)
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}
