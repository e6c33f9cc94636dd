//! AWS EKS clusters: where the API server is (DescribeCluster gives the endpoint and the CA)
//! and the bearer token the API server accepts.
//!
//! The token is the one `aws eks get-token` and aws-iam-authenticator make: a presigned STS
//! `GetCallerIdentity` GET URL whose SigV4 signature (in the query string) also covers the
//! header `x-k8s-aws-id: <cluster name>`, encoded as `k8s-aws-v1.` + base64url (no padding).
//! The API server (through aws-iam-authenticator) calls that URL itself, so the token proves
//! who we are without ever carrying the secret key. Credentials come from the standard AWS
//! chain (environment, profile, SSO, web identity, ECS, IMDS); none of them, nor the token,
//! is ever logged or put into an error message.

use std::{
    sync::{Arc, LazyLock},
    time::{Duration, SystemTime},
};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::{
    Credentials,
    credential_fn::provide_credentials_fn,
    provider::{ProvideCredentials, SharedCredentialsProvider, error::CredentialsError},
};
use aws_sdk_eks::{
    error::{ProvideErrorMetadata, SdkError},
    operation::describe_cluster::DescribeClusterError,
    types::Cluster,
};
use aws_sigv4::{
    http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign},
    sign::v4,
};
use aws_smithy_http_client::{
    Builder as HttpClientBuilder,
    tls::{Provider as TlsProvider, rustls_provider::CryptoMode},
};
use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use tokio::sync::{Mutex, OnceCell};
use tracing::{Instrument as _, debug, info_span};

/// What every EKS token starts with.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster (signed, so it cannot be replayed elsewhere).
pub const K8S_AWS_ID_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the presigned URL, as `aws eks get-token` sets it. The API server
/// accepts an EKS token for 15 minutes from its `X-Amz-Date` regardless.
pub const PRESIGNED_URL_EXPIRES: Duration = Duration::from_secs(60);
/// A cached token is handed out until it is this old (tokens live 15 minutes).
pub const TOKEN_REFRESH_AFTER: Duration = Duration::from_secs(10 * 60);

/// The STS query that the token presigns.
const STS_QUERY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// An EKS cluster from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksCluster {
    /// AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// The EKS cluster name (also what the token is bound to).
    pub name: String,
    /// Overrides the AWS endpoint for DescribeCluster, e.g. an emulator such as moto in tests.
    pub aws_endpoint_url: Option<String>,
}

impl EksCluster {
    pub fn new(region: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            name: name.into(),
            aws_endpoint_url: None,
        }
    }

    pub fn with_aws_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.aws_endpoint_url = Some(url.into());
        self
    }
}

/// Where to reach a cluster's Kubernetes API server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// The API server URL (https).
    pub endpoint: String,
    /// The cluster CA certificate, PEM (decoded from `certificateAuthority.data`).
    pub certificate_authority_pem: Vec<u8>,
}

/// What went wrong talking to AWS about an EKS cluster. Messages name the cluster and the
/// region, never credentials or tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EksError {
    #[error("EKS cluster `{name}` was not found in region {region}")]
    ClusterNotFound { region: String, name: String },
    #[error(
        "EKS cluster `{name}` in region {region} has no API endpoint yet (status {status}); \
         it is probably still being created"
    )]
    NoEndpoint {
        region: String,
        name: String,
        status: String,
    },
    #[error(
        "EKS cluster `{name}` in region {region} has no certificate authority yet (status {status})"
    )]
    NoCertificateAuthority {
        region: String,
        name: String,
        status: String,
    },
    #[error(
        "EKS cluster `{name}` in region {region}: the certificate authority data is not valid base64 ({reason})"
    )]
    InvalidCertificateAuthority {
        region: String,
        name: String,
        reason: String,
    },
    #[error(
        "no AWS credentials found for EKS cluster `{name}` in region {region} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, \
         AWS_PROFILE, a web identity or an instance role): {detail}"
    )]
    CredentialsMissing {
        region: String,
        name: String,
        detail: String,
    },
    #[error("could not load AWS credentials for EKS cluster `{name}` in region {region}: {detail}")]
    Credentials {
        region: String,
        name: String,
        detail: String,
    },
    #[error("AWS {operation} for EKS cluster `{name}` in region {region} failed: {message}")]
    Aws {
        operation: &'static str,
        region: String,
        name: String,
        message: String,
    },
    #[error("invalid EKS cluster configuration: {0}")]
    InvalidConfig(String),
    #[error("could not sign the EKS token for cluster `{name}`: {message}")]
    Signing { name: String, message: String },
}

