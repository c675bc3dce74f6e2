// The bearer token: DS refuses to call with a blank token or one whose `exp`
// (read from the JWT payload, signature not verified) is past. A token without
// `exp` never expires.
use connector_sdk::{ConnectorError, LogLevel, host};
use serde::Deserialize;

#[derive(Deserialize)]
struct Claims {
    exp: Option<u64>,
}

/// The granted token, when it can be used at `now` (epoch seconds).
pub fn usable(now: u64) -> Result<String, ConnectorError> {
    let token = host::config_get("token").unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        host::log(LogLevel::Warn, "no API Entreprise token: call refused");
        return Err(ConnectorError::Unauthorized);
    }
    let exp = token
        .split('.')
        .nth(1)
        .and_then(base64url)
        .and_then(|p| serde_json::from_slice::<Claims>(&p).ok())
        .map(|c| c.exp);
    match exp {
        None => {
            host::log(
                LogLevel::Warn,
                "API Entreprise token is not a JWT: call refused",
            );
            Err(ConnectorError::Unauthorized)
        }
        Some(Some(exp)) if exp <= now => {
            host::log(LogLevel::Warn, "API Entreprise token expired: call refused");
            Err(ConnectorError::Unauthorized)
        }
        Some(_) => Ok(token.to_string()),
    }
}

/// Decodes unpadded (or padded) base64url.
fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
