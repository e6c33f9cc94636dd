//! Sign-in with the company IdP: authorization-code flow with PKCE, state and nonce, by the
//! `openidconnect` crate (discovery, signature, issuer, audience, expiry and nonce checks).

use std::collections::HashMap;

use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet,
    EndpointNotSet, EndpointSet, IssuerUrl, Nonce, NonceVerifier, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope, TokenResponse,
    core::{
        CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
        CoreTokenResponse,
    },
};
use secrecy::{ExposeSecret, SecretString};
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
    #[error("the identity provider no longer honours the refresh token: {0}")]
    RefreshRefused(String),
    #[error("the identity provider sent no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
    #[error("the ID token has no email address")]
    NoEmail,
    #[error(
        "the identity provider does not say the email address is verified \
         (auth.oidc.trust_unverified_email accepts a provider that leaves that out)"
    )]
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
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The person: the provider's (issuer, subject), stable when the address changes.
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    /// Where the provider issues one (`offline_access`): lets the portal ask for the
    /// person's groups again without them. Never logged.
    pub refresh_token: Option<SecretString>,
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
        // Providers issue a refresh token for `offline_access` only with consent asked.
        if self.settings.scopes.iter().any(|s| s == "offline_access") {
            request = request.add_prompt(CoreAuthPrompt::Consent);
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
            .map_err(token_request_error)?;
        self.signed_in(&client, &response, &Nonce::new(flow.nonce.clone()))
    }

    /// Who the refresh token's person is now, as a new ID token says: their groups may have
    /// changed since sign-in. The provider may rotate the refresh token (see
    /// [`SignedIn::refresh_token`]).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<SignedIn, OidcError> {
        let result = self.redeem_refresh(refresh_token).await;
        // As after a failed sign-in: rotated signing keys are picked up next time.
        if matches!(
            result,
            Err(OidcError::InvalidIdToken(_) | OidcError::Discovery(_))
        ) {
            *self.client.lock().await = None;
        }
        result
    }

    async fn redeem_refresh(&self, refresh_token: &SecretString) -> Result<SignedIn, OidcError> {
        let client = self.client().await?;
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.expose_secret().to_owned()))
            .map_err(|e| OidcError::Exchange(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(|e| match &e {
                // Only `invalid_grant` says the refresh token is dead (revoked, expired, the
                // person removed); anything else may be the provider's passing trouble.
                openidconnect::RequestTokenError::ServerResponse(r)
                    if *r.error() == CoreErrorResponseType::InvalidGrant =>
                {
                    OidcError::RefreshRefused(error_chain(&e))
                }
                _ => token_request_error(e),
            })?;
        // A refreshed ID token carries no nonce (OpenID Connect Core 12.2).
        let mut signed_in =
            self.signed_in(&client, &response, |_: Option<&Nonce>| Ok::<(), String>(()))?;
        if signed_in.refresh_token.is_none() {
            signed_in.refresh_token = Some(refresh_token.clone());
        }
        Ok(signed_in)
    }

    /// The person the token response's ID token vouches for.
    fn signed_in(
        &self,
        client: &DiscoveredClient,
        response: &CoreTokenResponse,
        nonce: impl NonceVerifier,
    ) -> Result<SignedIn, OidcError> {
        let id_token = response.id_token().ok_or(OidcError::NoIdToken)?;
        let id_token: IdToken = id_token
            .to_string()
            .parse()
            .map_err(|e: serde_json::Error| OidcError::InvalidIdToken(e.to_string()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), nonce)
            .map_err(|e| OidcError::InvalidIdToken(e.to_string()))?;
        let email = claims
            .email()
            .map(|e| e.to_string())
            .ok_or(OidcError::NoEmail)?;
        // The address names the person in reviews and audit: one the IdP has not vouched
        // for is refused, unless the operator trusts a provider that leaves the claim out.
        match claims.email_verified() {
            Some(true) => {}
            None if self.settings.trust_unverified_email => {}
            _ => return Err(OidcError::UnverifiedEmail { email }),
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
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email,
            name,
            groups,
            refresh_token: response
                .refresh_token()
                .map(|t| SecretString::from(t.secret().clone())),
        })
    }
}

/// A token endpoint's refusal, or not reaching it (the IdP's outage, not a refused
/// sign-in).
fn token_request_error<RE, T>(error: openidconnect::RequestTokenError<RE, T>) -> OidcError
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match error {
        openidconnect::RequestTokenError::Request(_) => OidcError::Discovery(error_chain(&error)),
        error => OidcError::Exchange(error_chain(&error)),
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
