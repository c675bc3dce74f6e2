// Compact JWS (RFC 7515) parsing and verification against a JWKS (RFC 7517):
// ES256 (P-256, FranceConnect v2's recommended algorithm) and RS256. Pure
// functions, no host calls.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A JWT whose signature has not been checked yet.
pub struct Unverified<'a> {
    pub alg: String,
    pub kid: Option<String>,
    signing_input: &'a str,
    signature: Vec<u8>,
    pub claims: Map<String, Value>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct Jwks {
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

#[derive(Deserialize, Clone)]
pub struct Jwk {
    pub kty: String,
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(rename = "use", default)]
    pub use_: Option<String>,
    // EC
    pub crv: Option<String>,
    pub x: Option<String>,
    pub y: Option<String>,
    // RSA
    pub n: Option<String>,
    pub e: Option<String>,
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| format!("{what} is not base64url"))
}

/// Splits and decodes `header.payload.signature`.
pub fn parse(token: &str) -> Result<Unverified<'_>, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS (three parts expected)".into());
    };
    let header: Header =
        serde_json::from_slice(&b64(h, "header")?).map_err(|_| "header is not JSON".to_string())?;
    let claims: Map<String, Value> = serde_json::from_slice(&b64(p, "payload")?)
        .map_err(|_| "payload is not a JSON object".to_string())?;
    Ok(Unverified {
        alg: header.alg,
        kid: header.kid,
        signing_input: &token[..h.len() + 1 + p.len()],
        signature: b64(s, "signature")?,
        claims,
    })
}

impl Jwks {
    /// The signing key for `kid` and `alg` (a key without `alg` fits by type).
    pub fn find(&self, kid: Option<&str>, alg: &str) -> Option<&Jwk> {
        let kty = match alg {
            "ES256" => "EC",
            "RS256" => "RSA",
            _ => return None,
        };
        self.keys.iter().find(|k| {
            k.kty == kty
                && k.use_.as_deref().is_none_or(|u| u == "sig")
                && k.alg.as_deref().is_none_or(|a| a == alg)
                && (kid.is_none() || k.kid.as_deref() == kid)
        })
    }
}

impl Unverified<'_> {
    /// Checks the signature with `key`. Only ES256 and RS256 are accepted
    /// (never `none`, never HS256 with a public key).
    pub fn verify(&self, key: &Jwk) -> Result<(), String> {
        match self.alg.as_str() {
            "ES256" => self.verify_es256(key),
            "RS256" => self.verify_rs256(key),
            other => Err(format!("algorithm {other} refused")),
        }
    }

    fn verify_es256(&self, key: &Jwk) -> Result<(), String> {
        use p256::ecdsa::signature::Verifier;
        use p256::ecdsa::{Signature, VerifyingKey};
        if key.crv.as_deref() != Some("P-256") {
            return Err("key is not P-256".into());
        }
        let x = b64(key.x.as_deref().unwrap_or_default(), "key x")?;
        let y = b64(key.y.as_deref().unwrap_or_default(), "key y")?;
        if x.len() != 32 || y.len() != 32 {
            return Err("bad P-256 key".into());
        }
        let mut sec1 = Vec::with_capacity(65);
        sec1.push(4u8);
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let vk = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| "bad P-256 key".to_string())?;
        let sig = Signature::from_slice(&self.signature)
            .map_err(|_| "malformed ES256 signature".to_string())?;
        vk.verify(self.signing_input.as_bytes(), &sig)
            .map_err(|_| "invalid signature".to_string())
    }

    fn verify_rs256(&self, key: &Jwk) -> Result<(), String> {
        use rsa::pkcs1v15::{Signature, VerifyingKey};
        use rsa::signature::Verifier;
        use rsa::{BigUint, RsaPublicKey};
        let n = b64(key.n.as_deref().unwrap_or_default(), "key n")?;
        let e = b64(key.e.as_deref().unwrap_or_default(), "key e")?;
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
            .map_err(|_| "bad RSA key".to_string())?;
        let vk = VerifyingKey::<Sha256>::new(public);
        let sig = Signature::try_from(self.signature.as_slice())
            .map_err(|_| "malformed RS256 signature".to_string())?;
        vk.verify(self.signing_input.as_bytes(), &sig)
            .map_err(|_| "invalid signature".to_string())
    }
}

/// What the id_token must say (OpenID Connect Core §3.1.3.7).
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_s: i64,
    pub access_token: &'a str,
}

/// Tolerated clock skew between FranceConnect and us.
const SKEW_S: i64 = 30;

fn str_claim<'a>(c: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    c.get(k).and_then(Value::as_str)
}

/// Checks iss, aud (and azp), exp, iat, nonce and at_hash of verified claims.
pub fn check_id_token(c: &Map<String, Value>, want: &Expected<'_>) -> Result<(), String> {
    if str_claim(c, "iss") != Some(want.issuer) {
        return Err("wrong issuer".into());
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == want.client_id,
        Some(Value::Array(list)) => {
            list.iter().any(|a| a.as_str() == Some(want.client_id))
                && (list.len() == 1 || str_claim(c, "azp") == Some(want.client_id))
        }
        _ => false,
    };
    if !aud_ok {
        return Err("wrong audience".into());
    }
    let exp = c.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
    if exp + SKEW_S <= want.now_s {
        return Err("expired".into());
    }
    if let Some(iat) = c.get("iat").and_then(Value::as_i64)
        && iat > want.now_s + SKEW_S
    {
        return Err("issued in the future".into());
    }
    if str_claim(c, "nonce") != Some(want.nonce) {
        return Err("nonce mismatch".into());
    }
    if let Some(at_hash) = str_claim(c, "at_hash") {
        let digest = Sha256::digest(want.access_token.as_bytes());
        if URL_SAFE_NO_PAD.encode(&digest[..16]) != at_hash {
            return Err("at_hash does not match the access token".into());
        }
    }
    if str_claim(c, "sub").is_none_or(str::is_empty) {
        return Err("no sub".into());
    }
    Ok(())
}
