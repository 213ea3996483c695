// A real OpenID Connect provider (node's oidc-provider, OpenID Certified) for the tests, on loopback.
//
// node tests/oidc/provider.mjs CONFIG.json
// CONFIG: {"port": 0, "issuer": "http://127.0.0.1:PORT", "clients": [...], "accounts": {"login":
// {"password": "...", "claims": {...}}}}. Prints "listening PORT" once it answers.
//
// Its own sign-in page (login + password from CONFIG), consent granted at once (a first-party
// client), RP-initiated logout and back-channel logout on. Every page is plain HTML with nothing
// loaded from outside (the library's development pages load web fonts).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    org: ['org_code', 'groups'],
  },
  scopes: ['openid', 'profile', 'email', 'org', 'offline_access'],
  async findAccount(ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...account.claims }; } };
  },
  // A first-party client: what it asks for is granted without a consent page.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(ctx.oidc.params.scope || 'openid');
    await grant.save();
    return grant;
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('统一身份认证 · 退出', `${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">确认退出</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('统一身份认证 · 已退出', '<p>已退出。</p>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('统一身份认证 · 出错', `<pre>${esc(JSON.stringify(out))}</pre>`);
  },
  cookies: { keys: ['test-only-cookie-key'] },
  // The application under test is on loopback, which the library's SSRF guard refuses to reach
  // (back-channel logout): this provider talks to nothing else.
  fetch(url, options) {
    const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
    return fetch(url, rest);
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, IdToken: 600, AccessToken: 600, AuthorizationCode: 60 },
});
provider.proxy = false;
provider.on('backchannel.success', (client, accountId, sid) => process.stdout.write(`backchannel ok ${client.clientId} ${accountId} ${sid}\n`));
provider.on('backchannel.error', (...args) => process.stdout.write(`backchannel error ${args.map((a) => (a && a.cause && String(a.cause)) || String(a)).join(' | ')}\n`));
provider.on('server_error', (ctx, err) => process.stdout.write(`server error ${err.stack}\n`));

const callback = provider.callback();

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, config.issuer);
  const match = url.pathname.match(/^\/interaction\/([^/]+)$/);
  if (!match) return callback(req, res);
  try {
    const details = await provider.interactionDetails(req, res);
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page('统一身份认证', `<form method="post" action="/interaction/${esc(match[1])}">
<label>账号 <input name="login" id="idp-login" autofocus></label>
<label>密码 <input name="password" id="idp-password" type="password"></label>
<button type="submit" id="idp-submit">登录</button></form>`));
    }
    const form = await readForm(req);
    const account = accounts[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(page('统一身份认证', '<p role="alert">账号或密码错误</p>'));
    }
    const result = { login: { accountId: form.get('login') } };
    if (details.prompt.name === 'consent') {
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      result.consent = { grantId: await grant.save() };
    }
    return await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    return res.end(String(err));
  }
});

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
