/*!
 * clerk.browser.js: the Clerk emulator's stand-in for ClerkJS (@clerk/clerk-js). Not Clerk's code.
 *
 * The emulator serves this file at /npm/@clerk/clerk-js@<version>/dist/clerk.browser.js, the path pages load
 * ClerkJS from, so the same page code runs against real Clerk and against the emulator:
 *
 *   <script data-clerk-publishable-key="pk_test_..." src="https://<fapi>/npm/@clerk/clerk-js@6/dist/clerk.browser.js">
 *
 * It implements only the part of ClerkJS this project's pages call:
 *   Clerk.load(), Clerk.loaded, Clerk.client, Clerk.session, Clerk.user, Clerk.organization, Clerk.addListener(fn)
 *   Clerk.client.signIn.create({identifier, password}) and create({strategy: 'ticket', ticket})
 *   Clerk.client.signUp.create({strategy: 'ticket', ticket, password, firstName, lastName, phoneNumber})
 *   Clerk.setActive({session, organization, redirectUrl}), Clerk.signOut({redirectUrl, sessionId})
 *   Clerk.session.getToken(), Clerk.user.reload(), Clerk.user.createPhoneNumber({phoneNumber}),
 *   phoneNumber.prepareVerification({strategy: 'phone_code'}), phoneNumber.attemptVerification({code})
 *
 * Like ClerkJS it keeps the `__session` cookie of the page's origin holding a fresh session token while a
 * session is active (refreshed every ~50 s and when the tab comes back), and removes it on sign-out. Failed
 * calls throw errors shaped like ClerkJS's ClerkAPIResponseError. The browser's client token is kept in
 * localStorage and sent in the Authorization header, as Clerk development instances do without cookies.
 *
 * Plain JavaScript: no build step, no dependencies.
 */