/// One HTTP client for every AWS call: rustls with ring (the crypto the rest of the server
/// uses), the platform's trusted roots.
static HTTP_CLIENT: LazyLock<aws_sdk_eks::config::SharedHttpClient> = LazyLock::new(|| {
    HttpClientBuilder::new()
        .tls_provider(TlsProvider::Rustls(CryptoMode::Ring))
        .build_https()
});

/// The AWS SDK configuration for `cluster`: its region, its endpoint override, and either the
/// given credentials or (with `None`) the default credential chain.
pub async fn sdk_config(
    cluster: &EksCluster,
    credentials: Option<SharedCredentialsProvider>,
) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(cluster.region.clone()))
        .http_client(HTTP_CLIENT.clone());
    if let Some(url) = &cluster.aws_endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    loader.load().await
}

/// DescribeCluster with credentials from the default AWS chain.
pub async fn describe(cluster: &EksCluster) -> Result<ClusterEndpoint, EksError> {
    let config = sdk_config(cluster, None).await;
    describe_with(cluster, &config).await
}

/// DescribeCluster with the given SDK configuration (see [`sdk_config`]).
pub async fn describe_with(
    cluster: &EksCluster,
    config: &SdkConfig,
) -> Result<ClusterEndpoint, EksError> {
    let span = info_span!("eks_describe", region = %cluster.region, cluster = %cluster.name);
    async {
        validate(cluster)?;
        let client = aws_sdk_eks::Client::new(config);
        let output = client
            .describe_cluster()
            .name(&cluster.name)
            .send()
            .await
            .map_err(|e| describe_error(cluster, e))?;
        let found = output.cluster().ok_or_else(|| EksError::ClusterNotFound {
            region: cluster.region.clone(),
            name: cluster.name.clone(),
        })?;
        let endpoint = endpoint_from(cluster, found)?;
        debug!(endpoint = %endpoint.endpoint, "described EKS cluster");
        Ok(endpoint)
    }
    .instrument(span)
    .await
}

/// The endpoint and CA of a described cluster, or why it has none yet.
fn endpoint_from(cluster: &EksCluster, found: &Cluster) -> Result<ClusterEndpoint, EksError> {
    let status = || {
        found
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let endpoint = match found.endpoint() {
        Some(e) if !e.trim().is_empty() => e.trim().to_owned(),
        _ => {
            return Err(EksError::NoEndpoint {
                region: cluster.region.clone(),
                name: cluster.name.clone(),
                status: status(),
            });
        }
    };
    let data = match found.certificate_authority().and_then(|ca| ca.data()) {
        Some(d) if !d.trim().is_empty() => d,
        _ => {
            return Err(EksError::NoCertificateAuthority {
                region: cluster.region.clone(),
                name: cluster.name.clone(),
                status: status(),
            });
        }
    };
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let certificate_authority_pem =
        STANDARD
            .decode(compact)
            .map_err(|e| EksError::InvalidCertificateAuthority {
                region: cluster.region.clone(),
                name: cluster.name.clone(),
                reason: e.to_string(),
            })?;
    Ok(ClusterEndpoint {
        endpoint,
        certificate_authority_pem,
    })
}

fn describe_error(
    cluster: &EksCluster,
    err: SdkError<DescribeClusterError, aws_sdk_eks::config::http::HttpResponse>,
) -> EksError {
    if let Some(service) = err.as_service_error() {
        if service.is_resource_not_found_exception() {
            return EksError::ClusterNotFound {
                region: cluster.region.clone(),
                name: cluster.name.clone(),
            };
        }
        let code = service.code().unwrap_or("error");
        let message = service
            .message()
            .map(|m| format!("{code}: {m}"))
            .unwrap_or_else(|| code.to_owned());
        return EksError::Aws {
            operation: "DescribeCluster",
            region: cluster.region.clone(),
            name: cluster.name.clone(),
            message,
        };
    }
    if let Some(credentials) = find_credentials_error(&err) {
        return credentials_error(cluster, credentials);
    }
    EksError::Aws {
        operation: "DescribeCluster",
        region: cluster.region.clone(),
        name: cluster.name.clone(),
        message: error_chain(&err),
    }
}

/// An error and its sources on one line, `outer: inner: ...` (Display only: no Debug output,
/// which could carry more than a person needs to read).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        // Some errors repeat their source's text in their own message.
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    let joined = parts.join(": ");
    // Multi-line messages (the credential chain lists each provider it tried) on one line.
    let mut line = String::with_capacity(joined.len());
    for (i, l) in joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            line.push_str(if line.ends_with(':') { " " } else { "; " });
        }
        line.push_str(l);
    }
    line
}

