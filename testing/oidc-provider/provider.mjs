// Test identity provider: the certified `oidc-provider` package with its development
// login pages (any password), a confidential client for Stargate and a second client for
// "token meant for another app" cases. Loopback only.
//
//   PORT=0 REDIRECT_URIS=http://127.0.0.1:3000/auth/callback node provider.mjs
//
// ID_TOKEN_OVERRIDES='{"aud":"other-app"}' makes it a misbehaving provider: the token
// endpoint replaces those claims of the ID token and signs it again with the provider's
// own key, so the signature stays valid and only the named claims are wrong.
//
// Refresh tokens are issued for `offline_access` (asked with prompt=consent).
// `PUT /_control/groups/<login>` changes an account's groups (see the end).
//
// Prints one JSON line {"issuer": "..."} once it listens.
import { generateKeyPair, sign } from "node:crypto";
import http from "node:http";
import { promisify } from "node:util";
import Provider from "oidc-provider";

const port = Number(process.env.PORT ?? 0);
const redirectUris = (process.env.REDIRECT_URIS ?? "http://127.0.0.1:3000/auth/callback")
  .split(",")
  .filter(Boolean);
const idTokenOverrides = JSON.parse(process.env.ID_TOKEN_OVERRIDES ?? "null");

// Our own signing key (instead of the package's built-in development key), so tampered
// ID tokens can be signed with exactly the key the provider publishes. Generated off the
// main thread: the synchronous call hung about one start in forty here (node 20).
const { privateKey } = await promisify(generateKeyPair)("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "test", alg: "RS256", use: "sig" };

// The compact JWS `jwt` with `changes` merged into its claims, signed again (RS256).
function resign(jwt, changes) {
  const [header, payload] = jwt.split(".");
  const claims = { ...JSON.parse(Buffer.from(payload, "base64url")), ...changes };
  const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
  const signature = sign("sha256", Buffer.from(signingInput), privateKey).toString("base64url");
  return `${signingInput}.${signature}`;
}

// Login names of the development login page → claims.
const accounts = {
  "payments-engineer": { name: "Pat Engineer", groups: ["payments"] },
  "payments-lead": { name: "Lee Lead", groups: ["payments", "payments-leads"] },
  "search-engineer": { name: "Sam Search", groups: ["search"] },
  "search-lead": { name: "Sia Lead", groups: ["search", "search-leads"] },
  admin: { name: "Ada Admin", groups: ["platform-admins"] },
  nobody: { name: "No Groups", groups: [] },
  // Signs in fine, but the provider says it never verified the address.
  unverified: { name: "Una Verified", groups: ["payments"], emailVerified: false },
  // Leaves `email_verified` out, as some providers do.
  silent: { name: "Sil Ent", groups: ["payments"], emailVerified: undefined },
  // Two people (two subjects) whose addresses differ only in case.
  "alice-1": { name: "Alice One", groups: ["payments"], email: "Alice@example.com" },
  "alice-2": { name: "Alice Two", groups: ["payments", "payments-leads"], email: "alice@example.com" },
};

const client = (client_id) => ({
  client_id,
  client_secret: `${client_id}-secret`,
  redirect_uris: redirectUris,
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "client_secret_basic",
});

function start(issuer) {
  const provider = new Provider(issuer, {
    clients: [client("stargate"), client("other-app")],
    jwks: { keys: [signingKey] },
    cookies: { keys: ["stargate-test-provider-cookie-key"] },
    scopes: ["openid", "offline_access", "email", "profile", "groups"],
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
          const claims = {
            sub: id,
            email: known.email ?? `${id}@example.com`,
            email_verified: "emailVerified" in known ? known.emailVerified : true,
            name: known.name,
            groups: known.groups,
          };
          if (claims.email_verified === undefined) delete claims.email_verified;
          return claims;
        },
      };
    },
  });
  provider.proxy = false;
  if (idTokenOverrides) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === "/token" && typeof ctx.body?.id_token === "string") {
        ctx.body = { ...ctx.body, id_token: resign(ctx.body.id_token, idTokenOverrides) };
      }
    });
  }
  return provider;
}

// Bind first so the issuer carries the real port, then start the provider on it.
const holder = http.createServer();
await new Promise((resolve) => holder.listen(port, "127.0.0.1", resolve));
const actualPort = holder.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;
const provider = start(issuer);
// `PUT /_control/groups/<login>` with a JSON array: the account's groups from now on (a
// lead removed from the lead group, say), as later ID tokens and refreshes carry them.
const callback = provider.callback();
holder.on("request", (req, res) => {
  const control = req.url.match(/^\/_control\/groups\/([^/?]+)$/);
  if (!control || req.method !== "PUT") return callback(req, res);
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const login = decodeURIComponent(control[1]);
    accounts[login] = { ...(accounts[login] ?? { name: login }), groups: JSON.parse(body) };
    res.writeHead(204).end();
  });
});
console.log(JSON.stringify({ issuer }));

const stop = () => holder.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
