// Test identity provider: the certified `oidc-provider` package with its development
// login pages (any password), a confidential client for Stargate and a second client for
// "token meant for another app" cases. Loopback only.
//
//   PORT=0 REDIRECT_URIS=http://127.0.0.1:3000/auth/callback node provider.mjs
//
// Prints one JSON line {"issuer": "..."} once it listens.
import http from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.PORT ?? 0);
const redirectUris = (process.env.REDIRECT_URIS ?? "http://127.0.0.1:3000/auth/callback")
  .split(",")
  .filter(Boolean);

// Login names of the development login page → claims.
const accounts = {
  "payments-engineer": { name: "Pat Engineer", groups: ["payments"] },
  "payments-lead": { name: "Lee Lead", groups: ["payments", "payments-leads"] },
  "search-engineer": { name: "Sam Search", groups: ["search"] },
  "search-lead": { name: "Sia Lead", groups: ["search", "search-leads"] },
  admin: { name: "Ada Admin", groups: ["platform-admins"] },
  nobody: { name: "No Groups", groups: [] },
};

const client = (client_id) => ({
  client_id,
  client_secret: `${client_id}-secret`,
  redirect_uris: redirectUris,
  grant_types: ["authorization_code"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_basic",
});

function start(issuer) {
  const provider = new Provider(issuer, {
    clients: [client("stargate"), client("other-app")],
    cookies: { keys: ["stargate-test-provider-cookie-key"] },
    scopes: ["openid", "email", "profile", "groups"],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: ["groups"],
    },
    // Put scope claims into the ID token, as IdPs configured for group mapping do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      const known = accounts[id] ?? { name: id, groups: [] };
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: `${id}@example.com`,
            email_verified: true,
            name: known.name,
            groups: known.groups,
          };
        },
      };
    },
  });
  provider.proxy = false;
  return provider;
}

// Bind first so the issuer carries the real port, then start the provider on it.
const holder = http.createServer();
await new Promise((resolve) => holder.listen(port, "127.0.0.1", resolve));
const actualPort = holder.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const provider = start(issuer);
holder.on("request", provider.callback());
console.log(JSON.stringify({ issuer }));

const stop = () => holder.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