/// The credential provider's error somewhere in the chain of sources, if that is what failed.
fn find_credentials_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a CredentialsError> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<CredentialsError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn credentials_error(cluster: &EksCluster, err: &CredentialsError) -> EksError {
    let detail = error_chain(err);
    match err {
        CredentialsError::CredentialsNotLoaded(_) => EksError::CredentialsMissing {
            region: cluster.region.clone(),
            name: cluster.name.clone(),
            detail,
        },
        _ => EksError::Credentials {
            region: cluster.region.clone(),
            name: cluster.name.clone(),
            detail,
        },
    }
}

fn validate(cluster: &EksCluster) -> Result<(), EksError> {
    validate_parts(&cluster.region, &cluster.name)
}

fn validate_parts(region: &str, name: &str) -> Result<(), EksError> {
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(EksError::InvalidConfig(format!(
            "`{region}` is not an AWS region name"
        )));
    }
    // EKS: 1-100 characters, starting with a letter or digit, then letters, digits, - and _.
    let name_ok = (1..=100).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(EksError::InvalidConfig(format!(
            "`{name}` is not an EKS cluster name"
        )));
    }
    Ok(())
}

/// The EKS bearer token for `cluster` in `region`, signed with `credentials` at time `at`: a
/// pure function of its inputs (the same inputs give the same token).
///
/// The URL is `https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15`
/// presigned with SigV4 in the query (`X-Amz-Expires=60`, signed headers
/// `host;x-k8s-aws-id`, `X-Amz-Security-Token` when the credentials have a session token), its
/// parameters in the order botocore writes them, so the token is byte for byte the one
/// `aws eks get-token` prints for the same credentials and time.
pub fn presigned_token(
    credentials: &Credentials,
    region: &str,
    cluster: &str,
    at: SystemTime,
) -> Result<String, EksError> {
    validate_parts(region, cluster)?;
    let signing_error = |message: String| EksError::Signing {
        name: cluster.to_owned(),
        message,
    };

    let base = format!("https://sts.{region}.amazonaws.com/?{STS_QUERY}");
    let request = SignableRequest::new(
        "GET",
        base.as_str(),
        std::iter::once((K8S_AWS_ID_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| signing_error(e.to_string()))?;

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGNED_URL_EXPIRES);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(at)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(e.to_string()))?
        .into();
    let (instructions, signature) = sign(request, &params)
        .map_err(|e| signing_error(e.to_string()))?
        .into_parts();

    let param = |name: &str| {
        instructions
            .params()
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    };
    let mut url = base;
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
    ] {
        match param(name) {
            Some(value) => {
                url.push('&');
                url.push_str(name);
                url.push('=');
                url.push_str(&percent_encode(value));
            }
            None if name == "X-Amz-Security-Token" => {}
            None => return Err(signing_error(format!("the signer gave no {name}"))),
        }
    }
    url.push_str("&X-Amz-Signature=");
    url.push_str(&signature);

    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url)))
}

/// RFC 3986 percent-encoding of everything but the unreserved characters (what SigV4 and
/// botocore use for query values).
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where [`EksTokenSource`] reads the time (injectable for tests).
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

struct CachedToken {
    token: String,
    issued_at: SystemTime,
    fresh_until: SystemTime,
}

