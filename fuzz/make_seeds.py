#!/usr/bin/env python3
"""Writes the fuzz targets' fixed keys (fuzz/keys/*.jwk.json, from the PEM files beside them)
and their seed corpora (fuzz/seeds/<target>/). Run from anywhere; needs python3-cryptography.
The keys are test keys for fuzzing only: they sign nothing outside fuzz/.

Input formats are described at the top of each fuzz_targets/<target>.rs."""

import base64
import hashlib
import json
import os
import shutil

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

FUZZ = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(FUZZ, "keys")
SEEDS = os.path.join(FUZZ, "seeds")

# Must match fuzz/src/lib.rs.
ISSUER = "https://id.example.com"
CLIENT = "app"
FAR = 4102444800  # 2100-01-01: later than any `now` the targets use
IAT = 1700000000
KAKAO_ISSUER = "https://kauth.kakao.com"
KAKAO_CLIENT = "kakao-rest-key"
GOOGLE_ISSUER = "https://accounts.google.com"
GOOGLE_CLIENT = "google-client.apps.example.com"
NONCE = "n-0S6_WzA2Mj"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int, length: int | None = None) -> str:
    length = length or max(1, (n.bit_length() + 7) // 8)
    return b64u(n.to_bytes(length, "big"))


def compact(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def thumbprint(public: dict) -> str:
    members = {"RSA": ["e", "kty", "n"], "EC": ["crv", "kty", "x", "y"]}[public["kty"]]
    canonical = json.dumps({m: public[m] for m in members}, sort_keys=True, separators=(",", ":"))
    return b64u(hashlib.sha256(canonical.encode()).digest())


def load(name: str):
    with open(os.path.join(KEYS, name + ".pem"), "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        priv = key.private_numbers()
        pub = priv.public_numbers
        public = {"kty": "RSA", "n": uint(pub.n), "e": uint(pub.e)}
        private = dict(public, d=uint(priv.d), p=uint(priv.p), q=uint(priv.q),
                       dp=uint(priv.dmp1), dq=uint(priv.dmq1), qi=uint(priv.iqmp))
        alg = "RS256"
    else:
        priv = key.private_numbers()
        pub = priv.public_numbers
        public = {"kty": "EC", "crv": "P-256", "x": uint(pub.x, 32), "y": uint(pub.y, 32)}
        private = dict(public, d=uint(priv.private_value, 32))
        alg = "ES256"
    kid = thumbprint(public)
    return key, alg, kid, public, private


def sign(key, alg: str, header: dict, payload: dict) -> str:
    signing_input = (b64u(compact(header)) + "." + b64u(compact(payload))).encode()
    if alg == "RS256":
        sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return signing_input.decode() + "." + b64u(sig)


def write(target: str, name: str, data):
    folder = os.path.join(SEEDS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def main():
    rs_key, _, rs_kid, _, rs_private = load("rs256")
    es_key, _, es_kid, _, es_private = load("es256")
    up_key, _, up_kid, up_public, up_private = load("upstream_rs256")
    for name, private, kid in [("rs256", rs_private, rs_kid), ("es256", es_private, es_kid),
                               ("upstream_rs256", up_private, up_kid)]:
        with open(os.path.join(KEYS, name + ".jwk.json"), "w") as f:
            json.dump(dict(private, kid=kid), f, indent=1)
            f.write("\n")
    jwks = {"keys": [dict(up_public, kid=up_kid, use="sig", alg="RS256")]}
    with open(os.path.join(KEYS, "upstream_jwks.json"), "w") as f:
        json.dump(jwks, f, indent=1)
        f.write("\n")

    shutil.rmtree(SEEDS, ignore_errors=True)

    # Our tokens, as munjigi signs them.
    access_claims = {"iss": ISSUER, "sub": "u-1", "aud": ISSUER + "/userinfo", "exp": FAR,
                     "iat": IAT, "jti": "j-1", "client_id": CLIENT, "scope": "openid profile",
                     "auth_time": IAT, "gid": "g-1"}
    access_header = {"typ": "at+jwt", "alg": "ES256", "kid": es_kid}
    access = sign(es_key, "ES256", access_header, access_claims)
    cc_claims = dict(access_claims, sub=CLIENT, scope="api")
    del cc_claims["auth_time"]
    access_cc = sign(es_key, "ES256", access_header, cc_claims)
    id_claims = {"iss": ISSUER, "sub": "u-1", "aud": CLIENT, "exp": FAR, "iat": IAT,
                 "auth_time": IAT, "nonce": "n-1", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
                 "sid": "sid-1", "amr": ["pwd"], "name": "Alice", "preferred_username": "alice",
                 "email": "alice@example.com", "email_verified": True}
    id_header = {"typ": "JWT", "alg": "RS256", "kid": rs_kid}
    id_token = sign(rs_key, "RS256", id_header, id_claims)
    id_token_es = sign(es_key, "ES256", dict(id_header, alg="ES256", kid=es_kid),
                       dict(id_claims, idp="kakao", amr=["fed"]))
    logout_token = sign(rs_key, "RS256", dict(id_header, typ="logout+jwt"),
                        {"iss": ISSUER, "aud": CLIENT, "iat": IAT, "exp": FAR, "jti": "j-2",
                         "sub": "u-1", "sid": "sid-1",
                         "events": {"http://schemas.openid.net/event/backchannel-logout": {}}})

    # authorize_request: <client: '0' confidential, '1' public><query>[\n<Accept-Language>]
    base = (f"state=s1&client_id={CLIENT}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
            f"&response_type=code&scope=openid%20profile%20email")
    pkce = f"&code_challenge={CHALLENGE}&code_challenge_method=S256"
    write("authorize_request", "public_pkce", "1" + base + "&nonce=n1" + pkce
          + "\nko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7")
    write("authorize_request", "confidential_prompt", "0" + base
          + "&prompt=login%20consent&max_age=0&ui_locales=ko%20en&login_hint=alice\nen")
    write("authorize_request", "offline_loopback", "0" + base.replace(
        "https%3A%2F%2Fapp.example.com%2Fcb", "http%3A%2F%2F127.0.0.1%3A9000%2Fcb")
          + "%20offline_access&prompt=none" + pkce + "\n*;q=0.1, ko")
    write("authorize_request", "id_token_hint", "1" + base + pkce + "&id_token_hint=" + id_token
          + "&display=page&claims=%7B%7D\n")
    write("authorize_request", "registered_query", "0" + base.replace(
        "https%3A%2F%2Fapp.example.com%2Fcb", "https%3A%2F%2Fapp.example.com%2Fcb%3Ftenant%3Da")
          + "&response_mode=query")
    write("authorize_request", "refused_response_type", "1" + base.replace("code", "token", 1)
          + "&request_uri=urn%3Ax\nen-GB")
    write("authorize_request", "plain_oauth_no_redirect", "0client_id=app&response_type=code"
          "&scope=profile&state=%EC%83%81%ED%83%9C")

    # token_form: <Content-Type>\n<Authorization>\n<body>
    form = "application/x-www-form-urlencoded"
    basic = "Basic " + base64.b64encode(b"app:s3cr3t-value-of-32-characters-x").decode()
    write("token_form", "code_basic", f"{form}\n{basic}\ngrant_type=authorization_code&code=c0de"
          f"&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier={VERIFIER}")
    write("token_form", "code_public", f"{form}; charset=UTF-8\n\ngrant_type=authorization_code"
          f"&code=c0de&client_id=app&redirect_uri=http%3A%2F%2F127.0.0.1%3A9000%2Fcb"
          f"&code_verifier={VERIFIER}")
    write("token_form", "refresh_post", f"{form}\n\ngrant_type=refresh_token&refresh_token=rt-1"
          "&client_id=app&client_secret=s3cr3t-value-of-32-characters-x&scope=openid+profile")
    escaped = base64.b64encode(b"my%3Aclient:p%40ss+word").decode()
    write("token_form", "client_credentials", f"{form}\nbasic  {escaped} \n"
          "grant_type=client_credentials&scope=api%20read")
    write("token_form", "revoke", f"{form}\n{basic}\ntoken={access}&token_type_hint=access_token")
    write("token_form", "assertion", f"{form}\n\nclient_assertion_type=urn%3Aietf%3Aparams%3Aoauth"
          "%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJ.eyJ.sig&grant_type=x")

    # bearer_jwt: '0'<token> | '1'<key><tamper><header JSON>\n<payload JSON> |
    #             '2'<method>\n<Authorization>\n<Content-Type>\n<body>
    write("bearer_jwt", "raw_access", "0" + access)
    write("bearer_jwt", "raw_client_credentials", "0" + access_cc)
    write("bearer_jwt", "raw_id_token", "0" + id_token)
    # Signer byte mod 4: '0' RS256, '1' ES256, '2' none, '3' HS256; tamper byte mod 8: '0' none.
    write("bearer_jwt", "signed_es256", b"110" + compact(access_header) + b"\n"
          + compact(access_claims))
    write("bearer_jwt", "signed_rs256", b"100" + compact(dict(access_header, alg="RS256",
                                                              kid=rs_kid)) + b"\n"
          + compact(access_claims))
    write("bearer_jwt", "signed_tampered", b"121" + compact(access_header) + b"\n"
          + compact(dict(access_claims, typ="application/at+jwt")))
    write("bearer_jwt", "header_get", f"2GET\nBearer {access}\n\n")
    write("bearer_jwt", "body_post", f"2POST\n\n{form}\naccess_token={access}&x=1")

    # id_token_hint: '0'<token> | '1'<key><tamper><header JSON>\n<payload JSON> |
    #                '2'<end_session query>
    write("id_token_hint", "raw_rs256", "0" + id_token)
    write("id_token_hint", "raw_es256", "0" + id_token_es)
    write("id_token_hint", "raw_logout_token", "0" + logout_token)
    write("id_token_hint", "signed", b"100" + compact(id_header) + b"\n" + compact(id_claims))
    write("id_token_hint", "end_session", "2id_token_hint=" + id_token
          + "&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye&state=s%201"
          "&ui_locales=ko")
    write("id_token_hint", "end_session_client", "2client_id=app&post_logout_redirect_uri="
          "https%3A%2F%2Fapp.example.com%2Fbye%3Fx%3D1")

    # upstream_json: <which><status><body>
    def up(name, which, status, body):
        write("upstream_json", name, which + status + (body if isinstance(body, str)
                                                       else json.dumps(body, ensure_ascii=False)))
    up("kakao_token", "0", "0", {"token_type": "bearer", "access_token": "k-at", "id_token":
                                 "eyJ.eyJ.sig", "expires_in": 21599, "refresh_token": "k-rt",
                                 "refresh_token_expires_in": 5183999, "scope": "openid profile"})
    up("kakao_token_error", "0", "2", {"error": "invalid_grant", "error_description":
                                       "authorization code not found for code=x",
                                       "error_code": "KOE320"})
    up("kakao_me", "1", "0", {"id": 1234567890123456789, "connected_at": "2024-01-01T00:00:00Z",
                              "kakao_account": {"profile_nickname_needs_agreement": False,
                                                "profile": {"nickname": "민지"},
                                                "name": "김민지", "email_needs_agreement": False,
                                                "is_email_valid": True, "is_email_verified": True,
                                                "email": "minji@kakao.example"}})
    up("kakao_me_error", "1", "3", {"msg": "this access token does not exist", "code": -401})
    up("naver_token", "2", "0", {"access_token": "n-at", "refresh_token": "n-rt",
                                 "token_type": "bearer", "expires_in": "3600"})
    up("naver_token_error", "2", "0", {"error": "invalid_request",
                                       "error_description": "no valid data in session"})
    up("naver_me", "3", "0", {"resultcode": "00", "message": "success", "response": {
        "id": "32742776", "nickname": "OpenAPI", "name": "오픈 API", "email": "openapi@naver.com",
        "gender": "F", "age": "40-49", "birthday": "10-01", "profile_image": "https://x/y.png"}})
    up("naver_me_error", "3", "3", {"resultcode": "024", "message": "Authentication failed"})
    up("oidc_token", "4", "0", {"access_token": "g-at", "expires_in": 3599, "scope":
                                "openid email profile", "token_type": "Bearer",
                                "id_token": id_token})
    up("oidc_token_error", "4", "2", {"error": "invalid_grant", "error_description": "Bad Request"})
    up("oidc_discovery", "5", "0", {
        "issuer": GOOGLE_ISSUER,
        "authorization_endpoint": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_endpoint": "https://oauth2.googleapis.com/token",
        "userinfo_endpoint": "https://openidconnect.googleapis.com/v1/userinfo",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "response_types_supported": ["code", "token", "id_token", "code token", "none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "sub"],
        "code_challenge_methods_supported": ["plain", "S256"]})
    up("oidc_discovery_post_only", "5", "0", {
        "issuer": "https://op.example.com", "authorization_endpoint":
        "https://op.example.com/auth?tenant=1", "token_endpoint": "https://op.example.com/token",
        "jwks_uri": "https://op.example.com/jwks", "response_types_supported": ["code"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"]})
    up("jwks", "6", "0", jwks)
    up("callback_refused", "7", "0", "error=access_denied&error_description=Canceled+By+User"
       "&state=s")
    up("callback_error", "7", "0", "error=KOE006&error_description=%EC%98%A4%EB%A5%98")

    # upstream_id_token: '0'<token> | '1'<key><tamper><trip><header JSON>\n<payload JSON>
    up_header = {"typ": "JWT", "alg": "RS256", "kid": up_kid}
    kakao_claims = {"iss": KAKAO_ISSUER, "aud": KAKAO_CLIENT, "sub": "1234567890",
                    "iat": IAT, "exp": FAR, "auth_time": IAT, "nonce": NONCE,
                    "nickname": "민지", "email": "minji@kakao.example"}
    google_claims = {"iss": GOOGLE_ISSUER, "azp": GOOGLE_CLIENT, "aud": GOOGLE_CLIENT,
                     "sub": "110169484474386276334", "hd": "example.com",
                     "email": "alice@example.com", "email_verified": True, "at_hash": "x",
                     "nonce": NONCE, "name": "Alice", "picture": "https://x/p.png",
                     "given_name": "Alice", "locale": "ko", "iat": IAT, "exp": FAR,
                     "auth_time": IAT}
    write("upstream_id_token", "raw_kakao", "0" + sign(up_key, "RS256", up_header, kakao_claims))
    write("upstream_id_token", "raw_google", "0" + sign(up_key, "RS256", up_header, google_claims))
    write("upstream_id_token", "signed_kakao", b"1000" + compact(up_header) + b"\n"
          + compact(kakao_claims))
    # Trip byte mod 3: '0' no demand, '1' a fresh sign-in (started at NOW - 60), '2' max_age.
    write("upstream_id_token", "signed_google_fresh", b"1001" + compact(up_header) + b"\n"
          + compact(dict(google_claims, auth_time=1799999970)))
    write("upstream_id_token", "signed_no_kid", b"1002" + compact({"alg": "RS256"}) + b"\n"
          + compact(dict(google_claims, aud=[GOOGLE_CLIENT, "other"])))


if __name__ == "__main__":
    main()
