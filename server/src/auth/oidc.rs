//! Sign-in with the company IdP: authorization-code flow with PKCE, state and nonce, by the
//! `openidconnect` crate (discovery, signature, issuer, audience, expiry and nonce checks).

use std::collections::HashMap;

use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm, CoreProviderMetadata,
    },
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::{config::OidcSettings, store::LoginFlow};

type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Every claim of the ID token beyond the standard ones, so the configured groups claim
/// can be read whatever its name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OtherClaims(HashMap<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type IdToken = openidconnect::IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or described itself wrongly: {0}")]
    Discovery(String),
    #[error("the identity provider refused the sign-in: {0}")]
    Exchange(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the ID token has no email address")]
    NoEmail,
    #[error("the identity provider says the email address is not verified")]
    UnverifiedEmail { email: String },
}

impl OidcError {
    /// The account the identity provider named before the sign-in was refused, if it did.
    pub fn account(&self) -> Option<&str> {
        match self {
            Self::UnverifiedEmail { email } => Some(email),
            _ => None,
        }
    }
}

/// Who signed in, as the IdP vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
}

pub struct OidcClient {
    settings: OidcSettings,
    redirect_url: RedirectUrl,
    http: openidconnect::reqwest::Client,
    /// Discovered on first use (and again after a failure), so the portal starts even
    /// while the IdP is briefly unreachable.
    client: Mutex<Option<DiscoveredClient>>,
}

impl OidcClient {
    pub fn new(settings: OidcSettings, public_url: &str) -> Result<Self, OidcError> {
        let redirect_url = RedirectUrl::new(format!(
            "{}/auth/callback",
            public_url.trim_end_matches('/')
        ))
        .map_err(|e| OidcError::Discovery(e.to_string()))?;
        // Never follow redirects from the IdP's back channel (SSRF), and do not wait forever.
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        Ok(Self {
            settings,
            redirect_url,
            http,
            client: Mutex::new(None),
        })
    }

    async fn client(&self) -> Result<DiscoveredClient, OidcError> {
        let mut cached = self.client.lock().await;
        if let Some(client) = cached.as_ref() {
            return Ok(client.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer_url.clone())
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(
                self.settings.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone());
        *cached = Some(client.clone());
        Ok(client)
    }

    /// Where to send the browser, the state to expect back, and what to remember until then.
    pub async fn begin(&self, return_to: &str) -> Result<(String, String, LoginFlow), OidcError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in self
            .settings
            .scopes
            .iter()
            .filter(|s| s.as_str() != "openid")
        {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let flow = LoginFlow {
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to: return_to.to_owned(),
        };
        Ok((url.to_string(), state.secret().clone(), flow))
    }

    /// Redeems the code and verifies the ID token against the flow's nonce. After a failure
    /// the provider is discovered afresh next time, so rotated signing keys are picked up.
    pub async fn finish(&self, code: String, flow: &LoginFlow) -> Result<SignedIn, OidcError> {
        let result = self.redeem(code, flow).await;
        if matches!(
            result,
            Err(OidcError::InvalidIdToken(_) | OidcError::Discovery(_))
        ) {
            *self.client.lock().await = None;
        }
        result
    }

    async fn redeem(&self, code: String, flow: &LoginFlow) -> Result<SignedIn, OidcError> {
        let client = self.client().await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                // Not reaching the IdP is its outage, not a refused sign-in.
                openidconnect::RequestTokenError::Request(_) => {
                    OidcError::Discovery(error_chain(&e))
                }
                e => OidcError::Exchange(error_chain(&e)),
            })?;
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        let id_token: IdToken = id_token
            .to_string()
            .parse()
            .map_err(|e: serde_json::Error| OidcError::InvalidIdToken(e.to_string()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(flow.nonce.clone()))
            .map_err(|e| OidcError::InvalidIdToken(e.to_string()))?;
        // Users are keyed by email, so an address the IdP has not verified could take over
        // its owner's account. A provider that leaves the claim out vouches for its
        // addresses by its own policy (several do), so only an explicit `false` is refused.
        let email = claims
            .email()
            .map(|e| e.to_string())
            .ok_or(OidcError::NoEmail)?;
        if claims.email_verified() == Some(false) {
            return Err(OidcError::UnverifiedEmail { email });
        }
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string())
            .unwrap_or_else(|| email.clone());
        let groups = match claims
            .additional_claims()
            .0
            .get(&self.settings.groups_claim)
        {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|g| g.as_str().map(str::to_owned))
                .collect(),
            Some(serde_json::Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Ok(SignedIn {
            email,
            name,
            groups,
        })
    }
}

/// The error and its causes in one line: the outermost message alone is often generic.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