/// The bearer token of one EKS cluster, signed on demand and reused while it is younger than
/// [`TOKEN_REFRESH_AFTER`] (and the credentials that signed it have not expired). Safe to share
/// between tasks; concurrent callers wait for one signing.
pub struct EksTokenSource {
    cluster: EksCluster,
    credentials: OnceCell<SharedCredentialsProvider>,
    clock: Clock,
    cached: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for EksTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EksTokenSource")
            .field("cluster", &self.cluster)
            .finish_non_exhaustive()
    }
}

impl EksTokenSource {
    /// A token source using the default AWS credential chain (resolved on first use, asked
    /// again for every new token, so rotated or refreshed credentials are picked up).
    pub fn new(cluster: EksCluster) -> Self {
        Self {
            cluster,
            credentials: OnceCell::new(),
            clock: Arc::new(SystemTime::now),
            cached: Mutex::new(None),
        }
    }

    /// A token source signing with the given credentials provider.
    pub fn with_credentials_provider(
        cluster: EksCluster,
        credentials: SharedCredentialsProvider,
    ) -> Self {
        Self {
            credentials: OnceCell::new_with(Some(credentials)),
            ..Self::new(cluster)
        }
    }

    /// Reads the time from `clock` instead of the system clock.
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn cluster(&self) -> &EksCluster {
        &self.cluster
    }

    /// A valid token: the cached one while it is fresh, otherwise a newly signed one.
    pub async fn token(&self) -> Result<String, EksError> {
        let span =
            info_span!("eks_token", region = %self.cluster.region, cluster = %self.cluster.name);
        async {
            let mut cached = self.cached.lock().await;
            let now = (self.clock)();
            if let Some(c) = cached.as_ref()
                && c.issued_at <= now
                && now < c.fresh_until
            {
                return Ok(c.token.clone());
            }
            let provider = self.credentials_provider().await;
            let credentials = provider
                .provide_credentials()
                .await
                .map_err(|e| credentials_error(&self.cluster, &e))?;
            let token =
                presigned_token(&credentials, &self.cluster.region, &self.cluster.name, now)?;
            let mut fresh_until = now + TOKEN_REFRESH_AFTER;
            if let Some(expiry) = credentials.expiry() {
                fresh_until = fresh_until.min(expiry);
            }
            debug!("signed a new EKS token");
            *cached = Some(CachedToken {
                token: token.clone(),
                issued_at: now,
                fresh_until,
            });
            Ok(token)
        }
        .instrument(span)
        .await
    }

    /// Forgets the cached token (e.g. after the API server answered 401), so the next
    /// [`token`](Self::token) signs a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn credentials_provider(&self) -> SharedCredentialsProvider {
        self.credentials
            .get_or_init(|| async {
                let config = sdk_config(&self.cluster, None).await;
                config.credentials_provider().unwrap_or_else(|| {
                    // Only when credentials were explicitly turned off; fail at use, clearly.
                    SharedCredentialsProvider::new(provide_credentials_fn(|| async {
                        Err(CredentialsError::not_loaded_no_source())
                    }))
                })
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{
        collections::BTreeMap,
        sync::atomic::{AtomicU64, Ordering},
    };

    /// 2026-01-02T03:04:05Z
    fn vector_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_323_045)
    }

