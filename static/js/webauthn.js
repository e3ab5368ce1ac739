// Onramp's only script: WebAuthn ceremonies for the sign-in and enrollment
// pages. Options and results travel as JSON with base64url binary fields.
"use strict";
(() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  // The page's sentences in its language (static/locales/*/pages.ftl, js-*).
  const strings = (() => {
    try {
      return JSON.parse(document.querySelector('meta[name="onramp-strings"]')?.content ?? "{}");
    } catch {
      return {};
    }
  })();
  const say = (id) => strings[`js-${id}`] ?? id;

  const toBytes = (b64url) => {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  };
  const toB64url = (buf) => {
    const bytes = new Uint8Array(buf);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  // `r` in the query too: the server picks the language of its messages
  // from the stored request.
  const withRequest = (url, r) => (r ? `${url}?r=${encodeURIComponent(r)}` : url);

  async function post(url, body) {
    const res = await fetch(withRequest(url, body.r), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.message || say("request-failed"));
    return data;
  }

  // What went wrong, in words for people: the browser's own messages are
  // written for developers. Errors from the server already are sentences.
  const plain = (sentences, fallback) => (e) =>
    sentences[e.name] ?? (e instanceof DOMException ? fallback : e.message);

  const registrationProblem = plain({
    InvalidStateError: say("registration-duplicate"),
    NotAllowedError: say("registration-cancelled"),
    NotSupportedError: say("registration-unsupported"),
    SecurityError: say("registration-address"),
    AbortError: say("registration-aborted"),
  }, say("registration-failed"));

  const signInProblem = plain({
    NotAllowedError: say("signin-cancelled"),
    NotSupportedError: say("signin-unsupported"),
    SecurityError: say("signin-address"),
  }, say("signin-failed"));

  function show(id, message) {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = message;
    el.hidden = !message;
  }

  // ---- registration (enrollment page) ----
  function creationOptions(json) {
    const pk = json.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    for (const c of pk.excludeCredentials ?? []) c.id = toBytes(c.id);
    return pk;
  }

  async function enroll(form) {
    show("enroll-error", "");
    const button = document.getElementById("enroll-start");
    button.disabled = true;
    try {
      const r = form.dataset.request;
      const { options, ceremony } = await post("/enroll/options", { r });
      const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
      const credential = {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        response: {
          attestationObject: toB64url(cred.response.attestationObject),
          clientDataJSON: toB64url(cred.response.clientDataJSON),
          transports: cred.response.getTransports ? cred.response.getTransports() : undefined,
        },
        extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      };
      const done = await post("/enroll/finish", { r, ceremony, credential });
      window.location.assign(done.redirect);
    } catch (e) {
      show("enroll-error", registrationProblem(e));
      button.disabled = false;
    }
  }

  // ---- authentication (sign-in page) ----
  function requestOptions(json) {
    const pk = json.publicKey;
    pk.challenge = toBytes(pk.challenge);
    for (const c of pk.allowCredentials ?? []) c.id = toBytes(c.id);
    return pk;
  }

  function assertionJson(cred) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(cred.response.authenticatorData),
        clientDataJSON: toB64url(cred.response.clientDataJSON),
        signature: toB64url(cred.response.signature),
        userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : null,
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    };
  }

  let conditional = null;

  // The ceremony the sign-in page came with, if any (else null: ask).
  function pageCeremony(button) {
    const { options, ceremony } = button.dataset;
    if (!options || !ceremony) return null;
    try {
      return { options: JSON.parse(options), ceremony };
    } catch {
      return null;
    }
  }

  // mediation: "conditional" (autofill, abortable) or "modal" (the button).
  // started: the ceremony the page came with, for the autofill request; the
  // button asks for a fresh one, as the page's may be minutes old by then.
  async function passkeySignIn(r, mediation, started) {
    const { options, ceremony } = started ?? await post("/signin/passkey/options", {});
    const request = { publicKey: requestOptions(options) };
    if (mediation === "conditional") {
      conditional = new AbortController();
      request.mediation = "conditional";
      request.signal = conditional.signal;
    }
    const cred = await navigator.credentials.get(request);
    const done = await post("/signin/passkey/finish", { r, ceremony, credential: assertionJson(cred) });
    window.location.assign(done.redirect);
  }

  // The enrollment page counts down its window; when it is over, it says
  // what to do instead of leaving a button that can only fail.
  function countDown(el) {
    const end = Date.now() + Number(el.dataset.left) * 1000;
    const tick = () => {
      const left = Math.ceil((end - Date.now()) / 1000);
      if (left > 0) {
        const minutes = Math.ceil(left / 60);
        const amount = left < 60 ? say("left-under-minute")
          : minutes === 1 ? say("left-one-minute") : say("left-minutes").replace("{n}", String(minutes));
        el.replaceChildren(say("left-before"), Object.assign(document.createElement("strong"), {
          textContent: amount,
        }), say("left-after"));
        return;
      }
      clearInterval(timer);
      const again = Object.assign(document.createElement("a"), { href: el.dataset.again, textContent: say("over-link") });
      el.className = "error";
      el.setAttribute("role", "alert");
      el.replaceChildren(say("over-before"), again, say("over-after"));
      const button = document.getElementById("enroll-start");
      if (button) button.disabled = true;
    };
    const timer = setInterval(tick, 1000);
    tick();
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const window_ = document.getElementById("window");
    if (window_?.dataset.left) countDown(window_);
    const form = document.getElementById("enroll-form");
    if (form) {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        enroll(form);
      });
    }
    const button = document.getElementById("passkey-signin");
    if (button) {
      const r = button.dataset.request;
      button.addEventListener("click", async () => {
        show("passkey-error", "");
        if (conditional) conditional.abort();
        try {
          await passkeySignIn(r, "modal");
        } catch (e) {
          show("passkey-error", signInProblem(e));
        }
      });
      // Offer passkeys in the user name field's autofill where supported.
      if (window.PublicKeyCredential?.isConditionalMediationAvailable && (await PublicKeyCredential.isConditionalMediationAvailable())) {
        passkeySignIn(r, "conditional", pageCeremony(button)).catch(() => {});
      }
    }
  });
})();
