// munjigi: the passkey buttons. WebAuthn is only reachable from script; every other form of
// the pages works without it. Buttons carry what they need in data- attributes:
//   data-passkey="sign-in" | "second-factor" | "register", data-csrf, data-request,
//   data-failed (the message shown when the prompt fails in the browser), data-name-input,
//   data-password-input and data-code-input (register: the proof of who this is). A refusal
//   from the server carries its own message, in the page's language: what happened, and
//   whether trying again can help.
"use strict";

(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function fromBase64Url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64Url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) {
      c.id = fromBase64Url(c.id);
    });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) {
          var refused = new Error(json.error || "failed");
          refused.shown = json.message;
          throw refused;
        }
        return json;
      });
    });
  }

  function created(credential) {
    return {
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64Url(credential.response.clientDataJSON),
        attestationObject: toBase64Url(credential.response.attestationObject),
      },
      extensions: credential.getClientExtensionResults(),
    };
  }

  function asserted(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toBase64Url(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toBase64Url(r.clientDataJSON),
        authenticatorData: toBase64Url(r.authenticatorData),
        signature: toBase64Url(r.signature),
        userHandle: r.userHandle ? toBase64Url(r.userHandle) : null,
      },
      extensions: credential.getClientExtensionResults(),
    };
  }

  function signIn(button) {
    var body = { csrf: button.dataset.csrf, purpose: button.dataset.passkey };
    return post("/login/passkey/options", body)
      .then(function (options) {
        var pk = options.publicKey;
        pk.challenge = fromBase64Url(pk.challenge);
        decodeIds(pk.allowCredentials);
        // A button press is a modal prompt, not the autofill kind.
        return navigator.credentials.get({ publicKey: pk });
      })
      .then(function (credential) {
        return post("/login/passkey", {
          csrf: button.dataset.csrf,
          purpose: button.dataset.passkey,
          request: button.dataset.request || "",
          credential: asserted(credential),
        });
      });
  }

  function valueOf(id) {
    var input = id ? document.getElementById(id) : null;
    return input ? input.value : "";
  }

  function register(button) {
    var nameInput = document.getElementById(button.dataset.nameInput);
    // A passkey is a new way in: the server asks again who this is.
    return post("/account/passkeys/options", {
      csrf: button.dataset.csrf,
      current_password: valueOf(button.dataset.passwordInput),
      code: valueOf(button.dataset.codeInput),
    })
      .then(function (options) {
        var pk = options.publicKey;
        pk.challenge = fromBase64Url(pk.challenge);
        pk.user.id = fromBase64Url(pk.user.id);
        decodeIds(pk.excludeCredentials);
        return navigator.credentials.create({ publicKey: pk });
      })
      .then(function (credential) {
        return post("/account/passkeys", {
          csrf: button.dataset.csrf,
          name: nameInput ? nameInput.value : "",
          credential: created(credential),
        });
      });
  }

  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var error = document.getElementById(button.dataset.errorId);
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      button.disabled = true;
      if (error) {
        error.hidden = true;
      }
      var done = button.dataset.passkey === "register" ? register(button) : signIn(button);
      done
        .then(function (answer) {
          window.location.assign(answer.location);
        })
        .catch(function (reason) {
          button.disabled = false;
          if (error) {
            error.textContent = (reason && reason.shown) || button.dataset.failed;
            // What went wrong, for whoever looks at the page's source (never shown).
            error.dataset.reason = String(reason && reason.message ? reason.message : reason);
            error.hidden = false;
          }
        });
    });
  });
})();