    fn vector_credentials(session_token: Option<&str>) -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token.map(str::to_owned),
            None,
            "test",
        )
    }

    /// The presigned URL inside a token.
    fn decode(token: &str) -> String {
        let payload = token.strip_prefix(TOKEN_PREFIX).expect("token prefix");
        assert!(!payload.contains('='), "no padding");
        assert!(
            !payload.contains('+') && !payload.contains('/'),
            "base64url"
        );
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("utf-8")
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// (scheme+host+path, decoded query parameters in order)
    fn split(url: &str) -> (&str, Vec<(String, String)>) {
        let (base, query) = url.split_once('?').expect("query");
        let params = query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').expect("k=v");
                (k.to_owned(), percent_decode(v))
            })
            .collect();
        (base, params)
    }

    #[test]
    fn token_is_a_presigned_get_caller_identity_url() {
        let token = presigned_token(
            &vector_credentials(None),
            "eu-west-1",
            "demo",
            vector_time(),
        )
        .unwrap();
        let url = decode(&token);
        let (base, params) = split(&url);
        assert_eq!(base, "https://sts.eu-west-1.amazonaws.com/");
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Action",
                "Version",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Signature"
            ]
        );
        let p: BTreeMap<_, _> = params.into_iter().collect();
        assert_eq!(p["Action"], "GetCallerIdentity");
        assert_eq!(p["Version"], "2011-06-15");
        assert_eq!(p["X-Amz-Algorithm"], "AWS4-HMAC-SHA256");
        assert_eq!(
            p["X-Amz-Credential"],
            "AKIDEXAMPLE/20260102/eu-west-1/sts/aws4_request"
        );
        assert!(
            url.contains(
                "X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request&"
            )
        );
        assert_eq!(p["X-Amz-Date"], "20260102T030405Z");
        assert_eq!(p["X-Amz-Expires"], "60");
        assert_eq!(p["X-Amz-SignedHeaders"], "host;x-k8s-aws-id");
        let signature = &p["X-Amz-Signature"];
        assert_eq!(signature.len(), 64);
        assert!(
            signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert!(!url.contains("wJalrXUtnFEMI"), "the secret never appears");
    }

    /// Known-good vector from awscli's own `aws eks get-token` code (awscli 1.46.3 with
    /// botocore 1.44.8, in a throwaway venv: `pip install boto3==1.44.8 awscli`), run as:
    ///
    /// ```python
    /// import datetime, botocore.auth, botocore.session
    /// from awscli.customizations.eks.get_token import STSClientFactory, TokenGenerator
    /// botocore.auth.get_current_datetime = lambda *a, **k: datetime.datetime(2026, 1, 2, 3, 4, 5)
    /// session = botocore.session.Session()   # with AWS_CONFIG_FILE=/nonexistent
    /// session.set_credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', None)
    /// session.set_config_variable('sts_regional_endpoints', 'regional')
    /// sts = STSClientFactory(session).get_sts_client(region_name='eu-west-1')
    /// print(TokenGenerator(sts).get_token('demo'))
    /// ```
    ///
    /// STSClientFactory registers the `x-k8s-aws-id` header on the `before-sign` event, and
    /// TokenGenerator calls `generate_presigned_url('get_caller_identity', ExpiresIn=60,
    /// HttpMethod='GET')` (SigV4QueryAuth). The signature was cross-checked with a
    /// stdlib-only SigV4 computation (canonical request with the empty-body SHA-256 as payload
    /// hash). The whole token is pinned, not just the signature.
    const AWSCLI_TOKEN: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMTAyJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ODk3OTY2MGVjOTE0NTk3NjMyODNlNGM2Y2E3YmVjNTI1MDY5MmIzYzZhMTBlMDg2YTJkZjM0NWY2MDI1NTU1Mg";
    const AWSCLI_SIGNATURE: &str =
        "8979660ec91459763283e4c6ca7bec5250692b3c6a10e086a2df345f60255552";

    #[test]
    fn token_matches_aws_eks_get_token() {
        let token = presigned_token(
            &vector_credentials(None),
            "eu-west-1",
            "demo",
            vector_time(),
        )
        .unwrap();
        let (_, params) = split(&decode(&token));
        let signature = &params
            .iter()
            .find(|(k, _)| k == "X-Amz-Signature")
            .unwrap()
            .1;
        assert_eq!(signature, AWSCLI_SIGNATURE);
        assert_eq!(token, AWSCLI_TOKEN);
        // Deterministic.
        assert_eq!(
            token,
            presigned_token(
                &vector_credentials(None),
                "eu-west-1",
                "demo",
                vector_time()
            )
            .unwrap()
        );
    }

    /// Same script as above with `session.set_credentials(..., 'FQoGZXIvYXdzEXAMPLETOKEN//+=')`.
    const AWSCLI_SESSION_SIGNATURE: &str =
        "be4e817042a4cea6c56c90a7680fa1546e51cb5a446e5a145aa73218023ae6b3";

    #[test]
    fn session_token_is_in_the_url_and_signed() {
        let session_token = "FQoGZXIvYXdzEXAMPLETOKEN//+=";
        let token = presigned_token(
            &vector_credentials(Some(session_token)),
            "eu-west-1",
            "demo",
            vector_time(),
        )
        .unwrap();
        let url = decode(&token);
        assert!(url.contains("&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLETOKEN%2F%2F%2B%3D&"));
        let (_, params) = split(&url);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            &names[6..],
            [
                "X-Amz-SignedHeaders",
                "X-Amz-Security-Token",
                "X-Amz-Signature"
            ]
        );
        let p: BTreeMap<_, _> = params.into_iter().collect();
        assert_eq!(p["X-Amz-Security-Token"], session_token);
        // Signed: the signature is botocore's for the same request with the token, and it
        // differs from the one without.
        assert_eq!(p["X-Amz-Signature"], AWSCLI_SESSION_SIGNATURE);
        assert_ne!(p["X-Amz-Signature"], AWSCLI_SIGNATURE);
    }

    #[test]
    fn token_is_bound_to_cluster_and_region() {
        let creds = vector_credentials(None);
        let demo = presigned_token(&creds, "eu-west-1", "demo", vector_time()).unwrap();
        let other = presigned_token(&creds, "eu-west-1", "other", vector_time()).unwrap();
        let us = presigned_token(&creds, "us-east-1", "demo", vector_time()).unwrap();
        assert_ne!(demo, other);
        assert!(decode(&us).starts_with("https://sts.us-east-1.amazonaws.com/?"));
        assert!(matches!(
            presigned_token(&creds, "eu-west-1", "bad name", vector_time()),
            Err(EksError::InvalidConfig(_))
        ));
        assert!(matches!(
            presigned_token(&creds, "evil.com/x", "demo", vector_time()),
            Err(EksError::InvalidConfig(_))
        ));
    }

    /// A clock the test moves by hand, in seconds after the vector time.
    fn manual_clock() -> (
        Arc<AtomicU64>,
        impl Fn() -> SystemTime + Send + Sync + 'static,
    ) {
        let offset = Arc::new(AtomicU64::new(0));
        let read = offset.clone();
        (offset, move || {
            vector_time() + Duration::from_secs(read.load(Ordering::SeqCst))
        })
    }

    #[tokio::test]
    async fn cached_token_is_reused_for_ten_minutes() {
        let (offset, clock) = manual_clock();
        let source = EksTokenSource::with_credentials_provider(
            EksCluster::new("eu-west-1", "demo"),
            SharedCredentialsProvider::new(vector_credentials(None)),
        )
        .with_clock(clock);

        let first = source.token().await.unwrap();
        assert_eq!(first, AWSCLI_TOKEN, "signed at the clock's time");
        offset.store(60, Ordering::SeqCst);
        assert_eq!(source.token().await.unwrap(), first);
        offset.store(599, Ordering::SeqCst);
        assert_eq!(source.token().await.unwrap(), first);

        offset.store(600, Ordering::SeqCst);
        let second = source.token().await.unwrap();
        assert_ne!(second, first);
        assert!(decode(&second).contains("X-Amz-Date=20260102T031405Z"));
        offset.store(900, Ordering::SeqCst);
        assert_eq!(source.token().await.unwrap(), second);

        source.invalidate().await;
        let third = source.token().await.unwrap();
        assert!(decode(&third).contains("X-Amz-Date=20260102T031905Z"));
    }

    #[tokio::test]
    async fn token_is_not_reused_past_credential_expiry() {
        let (offset, clock) = manual_clock();
        let expiring = Credentials::new(
            "ASIAEXAMPLE",
            "secret",
            Some("session".to_owned()),
            Some(vector_time() + Duration::from_secs(120)),
            "test",
        );
        let source = EksTokenSource::with_credentials_provider(
            EksCluster::new("eu-west-1", "demo"),
            SharedCredentialsProvider::new(expiring),
        )
        .with_clock(clock);
        let first = source.token().await.unwrap();
        offset.store(119, Ordering::SeqCst);
        assert_eq!(source.token().await.unwrap(), first);
        offset.store(120, Ordering::SeqCst);
        assert_ne!(source.token().await.unwrap(), first);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token() {
        let source = Arc::new(EksTokenSource::with_credentials_provider(
            EksCluster::new("eu-west-1", "demo"),
            SharedCredentialsProvider::new(vector_credentials(None)),
        ));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let source = source.clone();
                tokio::spawn(async move { source.token().await.unwrap() })
            })
            .collect();
        let mut tokens = Vec::new();
        for t in tasks {
            tokens.push(t.await.unwrap());
        }
        tokens.dedup();
        assert_eq!(tokens.len(), 1);
    }

    #[tokio::test]
    async fn missing_credentials_are_reported_without_secrets() {
        let none = SharedCredentialsProvider::new(provide_credentials_fn(|| async {
            Err(CredentialsError::not_loaded(
                "no providers in chain provided credentials",
            ))
        }));
        let source = EksTokenSource::with_credentials_provider(
            EksCluster::new("eu-west-1", "demo"),
            none.clone(),
        );
        let err = source.token().await.unwrap_err();
        assert!(
            matches!(err, EksError::CredentialsMissing { .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("no AWS credentials found for EKS cluster `demo`")
        );

        // DescribeCluster fails before anything is sent (the endpoint is never contacted).
        let cluster =
            EksCluster::new("eu-west-1", "demo").with_aws_endpoint_url("http://127.0.0.1:9");
        let config = sdk_config(&cluster, Some(none)).await;
        let err = describe_with(&cluster, &config).await.unwrap_err();
        assert!(
            matches!(err, EksError::CredentialsMissing { .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn unreachable_aws_endpoint_is_a_readable_aws_error() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let cluster =
            EksCluster::new("eu-west-1", "demo").with_aws_endpoint_url("http://127.0.0.1:9");
        let creds = SharedCredentialsProvider::new(vector_credentials(None));
        let config = sdk_config(&cluster, Some(creds)).await;
        let err = describe_with(&cluster, &config).await.unwrap_err();
        let EksError::Aws {
            operation, message, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*operation, "DescribeCluster");
        assert!(message.contains("dispatch failure"), "{message}");
        assert!(!message.contains('\n'));
        let text = err.to_string();
        assert!(
            text.starts_with(
                "AWS DescribeCluster for EKS cluster `demo` in region eu-west-1 failed: "
            ),
            "{text}"
        );
        assert!(!text.contains("wJalrXUtnFEMI") && !text.contains("AKIDEXAMPLE"));
    }

    #[test]
    fn cluster_without_endpoint_or_ca_is_reported() {
        use aws_sdk_eks::types::{Certificate, ClusterStatus};
        let cluster = EksCluster::new("eu-west-1", "demo");
        let creating = Cluster::builder().status(ClusterStatus::Creating).build();
        let err = endpoint_from(&cluster, &creating).unwrap_err();
        assert_eq!(
            err.to_string(),
            "EKS cluster `demo` in region eu-west-1 has no API endpoint yet (status CREATING); \
             it is probably still being created"
        );

        let no_ca = Cluster::builder()
            .status(ClusterStatus::Active)
            .endpoint("https://ABC.gr7.eu-west-1.eks.amazonaws.com")
            .build();
        assert!(matches!(
            endpoint_from(&cluster, &no_ca),
            Err(EksError::NoCertificateAuthority { .. })
        ));

        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let ready = Cluster::builder()
            .status(ClusterStatus::Active)
            .endpoint("https://ABC.gr7.eu-west-1.eks.amazonaws.com")
            .certificate_authority(Certificate::builder().data(STANDARD.encode(pem)).build())
            .build();
        assert_eq!(
            endpoint_from(&cluster, &ready).unwrap(),
            ClusterEndpoint {
                endpoint: "https://ABC.gr7.eu-west-1.eks.amazonaws.com".into(),
                certificate_authority_pem: pem.as_bytes().to_vec(),
            }
        );

        let bad = Cluster::builder()
            .endpoint("https://x")
            .certificate_authority(Certificate::builder().data("not base64!").build())
            .build();
        assert!(matches!(
            endpoint_from(&cluster, &bad),
            Err(EksError::InvalidCertificateAuthority { .. })
        ));
    }
}