(() => {
  'use strict';

  const VERSION = '6.0.0-emulator';
  const CLIENT_TOKEN_KEY = '__clerk_emulator_client';
  const SESSION_COOKIE = '__session';
  const COOKIE_REFRESH_MS = 50 * 1000;
  const TOKEN_LEEWAY_MS = 10 * 1000;

  // ---------------------------------------------------------------------------------------------------------
  // Publishable key -> Frontend API URL (as ClerkJS's parsePublishableKey does)

  function frontendApiHost(publishableKey) {
    const match = /^pk_(test|live)_([A-Za-z0-9+/=_-]+)$/.exec(publishableKey || '');
    if (!match) {
      throw new Error('Clerk: the publishable key is missing or malformed (expected pk_test_… or pk_live_…).');
    }
    let encoded = match[2].replace(/-/g, '+').replace(/_/g, '/');
    while (encoded.length % 4) encoded += '=';
    let decoded;
    try {
      decoded = atob(encoded);
    } catch (error) {
      throw new Error('Clerk: the publishable key is not valid base64.');
    }
    if (!decoded.endsWith('$') || decoded.slice(0, -1).includes('$')) {
      throw new Error('Clerk: the publishable key does not encode a Frontend API host.');
    }
    return decoded.slice(0, -1);
  }

  function frontendApiUrl(host, proxyUrl) {
    if (proxyUrl) return new URL(proxyUrl, window.location.href).href.replace(/\/$/, '');
    const local = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);
    return (local ? 'http://' : 'https://') + host;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Small helpers

  const camelCase = (key) => key.replace(/_([a-z0-9])/g, (_, letter) => letter.toUpperCase());
  const snakeCase = (key) => key.replace(/[A-Z]/g, (letter) => '_' + letter.toLowerCase());
  const toDate = (ms) => (typeof ms === 'number' ? new Date(ms) : null);

  function camelizeKeys(value) {
    if (Array.isArray(value)) return value.map(camelizeKeys);
    if (value && typeof value === 'object') {
      const result = {};
      for (const [key, item] of Object.entries(value)) result[camelCase(key)] = camelizeKeys(item);
      return result;
    }
    return value;
  }

  /** Top-level keys to snake_case; values (e.g. unsafeMetadata) travel unchanged. */
  function snakeizeParams(params) {
    const result = {};
    for (const [key, value] of Object.entries(params || {})) {
      if (value !== undefined) result[snakeCase(key)] = value;
    }
    return result;
  }

  /** Seconds a JWT is valid for (exp - iat), read without verifying it. */
  function tokenLifetimeMs(jwt) {
    try {
      const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
      return Math.max(0, (claims.exp - claims.iat) * 1000);
    } catch (error) {
      return 0;
    }
  }

  const clientTokenStore = {
    memory: null,
    get() {
      try {
        return window.localStorage.getItem(CLIENT_TOKEN_KEY);
      } catch (error) {
        return this.memory;
      }
    },
    set(token) {
      this.memory = token;
      try {
        window.localStorage.setItem(CLIENT_TOKEN_KEY, token);
      } catch (error) {
        /* storage disabled: keep the token in memory for this page */
      }
    },
  };

  function writeSessionCookie(jwt) {
    const secure = window.location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `${SESSION_COOKIE}=${jwt}; path=/; SameSite=Lax${secure}`;
  }

  function removeSessionCookie() {
    const secure = window.location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `${SESSION_COOKIE}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax${secure}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Errors, shaped like ClerkJS's ClerkAPIResponseError

  class ClerkAPIResponseError extends Error {
    constructor(status, payload) {
      const errors = (payload && Array.isArray(payload.errors) ? payload.errors : []).map((error) => ({
        code: error.code,
        message: error.message,
        longMessage: error.long_message,
        meta: camelizeKeys(error.meta || {}),
      }));
      const first = errors[0];
      super(first ? first.longMessage || first.message : `Request failed with status ${status}`);
      this.name = 'ClerkAPIResponseError';
      this.clerkError = true;
      this.status = status;
      this.errors = errors;
      this.clerkTraceId = payload && payload.clerk_trace_id;
    }
  }

  const isClerkAPIResponseError = (error) => Boolean(error && error.clerkError && Array.isArray(error.errors));

  // ---------------------------------------------------------------------------------------------------------
  // Resources

  class EmailAddressResource {
    constructor(json) {
      this.id = json.id;
      this.emailAddress = json.email_address;
      this.verification = camelizeKeys(json.verification || { status: null, strategy: null });
      this.linkedTo = [];
    }

    toString() {
      return this.emailAddress;
    }
  }

  class PhoneNumberResource {
    constructor(clerk, sessionId, json) {
      this._clerk = clerk;
      this._sessionId = sessionId;
      this._update(json);
    }

    _update(json) {
      this.id = json.id;
      this.phoneNumber = json.phone_number;
      this.reservedForSecondFactor = Boolean(json.reserved_for_second_factor);
      this.defaultSecondFactor = Boolean(json.default_second_factor);
      const verification = json.verification || {};
      this.verification = {
        status: verification.status || null,
        strategy: verification.strategy || null,
        attempts: verification.attempts ?? null,
        expireAt: toDate(verification.expire_at),
      };
      this.linkedTo = [];
      return this;
    }

    async prepareVerification(params = { strategy: 'phone_code' }) {
      const path = `/v1/me/phone_numbers/${encodeURIComponent(this.id)}/prepare_verification`;
      const json = await this._clerk._api('POST', path, { body: snakeizeParams(params), sessionId: this._sessionId });
      return this._update(json);
    }

    async attemptVerification({ code } = {}) {
      const path = `/v1/me/phone_numbers/${encodeURIComponent(this.id)}/attempt_verification`;
      const json = await this._clerk._api('POST', path, { body: { code }, sessionId: this._sessionId });
      return this._update(json);
    }

    toString() {
      return this.phoneNumber;
    }
  }

  class OrganizationMembershipResource {
    constructor(json) {
      this.id = json.id;
      this.role = json.role;
      this.roleName = json.role_name || json.role;
      this.permissions = json.permissions || [];
      this.publicMetadata = json.public_metadata || {};
      const organization = json.organization || {};
      this.organization = {
        id: organization.id,
        name: organization.name,
        slug: organization.slug,
        imageUrl: organization.image_url || null,
        hasImage: Boolean(organization.has_image),
        publicMetadata: organization.public_metadata || {},
      };
      this.createdAt = toDate(json.created_at);
      this.updatedAt = toDate(json.updated_at);
    }
  }

  class UserResource {
    constructor(clerk, sessionId, json) {
      this._clerk = clerk;
      this._sessionId = sessionId;
      this._update(json);
    }

    _update(json) {
      this.id = json.id;
      this.externalId = json.external_id || null;
      this.username = json.username || null;
      this.firstName = json.first_name || null;
      this.lastName = json.last_name || null;
      this.fullName = [this.firstName, this.lastName].filter(Boolean).join(' ') || null;
      this.imageUrl = json.image_url || null;
      this.hasImage = Boolean(json.has_image);
      this.emailAddresses = (json.email_addresses || []).map((email) => new EmailAddressResource(email));
      this.phoneNumbers = (json.phone_numbers || []).map(
        (phone) => new PhoneNumberResource(this._clerk, this._sessionId, phone),
      );
      this.primaryEmailAddressId = json.primary_email_address_id || null;
      this.primaryPhoneNumberId = json.primary_phone_number_id || null;
      this.primaryEmailAddress = this.emailAddresses.find((e) => e.id === this.primaryEmailAddressId) || null;
      this.primaryPhoneNumber = this.phoneNumbers.find((p) => p.id === this.primaryPhoneNumberId) || null;
      this.publicMetadata = json.public_metadata || {};
      this.unsafeMetadata = json.unsafe_metadata || {};
      this.organizationMemberships = (json.organization_memberships || []).map(
        (membership) => new OrganizationMembershipResource(membership),
      );
      this.passwordEnabled = Boolean(json.password_enabled);
      this.twoFactorEnabled = Boolean(json.two_factor_enabled);
      this.lastSignInAt = toDate(json.last_sign_in_at);
      this.createdAt = toDate(json.created_at);
      this.updatedAt = toDate(json.updated_at);
      return this;
    }

    async reload() {
      const json = await this._clerk._api('GET', '/v1/me', { sessionId: this._sessionId });
      return this._update(json);
    }

    async createPhoneNumber({ phoneNumber } = {}) {
      const body = { phone_number: phoneNumber };
      const json = await this._clerk._api('POST', '/v1/me/phone_numbers', { body, sessionId: this._sessionId });
      return new PhoneNumberResource(this._clerk, this._sessionId, json);
    }
  }

  class SessionResource {
    constructor(clerk, json) {
      this._clerk = clerk;
      this.id = json.id;
      this.object = 'session';
      this.status = json.status;
      this.expireAt = toDate(json.expire_at);
      this.abandonAt = toDate(json.abandon_at);
      this.lastActiveAt = toDate(json.last_active_at);
      this.lastActiveOrganizationId = json.last_active_organization_id || null;
      this.lastActiveToken = null;
      this.actor = json.actor || null;
      this.factorVerificationAge = json.factor_verification_age || null;
      this.publicUserData = camelizeKeys(json.public_user_data || {});
      this.user = json.user ? new UserResource(clerk, json.id, json.user) : null;
      this.createdAt = toDate(json.created_at);
      this.updatedAt = toDate(json.updated_at);
    }

    /** A session token (JWT) for this session, cached until ~10 s before it expires. */
    async getToken(options = {}) {
      if (options.template) {
        throw new Error('Clerk emulator: JWT templates are not supported.');
      }
      if (this.status !== 'active') return null;
      return this._clerk._tokens.get(this.id, options);
    }

    async touch() {
      await this._clerk._api('POST', `/v1/client/sessions/${encodeURIComponent(this.id)}/touch`, { body: {} });
      return this;
    }

    async end() {
      await this._clerk._api('POST', `/v1/client/sessions/${encodeURIComponent(this.id)}/end`);
      return this;
    }
  }

  /** A sign-in attempt; `Clerk.client.signIn.create(...)` fills it in and returns it. */
  class SignInResource {
    constructor(clerk) {
      this._clerk = clerk;
      this._update({});
    }

    _update(json) {
      this.id = json.id || null;
      this.status = json.status || null;
      this.identifier = json.identifier || null;
      this.createdSessionId = json.created_session_id || null;
      this.supportedIdentifiers = json.supported_identifiers || [];
      this.supportedFirstFactors = camelizeKeys(json.supported_first_factors || []);
      this.firstFactorVerification = camelizeKeys(json.first_factor_verification || {});
      this.secondFactorVerification = camelizeKeys(json.second_factor_verification || {});
      this.userData = camelizeKeys(json.user_data || {});
      return this;
    }

    async create(params = {}) {
      const json = await this._clerk._api('POST', '/v1/client/sign_ins', { body: snakeizeParams(params) });
      return this._update(json);
    }
  }

  /** A sign-up attempt; `Clerk.client.signUp.create(...)` fills it in and returns it. */
  class SignUpResource {
    constructor(clerk) {
      this._clerk = clerk;
      this._update({});
    }

    _update(json) {
      this.id = json.id || null;
      this.status = json.status || null;
      this.createdSessionId = json.created_session_id || null;
      this.createdUserId = json.created_user_id || null;
      this.emailAddress = json.email_address || null;
      this.phoneNumber = json.phone_number || null;
      this.username = json.username || null;
      this.firstName = json.first_name || null;
      this.lastName = json.last_name || null;
      this.requiredFields = json.required_fields || [];
      this.optionalFields = json.optional_fields || [];
      this.missingFields = json.missing_fields || [];
      this.unverifiedFields = json.unverified_fields || [];
      this.verifications = camelizeKeys(json.verifications || {});
      this.unsafeMetadata = json.unsafe_metadata || {};
      return this;
    }

    async create(params = {}) {
      const json = await this._clerk._api('POST', '/v1/client/sign_ups', { body: snakeizeParams(params) });
      return this._update(json);
    }
  }

  class ClientResource {
    constructor(clerk) {
      this._clerk = clerk;
      this.id = null;
      this.sessions = [];
      this.lastActiveSessionId = null;
      this.signIn = new SignInResource(clerk);
      this.signUp = new SignUpResource(clerk);
    }

    _update(json) {
      this.id = json.id;
      this.sessions = (json.sessions || []).map((session) => new SessionResource(this._clerk, session));
      this.lastActiveSessionId = json.last_active_session_id || null;
      this.createdAt = toDate(json.created_at);
      this.updatedAt = toDate(json.updated_at);
      return this;
    }

    get activeSessions() {
      return this.sessions.filter((session) => session.status === 'active');
    }

    get signedInSessions() {
      return this.activeSessions;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Session tokens: one cache entry per (session, organization), concurrent calls share one request

  class TokenCache {
    constructor(clerk) {
      this._clerk = clerk;
      this._entries = new Map();
      this._pending = new Map();
    }

    clear(sessionId) {
      for (const key of [...this._entries.keys()]) {
        if (!sessionId || key.startsWith(sessionId + '|')) this._entries.delete(key);
      }
    }

    async get(sessionId, { skipCache = false, organizationId } = {}) {
      const key = `${sessionId}|${organizationId === undefined ? '' : organizationId ?? 'none'}`;
      const cached = this._entries.get(key);
      if (!skipCache && cached && cached.expiresAt - Date.now() > TOKEN_LEEWAY_MS) return cached.jwt;
      if (this._pending.has(key)) return this._pending.get(key);
      const body = organizationId === undefined ? {} : { organization_id: organizationId || '' };
      const request = this._clerk
        ._api('POST', `/v1/client/sessions/${encodeURIComponent(sessionId)}/tokens`, { body })
        .then((token) => {
          this._entries.set(key, { jwt: token.jwt, expiresAt: Date.now() + tokenLifetimeMs(token.jwt) });
          if (organizationId === undefined) this._clerk._onFreshToken(sessionId, token.jwt);
          return token.jwt;
        })
        .finally(() => this._pending.delete(key));
      this._pending.set(key, request);
      return request;
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Clerk

  class Clerk {
    constructor(publishableKey, options = {}) {
      this.publishableKey = publishableKey;
      this.proxyUrl = options.proxyUrl || '';
      this.domain = options.domain || '';
      this.frontendApi = frontendApiHost(publishableKey);
      this.instanceType = publishableKey.startsWith('pk_live_') ? 'production' : 'development';
      this.version = VERSION;
      this.loaded = false;
      this.client = undefined;
      this.session = undefined;
      this.user = undefined;
      this.organization = undefined;
      this.environment = undefined;
      this._baseUrl = frontendApiUrl(this.frontendApi, this.proxyUrl);
      this._tokens = new TokenCache(this);
      this._listeners = new Set();
      this._sessionId = null;
      this._holdEmits = 0;
      this._loading = null;
      this._refreshTimer = null;
    }

    get isSignedIn() {
      return Boolean(this.session);
    }

    // -- transport -------------------------------------------------------------------------------------------

    /** Call the Frontend API; refresh `Clerk.client` from the piggybacked client; return the resource. */
    async _api(method, path, { body, sessionId, handleUnauthenticated = true } = {}) {
      const url = new URL(this._baseUrl + path);
      url.searchParams.set('_clerk_js_version', VERSION);
      if (sessionId) url.searchParams.set('_clerk_session_id', sessionId);
      const headers = {};
      const clientToken = clientTokenStore.get();
      if (clientToken) headers.Authorization = clientToken;
      const init = { method, headers, credentials: 'omit', mode: 'cors', cache: 'no-store' };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      const response = await fetch(url.href, init);
      const newClientToken = response.headers.get('Authorization');
      if (newClientToken) clientTokenStore.set(newClientToken);
      let payload = null;
      try {
        payload = await response.json();
      } catch (error) {
        payload = null;
      }
      if (!response.ok) {
        const error = new ClerkAPIResponseError(response.status, payload);
        if (response.status === 401 && handleUnauthenticated) await this._handleUnauthenticated();
        throw error;
      }
      if (payload && payload.client) this._applyClient(payload.client);
      return payload && 'response' in payload ? payload.response : payload;
    }

    /** A 401 means the session (or client) is gone: reload the client, which signs this page out if so. */
    async _handleUnauthenticated() {
      try {
        await this._api('GET', '/v1/client', { handleUnauthenticated: false });
      } catch (error) {
        /* nothing more to do */
      }
    }

    _applyClient(json) {
      if (!this.client) this.client = new ClientResource(this);
      this.client._update(json);
      if (this.loaded) this._sync();
    }

    /** Point session/user/organization at the current session in the client; sign out locally if it is gone. */
    _sync() {
      const session = this._sessionId
        ? this.client.activeSessions.find((candidate) => candidate.id === this._sessionId) || null
        : null;
      if (!session && this._sessionId) {
        this._tokens.clear(this._sessionId);
        this._sessionId = null;
        this._stopCookieRefresh();
        removeSessionCookie();
      }
      this.session = session;
      this.user = session ? session.user : null;
      const orgId = session && session.lastActiveOrganizationId;
      const memberships = (this.user && this.user.organizationMemberships) || [];
      const membership = orgId ? memberships.find((m) => m.organization.id === orgId) : null;
      this.organization = membership ? membership.organization : null;
      this._emit();
    }

    _emit() {
      if (this._holdEmits || !this.loaded) return;
      const resources = this._resources();
      for (const listener of this._listeners) {
        try {
          listener(resources);
        } catch (error) {
          console.error('Clerk: a listener failed', error);
        }
      }
    }

    _resources() {
      return { client: this.client, session: this.session, user: this.user, organization: this.organization };
    }

    _onFreshToken(sessionId, jwt) {
      if (sessionId === this._sessionId) writeSessionCookie(jwt);
    }

    // -- the __session cookie --------------------------------------------------------------------------------

    async _refreshCookie({ force = false } = {}) {
      const session = this.session;
      if (!session) return;
      try {
        const jwt = await session.getToken({ skipCache: force });
        if (jwt && session.id === this._sessionId) writeSessionCookie(jwt);
      } catch (error) {
        /* a 401 already signed this page out; anything else is retried on the next tick */
      }
    }

    _startCookieRefresh() {
      this._stopCookieRefresh();
      this._refreshTimer = window.setInterval(() => this._refreshCookie({ force: true }), COOKIE_REFRESH_MS);
    }

    _stopCookieRefresh() {
      if (this._refreshTimer !== null) window.clearInterval(this._refreshTimer);
      this._refreshTimer = null;
    }

    _watchPageVisibility() {
      document.addEventListener('visibilitychange', () => {
        if (document.visibilityState === 'visible') this._refreshCookie();
      });
      window.addEventListener('focus', () => this._refreshCookie());
    }

    // -- public API ------------------------------------------------------------------------------------------

    /** Fetch the client and restore its last active session. Safe to call more than once. */
    load(options = {}) {
      if (!this._loading) {
        this._loading = this._load(options).catch((error) => {
          this._loading = null;
          throw error;
        });
      }
      return this._loading;
    }

    async _load() {
      const [environment] = await Promise.all([
        this._api('GET', '/v1/environment').catch(() => null),
        this._api('GET', '/v1/client'),
      ]);
      this.environment = environment;
      const lastActive = this.client.activeSessions.find((s) => s.id === this.client.lastActiveSessionId);
      this._sessionId = lastActive ? lastActive.id : null;
      this._holdEmits += 1;
      this.loaded = true;
      try {
        this._sync();
        if (this.session) {
          await this._refreshCookie({ force: true });
          if (this.session) this._startCookieRefresh();
        } else {
          removeSessionCookie();
        }
      } finally {
        this._holdEmits -= 1;
      }
      this._watchPageVisibility();
      this._emit();
    }

    /**
     * Make `session` (id or resource; `null` signs this page out) the active session, optionally with an
     * active `organization` (id, slug or resource; `null` for the personal account). The `__session` cookie
     * holds a fresh token before this resolves, so a following navigation is already authenticated.
     */
    async setActive({ session, organization, redirectUrl, navigate, beforeEmit } = {}) {
      if (!this.loaded) await this.load();
      if (session === null) {
        this._sessionId = null;
        this._sync();
        return this._navigate({ redirectUrl, navigate });
      }
      const sessionId = typeof session === 'string' ? session : session ? session.id : this._sessionId;
      if (!sessionId) throw new Error('Clerk: setActive() needs a session (none is active).');
      const body = {};
      if (organization === null) body.active_organization_id = '';
      else if (typeof organization === 'string') body.active_organization_id = organization;
      else if (organization) body.active_organization_id = organization.id;
      this._holdEmits += 1;
      try {
        await this._api('POST', `/v1/client/sessions/${encodeURIComponent(sessionId)}/touch`, { body });
        this._tokens.clear(sessionId);
        this._sessionId = sessionId;
        this._sync();
        if (!this.session) throw new Error('Clerk: that session is no longer active.');
        const jwt = await this.session.getToken({ skipCache: true });
        if (jwt) writeSessionCookie(jwt);
        this._startCookieRefresh();
        if (typeof beforeEmit === 'function') await beforeEmit(this.session);
      } finally {
        this._holdEmits -= 1;
      }
      this._emit();
      return this._navigate({ redirectUrl, navigate });
    }

    /** End the current session (or `sessionId`, or all sessions of this client), clear the cookie. */
    async signOut(callbackOrOptions, maybeOptions) {
      const callback = typeof callbackOrOptions === 'function' ? callbackOrOptions : undefined;
      const options = (callback ? maybeOptions : callbackOrOptions) || {};
      if (!this.loaded) await this.load();
      const endsCurrent = !options.sessionId || options.sessionId === this._sessionId;
      try {
        if (options.sessionId) {
          await this._api('POST', `/v1/client/sessions/${encodeURIComponent(options.sessionId)}/end`);
        } else {
          await this._api('DELETE', '/v1/client/sessions');
        }
      } catch (error) {
        // Already signed out on the server (session or client gone): the goal is reached.
        if (!isClerkAPIResponseError(error) || (error.status !== 401 && error.status !== 404)) throw error;
      } finally {
        if (endsCurrent) {
          this._tokens.clear();
          this._sessionId = null;
          this._stopCookieRefresh();
          removeSessionCookie();
          this._sync();
        }
      }
      if (callback) return callback();
      return this._navigate({ redirectUrl: options.redirectUrl });
    }

    /** Call `listener({client, session, user, organization})` now (once loaded) and on every change. */
    addListener(listener) {
      this._listeners.add(listener);
      if (this.loaded) listener(this._resources());
      return () => this._listeners.delete(listener);
    }

    async _navigate({ redirectUrl, navigate }) {
      if (typeof navigate === 'function') return navigate({ session: this.session });
      if (redirectUrl) window.location.assign(redirectUrl);
      return undefined;
    }
  }

  // ClerkJS's prebuilt UI is not emulated: say so clearly instead of failing obscurely.
  const uiMethods = ['mountSignIn', 'mountSignUp', 'mountUserButton', 'mountUserProfile', 'openSignIn', 'openSignUp'];
  for (const name of uiMethods) {
    Clerk.prototype[name] = function unsupported() {
      throw new Error(`Clerk emulator: ${name}() is not available; the emulator has no prebuilt UI.`);
    };
  }

  Clerk.ClerkAPIResponseError = ClerkAPIResponseError;
  Clerk.isClerkAPIResponseError = isClerkAPIResponseError;

  // ---------------------------------------------------------------------------------------------------------
  // Boot, as ClerkJS's browser bundle does: with a publishable key on the script tag, window.Clerk is an
  // instance ready for `await Clerk.load()`; without one it is the constructor (`new Clerk(publishableKey)`).

  const script =
    document.currentScript || document.querySelector('script[data-clerk-publishable-key]') || { dataset: {} };
  const publishableKey = script.dataset.clerkPublishableKey || window.__clerk_publishable_key;
  if (publishableKey) {
    window.Clerk = new Clerk(publishableKey, {
      proxyUrl: script.dataset.clerkProxyUrl || window.__clerk_proxy_url,
      domain: script.dataset.clerkDomain || window.__clerk_domain,
    });
  } else {
    window.Clerk = Clerk;
  }
})();
